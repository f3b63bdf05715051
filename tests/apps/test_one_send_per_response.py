"""A response's head and body leave in one write (`serve.HeadWithBody`), and nothing is held back."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from apps.common.serve import HeadWithBody, bounded_protocol
from apps.common.web import Request, RequestLimits, Response, Service

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class Recorder(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def test_the_head_is_held_until_the_body_and_both_go_out_in_one_write():
    recorder = Recorder()
    transport = HeadWithBody(recorder)
    transport.write(HEAD)
    assert recorder.writes == []
    transport.write(b"{}")
    assert recorder.writes == [HEAD + b"{}"]
    transport.write(b"more")  # a streamed body's later chunks go out as they come
    assert recorder.writes == [HEAD + b"{}", b"more"]


def test_an_interim_100_continue_is_written_at_once():
    recorder = Recorder()
    transport = HeadWithBody(recorder)
    transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert recorder.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    transport.write(HEAD)
    transport.write(b"{}")
    assert recorder.writes[1:] == [HEAD + b"{}"]


def test_a_response_without_a_body_write_is_flushed_and_close_sends_what_is_held():
    recorder = Recorder()
    transport = HeadWithBody(recorder)
    transport.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    transport.flush()  # what the protocol does when the response completes
    assert recorder.writes == [b"HTTP/1.1 204 No Content\r\n\r\n"]
    held = HeadWithBody(recorder)
    held.write(HEAD)
    held.close()
    assert recorder.writes[-1] == HEAD
    assert recorder.closed


@pytest.fixture
def server() -> Iterator[int]:
    """A service on the services' own protocol, in a thread, on a free loopback port."""

    async def echo(request: Request) -> Response:
        return Response(201, {"got": len(request.body)})

    app = Service("test", {("POST", "/echo"): echo}, limits=RequestLimits())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http=bounded_protocol(RequestLimits(), "test"),
        lifespan="on",
        log_config=None,
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield port
    running.should_exit = True
    thread.join(timeout=10)


def exchange(port: int, request: bytes, pause_after_headers: bool = False) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        head, _, body = request.partition(b"\r\n\r\n")
        client.sendall(head + b"\r\n\r\n")
        received = b""
        if pause_after_headers:
            received = client.recv(4096)  # the 100 Continue, before any body was sent
        client.sendall(body)
        while not received.endswith(b"}"):
            chunk = client.recv(4096)
            if not chunk:
                break
            received += chunk
        return received


def test_a_real_response_arrives_whole_with_its_headers(server):
    answer = exchange(
        server,
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    )
    assert answer.startswith(b"HTTP/1.1 201 Created\r\n")
    assert b"x-request-id: " in answer
    assert answer.endswith(b'\r\n\r\n{"got":2}')


def test_a_client_that_expects_100_continue_gets_it_before_sending_the_body(server):
    answer = exchange(
        server,
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
        b"Expect: 100-continue\r\n\r\n{}",
        pause_after_headers=True,
    )
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n")
    assert answer.endswith(b'{"got":2}')
