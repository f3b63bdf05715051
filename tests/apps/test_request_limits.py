"""Bounded requests: 413 before the body is read, 415, 414, 431, 408 for slow clients; same error shape.

These talk raw HTTP over a socket, so the test controls exactly what is sent and when. api-gateway
runs alone (its limits act before any downstream call) with small limits from its environment.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from localrun.local import LocalStack, running
from tests.apps.conftest import ports

CAP = 1024
SLOW_SECONDS = 0.5
PAYMENT = json.dumps({"amount": "12.50", "currency": "USD", "card_token": "tok_4242424242424242"}).encode()


@dataclass
class Raw:
    status: int
    headers: dict[str, str]
    body: dict[str, object]


@pytest.fixture(scope="module")
def gateway() -> Iterator[int]:
    limits = {
        "MAX_BODY_BYTES": str(CAP),
        "MAX_URL_BYTES": "256",
        "MAX_HEADER_BYTES": "2048",
        "HEADER_TIMEOUT_SECONDS": str(SLOW_SECONDS),
        "BODY_TIMEOUT_SECONDS": str(SLOW_SECONDS),
    }
    stack = LocalStack(
        ports(), extra_env={"api-gateway": limits}, skip=frozenset({"payment-processor", "fraud-detector"})
    )
    with running(stack):
        yield stack.ports["api-gateway"]


def head(path: str = "/payments", content_type: str = "application/json", **extra: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Idempotency-Key: {uuid.uuid4().hex}"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in extra.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_answer(connection: socket.socket) -> Raw:
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        assert chunk, f"the connection closed without an answer: {received!r}"
        received += chunk
    header_block, _, rest = received.partition(b"\r\n\r\n")
    status_line, *lines = header_block.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    while len(rest) < int(headers["content-length"]):
        rest += connection.recv(65536)
    return Raw(int(status_line.split()[1]), headers, json.loads(rest))


def exchange(port: int, *parts: bytes, timeout: float = 5.0) -> Raw:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        for part in parts:
            connection.sendall(part)
        return read_answer(connection)


def assert_error(answer: Raw, status: int, code: str) -> None:
    assert answer.status == status, answer
    assert answer.body["error"] == code
    assert isinstance(answer.body["message"], str)
    assert answer.body["message"]
    assert answer.headers["content-type"] == "application/json"


def test_a_declared_20_mb_body_is_refused_before_a_byte_of_it_is_sent(gateway):
    started = time.monotonic()
    answer = exchange(gateway, head(Content_Length=str(20 * 1024 * 1024)))
    assert_error(answer, 413, "body_too_large")
    assert str(CAP) in str(answer.body["message"])
    assert answer.headers["connection"] == "close"  # the unread body is not read on
    assert time.monotonic() - started < 2


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_cap(gateway):
    chunk = b"%x\r\n%s\r\n" % (600, b" " * 600)
    # Two chunks pass the cap; the final zero-length chunk is never sent, yet the answer comes.
    answer = exchange(gateway, head(Transfer_Encoding="chunked"), chunk, chunk)
    assert_error(answer, 413, "body_too_large")


def test_a_body_at_the_cap_is_read(gateway):
    body = PAYMENT + b" " * (CAP - len(PAYMENT))
    answer = exchange(gateway, head(Content_Length=str(len(body))), body)
    assert answer.status == 503  # read and valid; no payment-processor runs in this test
    assert answer.headers["retry-after"] == "1"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_body_that_is_not_declared_json_is_a_415(gateway, content_type):
    answer = exchange(gateway, head(content_type=content_type, Content_Length=str(len(PAYMENT))), PAYMENT)
    assert_error(answer, 415, "unsupported_media_type")


def test_json_with_a_charset_is_accepted(gateway):
    answer = exchange(
        gateway,
        head(content_type="application/json; charset=utf-8", Content_Length=str(len(PAYMENT))),
        PAYMENT,
    )
    assert answer.status == 503  # past the content-type check


def test_a_long_url_is_a_414(gateway):
    answer = exchange(gateway, head(path="/payments?" + "x" * 300, Content_Length="2"), b"{}")
    assert_error(answer, 414, "url_too_long")


def test_large_headers_are_a_431(gateway):
    answer = exchange(gateway, head(X_Padding="y" * 3000, Content_Length="2"), b"{}")
    assert_error(answer, 431, "headers_too_large")


def test_large_headers_split_around_the_previous_answer_on_a_connection_are_a_431(gateway):
    # The server tells the application how many bytes carried a request's head, so that small heads
    # skip adding their headers up. A pipelined request's head that began in the bytes of the one
    # before it, and ends after that one's answer, came in more bytes than the ones after the answer.
    first = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    padding = "y" * 1500  # twice: 3,000 bytes of headers against a cap of 2,048
    second = f"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: {padding}".encode()
    with socket.create_connection(("127.0.0.1", gateway), timeout=5) as connection:
        connection.sendall(first + second)
        assert read_answer(connection).status == 200
        connection.sendall(f"{padding}\r\n\r\n".encode())
        assert_error(read_answer(connection), 431, "headers_too_large")


def test_a_client_that_never_finishes_its_headers_is_cut_off(gateway):
    started = time.monotonic()
    answer = exchange(gateway, b"POST /payments HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    assert_error(answer, 408, "request_timeout")
    assert time.monotonic() - started < SLOW_SECONDS + 2


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(gateway):
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", gateway), timeout=5) as connection:
        assert connection.recv(1024) == b""  # closed, no unasked-for 408
    assert time.monotonic() - started < SLOW_SECONDS + 2


def test_a_client_that_never_finishes_its_body_is_cut_off(gateway):
    started = time.monotonic()
    answer = exchange(gateway, head(Content_Length=str(len(PAYMENT))), PAYMENT[:10])
    assert_error(answer, 408, "request_timeout")
    assert time.monotonic() - started < SLOW_SECONDS + 2


def test_an_unknown_route_and_a_wrong_method_keep_the_error_shape(gateway):
    assert_error(exchange(gateway, head(path="/nope", Content_Length="2"), b"{}"), 404, "not_found")
    with socket.create_connection(("127.0.0.1", gateway), timeout=5) as connection:
        connection.sendall(b"GET /payments HTTP/1.1\r\nHost: x\r\n\r\n")
        assert_error(read_answer(connection), 405, "method_not_allowed")
