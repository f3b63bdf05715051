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
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from yarl import URL

from apps.common.logs import REQUEST_ID_HEADER, request_id

RETRYABLE_STATUSES = frozenset({502, 503, 504})
BACKOFF_BASE_SECONDS = 0.05
# Connections kept open to one callee. Idle ones close after 15 s, before the callee's own 65 s
# keep-alive timeout, so a request is never sent on a connection the callee is closing.
MAX_CONNECTIONS = 100
IDLE_SECONDS = 15.0
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


def worst_case_seconds(timeout_seconds: float, retries: int) -> float:
    """The longest `post_json` can take: every attempt times out and every backoff is its longest."""
    backoffs: float = sum(BACKOFF_BASE_SECONDS * 2.0**attempt for attempt in range(1, retries + 1))
    return (retries + 1) * timeout_seconds + backoffs


@dataclass(frozen=True)
class Answer:
    """A callee's answer, read in full: status, headers (case-insensitive) and the raw body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@asynccontextmanager
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    """One pooled client per process: connections are reused across requests (keep-alive)."""
    connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS, keepalive_timeout=IDLE_SECONDS)
    async with aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),  # service-to-service calls carry no cookies
        auto_decompress=False,
        skip_auto_headers=("User-Agent",),
    ) as session:
        yield session


@dataclass
class Downstream:
    """One callee, by its base URL (a Cloud Map name in AWS, loopback locally)."""

    service: str
    base_url: str
    timeout_seconds: float
    retries: int
    session: aiohttp.ClientSession
    _timeout: aiohttp.ClientTimeout = field(init=False, repr=False)
    _urls: dict[str, URL] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._timeout = aiohttp.ClientTimeout(total=self.timeout_seconds)

    def _url(self, path: str) -> URL:
        """Parsed once per path: aiohttp would otherwise parse the URL string on every call."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = URL(self.base_url + path)
        return url

    async def post_json(
        self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> Answer:
        """The callee's answer, unless it stayed unavailable or slow through every attempt."""
        attempts = self.retries + 1
        payload = orjson.dumps(body)
        sent = {
            **(headers or {}),
            "Content-Type": "application/json",
            REQUEST_ID_HEADER: request_id(),
        }
        last: DownstreamError | None = None
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(random.uniform(0, BACKOFF_BASE_SECONDS * 2**attempt))
            try:
                async with self.session.post(
                    self._url(path), data=payload, headers=sent, timeout=self._timeout
                ) as response:
                    answer = Answer(response.status, response.headers, await response.read())
            except TimeoutError:  # aiohttp's timeouts are asyncio.TimeoutError, which is TimeoutError
                last = DownstreamTimeoutError(self.service, f"no answer within {self.timeout_seconds:g}s")
            except aiohttp.ClientError as error:
                last = DownstreamUnavailableError(self.service, f"cannot connect ({type(error).__name__})")
            else:
                if answer.status not in RETRYABLE_STATUSES or _reported_by_callee(answer):
                    return answer
                last = DownstreamUnavailableError(self.service, f"answered {answer.status}")
            log.warning(
                "downstream call failed",
                extra={
                    "downstream": self.service,
                    "attempt": attempt + 1,
                    "attempts": attempts,
                    "reason": last.detail,
                },
            )
        raise last or DownstreamUnavailableError(self.service, "not called")


def _reported_by_callee(answer: Answer) -> bool:
    """A 5xx our callee produced itself about a service further down, rather than its absence."""
    try:
        body = answer.json()
    except orjson.JSONDecodeError:
        return False
    return isinstance(body, dict) and str(body.get("error", "")).startswith("downstream_")
