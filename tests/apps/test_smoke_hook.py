"""The AfterAllowTestTraffic smoke test against real HTTP servers on loopback: the three services
(healthy), a server answering 500 (failing) and one slower than the timeout (slow)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from functions.release_hooks import smoke_test
from functions.release_hooks.lifecycle import Deployment, HookError
from shared.catalogue import CATALOGUE, by_name
from tests.aws_fakes import appspec, codedeploy_group, create_deployment


def deployment(group: str) -> Deployment:
    return Deployment("d-1", "codedeploy-payments-dev", group, "arn:aws:ecs:us-east-1:1:task-definition/t:2")


def endpoints(urls: dict[str, str]) -> dict[str, smoke_test.Endpoint]:
    """TEST_ENDPOINTS as the services layer builds it, pointed at loopback, read back by the hook."""
    raw = {f"group-{name}": by_name(name).smoke_endpoint(url) for name, url in urls.items()}
    return smoke_test.endpoints_from_env({"TEST_ENDPOINTS": json.dumps(raw)})


@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda spec: spec.name)
def test_each_service_answers_its_smoke_request_as_the_catalogue_expects(stack, spec):
    hook = smoke_test.SmokeTest(endpoints({spec.name: stack.url(spec.name)}), timeout=10)
    verdict = hook.check(deployment(f"group-{spec.name}"))
    assert verdict.passed, verdict.reasons
    assert verdict.reasons == (f"{spec.name}: health and {spec.smoke.path} answered as expected",)


class Scripted(BaseHTTPRequestHandler):
    status = 500
    delay = 0.0

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer()

    def _answer(self) -> None:
        time.sleep(self.delay)
        try:
            payload = json.dumps({"error": "internal"}).encode()
            self.send_response(self.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(status: int, delay: float) -> Iterator[str]:
    handler = type("Handler", (Scripted,), {"status": status, "delay": delay})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def failing() -> Iterator[str]:
    yield from serve(500, 0)


@pytest.fixture
def slow() -> Iterator[str]:
    yield from serve(200, 2.0)


def test_a_failing_green_task_set_fails_the_deployment(failing):
    verdict = smoke_test.SmokeTest(endpoints({"fraud-detector": failing}), timeout=2).check(
        deployment("group-fraud-detector")
    )
    assert not verdict.passed
    assert verdict.reasons == (
        "fraud-detector: GET /health answered 500",
        "fraud-detector: POST /score answered 500, expected 200",
    )


def test_a_slow_green_task_set_fails_on_the_timeout(slow):
    started = time.monotonic()
    verdict = smoke_test.SmokeTest(endpoints({"api-gateway": slow}), timeout=0.5).check(
        deployment("group-api-gateway")
    )
    assert time.monotonic() - started < 1.9  # both calls gave up at the timeout, not the server's 2 s
    assert not verdict.passed
    assert [reason.split(": no answer after")[0] for reason in verdict.reasons] == [
        "api-gateway: GET /health",
        "api-gateway: POST /payments",
    ]


def test_a_closed_port_fails_rather_than_passing():
    verdict = smoke_test.SmokeTest(endpoints({"fraud-detector": "http://127.0.0.1:9"}), timeout=1).check(
        deployment("group-fraud-detector")
    )
    assert not verdict.passed
    assert "no answer" in verdict.reasons[0]


def test_a_group_without_an_endpoint_is_a_hook_error():
    hook = smoke_test.SmokeTest(endpoints({"fraud-detector": "http://127.0.0.1:9"}), timeout=1)
    with pytest.raises(HookError, match="no test endpoint for deployment group group-unknown"):
        hook.check(deployment("group-unknown"))


def test_missing_endpoint_configuration_is_a_hook_error():
    with pytest.raises(HookError, match="TEST_ENDPOINTS is not set"):
        smoke_test.endpoints_from_env({})


def test_the_handler_reports_the_verdict_for_the_deployments_group(aws, hook_answers, monkeypatch, failing):
    codedeploy_group("codedeploy-payments-dev", "group-fraud-detector")
    deployment_id = create_deployment(
        "codedeploy-payments-dev",
        "group-fraud-detector",
        appspec("arn:aws:ecs:us-east-1:1:task-definition/t:2"),
    )
    raw = {"group-fraud-detector": by_name("fraud-detector").smoke_endpoint(failing)}
    monkeypatch.setenv("TEST_ENDPOINTS", json.dumps(raw))
    monkeypatch.setenv("REQUEST_TIMEOUT_SECONDS", "2")
    result = smoke_test.handler({"DeploymentId": deployment_id, "LifecycleEventHookExecutionId": "e-7"}, None)
    assert hook_answers.calls == [(deployment_id, "e-7", "Failed")]
    assert result["reasons"][0] == "fraud-detector: GET /health answered 500"
