"""AfterAllowTestTraffic hook: ask the green task set, through the test listener, for its health
path and for the service's representative request; any error, wrong answer or timeout fails the
deployment, and CodeDeploy rolls it back before production traffic moves.

`TEST_ENDPOINTS` (set by the services layer from the catalogue) maps each deployment group to its
test listener's base URL, health path and smoke request. The function runs in the private subnets
with a security group the test listeners admit.
"""

from __future__ import annotations

import json
import os
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import boto3

from .lifecycle import Deployment, HookError, Verdict, run_hook

DEFAULT_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Endpoint:
    service: str
    base_url: str
    health_path: str
    request: dict[str, Any]  # shared.catalogue.SmokeRequest.as_json()
    verify_hostname: bool  # False only for an HTTPS test listener reached by the ALB's DNS name


def endpoints_from_env(env: dict[str, str] | None = None) -> dict[str, Endpoint]:
    raw = (os.environ if env is None else env).get("TEST_ENDPOINTS")
    if not raw:
        raise HookError("TEST_ENDPOINTS is not set: the services layer configures it")
    return {
        group: Endpoint(
            e["service"],
            e["baseUrl"].rstrip("/"),
            e["healthPath"],
            e["request"],
            e.get("verifyHostname", True),
        )
        for group, e in json.loads(raw).items()
    }


class SmokeTest:
    def __init__(self, endpoints: dict[str, Endpoint], timeout: float) -> None:
        self.endpoints, self.timeout = endpoints, timeout

    def check(self, deployment: Deployment) -> Verdict:
        endpoint = self.endpoints.get(deployment.group)
        if endpoint is None:
            raise HookError(f"no test endpoint for deployment group {deployment.group}")
        problems = self._health(endpoint) + self._representative(endpoint)
        if problems:
            return Verdict(False, tuple(f"{endpoint.service}: {p}" for p in problems))
        return Verdict(
            True, (f"{endpoint.service}: health and {endpoint.request['path']} answered as expected",)
        )

    def _health(self, endpoint: Endpoint) -> list[str]:
        status, _, error = self._call(endpoint, "GET", endpoint.health_path, None, {})
        if error:
            return [f"GET {endpoint.health_path}: {error}"]
        return [] if 200 <= status < 300 else [f"GET {endpoint.health_path} answered {status}"]

    def _representative(self, endpoint: Endpoint) -> list[str]:
        request = endpoint.request
        label = f"{request['method']} {request['path']}"
        status, body, error = self._call(
            endpoint, request["method"], request["path"], request.get("body"), request.get("headers", {})
        )
        if error:
            return [f"{label}: {error}"]
        if status != request["expectedStatus"]:
            return [f"{label} answered {status}, expected {request['expectedStatus']}"]
        if not isinstance(body, dict) or request["expectedKey"] not in body:
            return [f"{label} answer has no {request['expectedKey']!r}"]
        return []

    def _call(
        self, endpoint: Endpoint, method: str, path: str, body: Any, headers: dict[str, str]
    ) -> tuple[int, Any, str | None]:
        """(status, parsed JSON body or None, error text or None); an HTTP error status is an answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(endpoint.base_url + path, data=data, method=method, headers=headers)
        context = None
        if endpoint.base_url.startswith("https:"):
            context = ssl.create_default_context()
            # The certificate names the service's domain, not the ALB's DNS name; the chain is still
            # verified.
            context.check_hostname = endpoint.verify_hostname
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=context) as answer:
                return answer.status, _json(answer.read()), None
        except urllib.error.HTTPError as failed:
            return failed.code, _json(failed.read()), None
        except OSError as failed:  # refused, unreachable, TLS or timed out (URLError is an OSError)
            waited = time.monotonic() - started
            return 0, None, f"no answer after {waited:.1f}s ({getattr(failed, 'reason', failed)})"


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point for CodeDeploy's AfterAllowTestTraffic lifecycle event."""

    def check(deployment: Deployment) -> Verdict:
        timeout = float(os.environ.get("REQUEST_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))
        return SmokeTest(endpoints_from_env(), timeout).check(deployment)

    return run_hook(event, boto3.client("codedeploy"), check, "smoke-test")
