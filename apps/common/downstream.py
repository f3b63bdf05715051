"""Calls to another service: a timeout per attempt, bounded retries with jittered exponential backoff.

Only idempotent calls are retried. POST /payments qualifies because it carries an Idempotency-Key,
and /score is a pure function. A connection failure or a 502/503/504 means "unavailable" (503
to our caller). Running out of time on every attempt means "timed out" (504). A 503 or 504 that
our own callee sends about *its* callee (body `{"error": "downstream_..."}`) is final. The callee
has already retried, so it is passed on as is, naming the service that failed.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import Any

import httpx

from apps.common.logs import REQUEST_ID_HEADER, request_id

RETRYABLE_STATUSES = frozenset({502, 503, 504})
BACKOFF_BASE_SECONDS = 0.05
log = logging.getLogger(__name__)


class DownstreamError(Exception):
    """A callee could not answer; `status` is what we answer our own caller."""

    status = 503
    code = "downstream_unavailable"

    def __init__(self, service: str, detail: str) -> None:
        super().__init__(f"{service}: {detail}")
        self.service = service
        self.detail = detail


class DownstreamUnavailableError(DownstreamError):
    pass


class DownstreamTimeoutError(DownstreamError):
    status = 504
    code = "downstream_timeout"


@dataclass
class Downstream:
    """One callee, by its base URL (a Cloud Map name in AWS, loopback locally)."""

    service: str
    base_url: str
    timeout_seconds: float
    retries: int
    client: httpx.AsyncClient

    async def post_json(
        self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """The callee's answer, unless it stayed unavailable or slow through every attempt."""
        attempts = self.retries + 1
        last: DownstreamError = DownstreamUnavailableError(self.service, "not called")
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(random.uniform(0, BACKOFF_BASE_SECONDS * 2**attempt))
            try:
                response = await self.client.post(
                    f"{self.base_url}{path}",
                    json=body,
                    headers={**(headers or {}), REQUEST_ID_HEADER: request_id()},
                    timeout=self.timeout_seconds,
                )
            except httpx.TimeoutException:
                last = DownstreamTimeoutError(self.service, f"no answer within {self.timeout_seconds:g}s")
            except httpx.TransportError as error:
                last = DownstreamUnavailableError(self.service, f"cannot connect ({type(error).__name__})")
            else:
                if response.status_code not in RETRYABLE_STATUSES or _reported_by_callee(response):
                    return response
                last = DownstreamUnavailableError(self.service, f"answered {response.status_code}")
            log.warning(
                "downstream call failed",
                extra={
                    "downstream": self.service,
                    "attempt": attempt + 1,
                    "attempts": attempts,
                    "reason": last.detail,
                },
            )
        raise last


def _reported_by_callee(response: httpx.Response) -> bool:
    """A 5xx our callee produced itself about a service further down, rather than its absence."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and str(body.get("error", "")).startswith("downstream_")
