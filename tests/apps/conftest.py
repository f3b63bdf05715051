from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from apps.local import LocalStack, free_port, running
from shared.catalogue import CATALOGUE


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]  # lowercase names


def post(url: str, body: object, headers: dict[str, str] | None = None, timeout: float = 15) -> Answer:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return Answer(
                answer.status, json.loads(answer.read()), {k.lower(): v for k, v in answer.headers.items()}
            )
    except urllib.error.HTTPError as failed:
        return Answer(
            failed.code, json.loads(failed.read()), {k.lower(): v for k, v in failed.headers.items()}
        )


def ports() -> dict[str, int]:
    return {spec.name: free_port() for spec in CATALOGUE}


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    """The three services as real processes on loopback ports, as `payments-local` runs them."""
    with running(LocalStack(ports())) as started:
        yield started


class SlowScorer(BaseHTTPRequestHandler):
    """A fraud-detector that answers /health at once and /score only after `delay` seconds."""

    delay = 3.0

    def do_GET(self) -> None:
        self._answer({"status": "ok"})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(self.delay)
        self._answer({"score": 0, "reasons": []})

    def _answer(self, body: dict[str, Any]) -> None:
        try:
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller timed out and went away, which is the point

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def slow_fraud_detector() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowScorer)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
