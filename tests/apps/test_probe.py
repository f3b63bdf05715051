"""The container health probe the task definitions run: a real HTTP server on loopback."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.probe import healthy, main
from shared.catalogue import CATALOGUE, HEALTH_PROBE_MODULE


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 503)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_a_2xx_answer_is_healthy_anything_else_is_not(server):
    assert healthy(f"{server}/health")
    assert not healthy(f"{server}/broken")
    assert not healthy("http://127.0.0.1:9/health", timeout=0.5)  # nothing listens on the discard port
    assert not healthy("not a url")


def test_the_exit_codes(server):
    assert main([f"{server}/health"]) == 0
    assert main([f"{server}/broken"]) == 1
    assert main([]) == 2


def test_the_task_definition_command_runs_the_probe_module(server):
    command = list(CATALOGUE[0].health_probe())
    assert command[:4] == ["CMD", "python", "-m", HEALTH_PROBE_MODULE]
    port = server.rsplit(":", 1)[1]
    url = command[4].replace(f":{CATALOGUE[0].container_port}/", f":{port}/")
    done = subprocess.run([sys.executable, *command[2:4], url], check=False, timeout=30)
    assert done.returncode == 0
