"""HTTP by the RFCs, in one JSON error shape, with a request id on every answer and in the log.

api-gateway runs alone (everything here is decided before a downstream call), with its stdout in a
file, so each test can find the one access-log line of its request by the request id it got back.
Raw sockets, so the test controls every byte: the parser's refusals (bad Content-Length, unknown
method or transfer coding), a missing Host, repeated headers, slow clients.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from localrun.local import MODULES, LocalStack, free_port, service_env
from shared.catalogue import by_name
from tests.apps.test_request_limits import Raw, read_answer

SLOW_SECONDS = 0.5
HEX_ID = 32  # a request id the service made: uuid4().hex


@dataclass
class Gateway:
    port: int
    log: Path

    def lines(self, request_id: str, timeout: float = 3.0) -> list[dict[str, object]]:
        """The access-log lines of `request_id` (waiting a little for the first one)."""
        deadline = time.monotonic() + timeout
        while True:
            # Records end at "\n" only (str.splitlines would also split at a U+2028 inside a value).
            text = self.log.read_text()
            entries = [json.loads(line) for line in text.split("\n") if line.startswith("{")]
            found = [
                e for e in entries if e.get("request_id") == request_id and e.get("message") == "request"
            ]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    spec = by_name("api-gateway")
    ports = {"api-gateway": free_port(), "payment-processor": free_port(), "fraud-detector": free_port()}
    limits = {"HEADER_TIMEOUT_SECONDS": str(SLOW_SECONDS), "BODY_TIMEOUT_SECONDS": str(SLOW_SECONDS)}
    log = tmp_path_factory.mktemp("gateway") / "stdout.jsonl"
    stack = LocalStack({"api-gateway": ports["api-gateway"]})
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", MODULES[spec.name]],
            env={**os.environ, **service_env(spec, ports, limits)},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        stack.processes[spec.name] = process
        try:
            stack.wait_healthy(spec.name)
            yield Gateway(ports["api-gateway"], log)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def exchange(gateway: Gateway, *parts: bytes, pause: float = 0.0) -> Raw:
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as connection:
        for part in parts:
            connection.sendall(part)
            time.sleep(pause)
        return read_answer(connection)


def request(first_line: str, *headers: str, body: bytes = b"") -> bytes:
    return ("\r\n".join([first_line, *headers]) + "\r\n\r\n").encode() + body


def assert_refused(gateway: Gateway, answer: Raw, status: int, code: str) -> dict[str, object]:
    """The one error shape, a request id, and one access-log line with the same status and id."""
    assert answer.status == status, answer
    assert answer.headers["content-type"] == "application/json"
    assert answer.body["error"] == code
    assert isinstance(answer.body["message"], str)
    assert answer.body["message"]
    rid = answer.headers["x-request-id"]
    [line] = gateway.lines(rid)
    assert line["status"] == status
    return line


POST_PAYMENTS = "POST /payments HTTP/1.1"
JSON_BODY = ("Content-Type: application/json",)


@pytest.mark.parametrize(
    ("first_line", "headers", "allowed"),
    [
        ("DELETE /payments HTTP/1.1", ("Host: x", "Content-Length: 2"), "POST"),
        ("QUERY /payments HTTP/1.1", ("Host: x", *JSON_BODY, "Content-Length: 2"), "POST"),
        ("POST /health HTTP/1.1", ("Host: x", *JSON_BODY, "Content-Length: 2"), "GET, HEAD"),
        ("PUT /openapi.json HTTP/1.1", ("Host: x", *JSON_BODY, "Content-Length: 2"), "GET, HEAD"),
    ],
)
def test_a_405_names_the_methods_the_path_allows(gateway, first_line, headers, allowed):
    answer = exchange(gateway, request(first_line, *headers, body=b"{}"))
    assert_refused(gateway, answer, 405, "method_not_allowed")
    assert answer.headers["allow"] == allowed  # RFC 9110 section 15.5.6: a 405 MUST carry Allow


@pytest.mark.parametrize("path", ["/health", "/openapi.json"])
def test_head_is_served_wherever_get_is_with_the_headers_of_get_and_no_body(gateway, path):
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as connection:
        # Pipelined on one connection: a body after the HEAD answer would be read as the next answer.
        connection.sendall(
            request(f"HEAD {path} HTTP/1.1", "Host: x") + request(f"GET {path} HTTP/1.1", "Host: x")
        )
        received = b""
        while received.count(b"\r\n\r\n") < 2:
            received += connection.recv(65536)
        head_block, _, rest = received.partition(b"\r\n\r\n")
        assert rest.startswith(b"HTTP/1.1 200 OK"), "HEAD's answer had a body"
        assert head_block.startswith(b"HTTP/1.1 200 OK")
        head_headers = dict(line.split(": ", 1) for line in head_block.decode().split("\r\n")[1:])
        get_block = rest.partition(b"\r\n\r\n")[0]
        get_headers = dict(line.split(": ", 1) for line in get_block.decode().split("\r\n")[1:])
    assert head_headers["content-length"] == get_headers["content-length"] != "0"
    assert head_headers["content-type"] == "application/json"
    assert len(head_headers["x-request-id"]) == HEX_ID


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (request(POST_PAYMENTS, "Host: x", "Content-Length: abc"), 400, "bad_request"),
        (request(POST_PAYMENTS, "Host: x", "Content-Length: -1"), 400, "bad_request"),
        (request(POST_PAYMENTS, "Host: x", "Content-Length: 2", "Content-Length: 3"), 400, "bad_request"),
        (
            request(POST_PAYMENTS, "Host: x", "Content-Length: 2", "Transfer-Encoding: chunked"),
            400,
            "bad_request",
        ),
        # chunked not the final coding: the length cannot be known, RFC 9112 section 6.3 says 400 and close.
        (request(POST_PAYMENTS, "Host: x", *JSON_BODY, "Transfer-Encoding: gzip"), 400, "bad_request"),
        (
            request(POST_PAYMENTS, "Host: x", *JSON_BODY, "Transfer-Encoding: chunked, gzip"),
            400,
            "bad_request",
        ),
        # chunked last, with a coding before it that nothing here decodes: 501 (RFC 9112 section 6.1).
        (
            request(
                POST_PAYMENTS, "Host: x", *JSON_BODY, "Transfer-Encoding: gzip, chunked", body=b"0\r\n\r\n"
            ),
            501,
            "not_implemented",
        ),
        (request("FOO /payments HTTP/1.1", "Host: x"), 501, "not_implemented"),  # unknown to the parser
        (request("get /health HTTP/1.1", "Host: x"), 501, "not_implemented"),  # methods are case-sensitive
        (request("PROPFIND /payments HTTP/1.1", "Host: x"), 501, "not_implemented"),  # known to it, not to us
        (request("GET /health HTTP/1.1"), 400, "bad_request"),  # RFC 9112 section 3.2: no Host
        (request("GET /health HTTP/1.1", "Host: a", "Host: b"), 400, "bad_request"),  # two Hosts
    ],
)
def test_protocol_refusals_are_json_with_a_request_id_and_logged(gateway, raw, status, code):
    answer = exchange(gateway, raw)
    assert_refused(gateway, answer, status, code)
    assert answer.headers["connection"] == "close"
    assert len(answer.headers["x-request-id"]) == HEX_ID


def test_a_parser_refusal_adopts_the_callers_request_id_when_its_headers_got_that_far(gateway):
    answer = exchange(
        gateway, request(POST_PAYMENTS, "Host: x", "X-Request-Id: caller-id-1", "Content-Length: x")
    )
    assert answer.headers["x-request-id"] == "caller-id-1"
    assert_refused(gateway, answer, 400, "bad_request")


def test_an_http_1_0_request_needs_no_host(gateway):
    answer = exchange(gateway, request("GET /health HTTP/1.0"))
    assert answer.status == 200


def test_two_idempotency_keys_are_a_400_not_the_last_one_wins(gateway):
    body = b'{"amount": "12.50", "currency": "USD", "card_token": "tok_4242424242424242"}'
    answer = exchange(
        gateway,
        request(
            POST_PAYMENTS,
            "Host: x",
            *JSON_BODY,
            "Idempotency-Key: order-00001",
            "Idempotency-Key: order-00002",
            f"Content-Length: {len(body)}",
            body=body,
        ),
    )
    assert_refused(gateway, answer, 400, "invalid_request")
    assert "one Idempotency-Key header, not 2" in str(answer.body["message"])


def test_slow_headers_are_a_408_logged_as_408_with_the_request_id(gateway):
    # The parser takes a header line once the next one starts (it could be folded into it).
    answer = exchange(gateway, b"POST /payments HTTP/1.1\r\nHost: x\r\nX-Request-Id: slow-headers-1\r\nAcc")
    assert answer.headers["x-request-id"] == "slow-headers-1"
    line = assert_refused(gateway, answer, 408, "request_timeout")
    assert line["error"] == "request_timeout"


def test_a_later_request_on_a_connection_gets_its_whole_deadline_from_its_own_first_byte(gateway):
    # The deadline timer is set once per connection and moved lazily: the one set for the first
    # request fires while the second is still in time, and must wait on for the second's deadline.
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as connection:
        connection.sendall(request("GET /health HTTP/1.1", "Host: x"))
        assert read_answer(connection).status == 200
        time.sleep(SLOW_SECONDS * 0.6)
        started = time.monotonic()
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Request-Id: slow-second-1\r\nAcc")
        answer = read_answer(connection)
        waited = time.monotonic() - started
    assert answer.headers["x-request-id"] == "slow-second-1"
    assert_refused(gateway, answer, 408, "request_timeout")
    assert SLOW_SECONDS * 0.9 <= waited < SLOW_SECONDS * 6


def test_a_slow_body_is_a_408_logged_once_as_408_with_method_path_and_request_id(gateway):
    head = request(POST_PAYMENTS, "Host: x", *JSON_BODY, "X-Request-Id: slow-body-1", "Content-Length: 100")
    answer = exchange(gateway, head, b'{"amount": ')
    assert answer.headers["x-request-id"] == "slow-body-1"
    line = assert_refused(gateway, answer, 408, "request_timeout")  # one line: not also a 499
    assert (line["method"], line["path"]) == ("POST", "/payments")


def test_garbage_after_a_whole_request_does_not_take_its_answer_the_connection_just_closes(gateway):
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as connection:
        connection.sendall(request("GET /health HTTP/1.1", "Host: x") + b"FOO / HTTP/1.1\r\n")
        answer = read_answer(connection)
        assert answer.status == 200
        assert answer.headers["connection"] == "close"
        assert connection.recv(1024) == b""


def test_a_head_begun_in_the_chunk_that_ended_the_request_before_it_still_has_a_deadline(gateway):
    # A 404 answers before the body is read; the body's rest and the start of the next request come
    # in one chunk. The next request began with no deadline running (the chunk's first bytes were
    # the body's), and its head never ends: it is cut off in time, not held open for ever.
    head = request("POST /nowhere HTTP/1.1", "Host: x", *JSON_BODY, "Content-Length: 10")
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as connection:
        connection.sendall(head + b"{}")
        assert read_answer(connection).status == 404
        started = time.monotonic()
        connection.sendall(b"12345678GET /health HTTP/1.1\r\nHost: x\r\nX-Request-Id: begun-late-1\r\nAcc")
        answer = read_answer(connection)
        waited = time.monotonic() - started
    assert answer.headers["x-request-id"] == "begun-late-1"
    assert_refused(gateway, answer, 408, "request_timeout")
    assert waited < SLOW_SECONDS * 6


def test_a_head_pipelined_behind_a_request_has_its_deadline_from_its_first_byte(gateway):
    # It came in the first request's chunk, before that one's answer: the first is answered, then
    # the second is cut off by its own deadline (it had waited for the keep-alive time, 65 s).
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as connection:
        started = time.monotonic()
        connection.sendall(
            request("GET /health HTTP/1.1", "Host: x")
            + b"GET /health HTTP/1.1\r\nX-Request-Id: piped-1\r\nAcc"
        )
        assert read_answer(connection).status == 200
        answer = read_answer(connection)
        waited = time.monotonic() - started
    assert answer.headers["x-request-id"] == "piped-1"
    assert_refused(gateway, answer, 408, "request_timeout")
    assert SLOW_SECONDS * 0.9 <= waited < SLOW_SECONDS * 6


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        # Header names are case-insensitive (RFC 9110 section 5.1): the same name, spelled twice.
        (
            ("Host: x", *JSON_BODY, "IDEMPOTENCY-KEY: order-00001", "idempotency-key: order-00002"),
            400,
            "invalid_request",
        ),
        (("Host: x", "host: y", "IDEMPOTENCY-KEY: order-00003"), 400, "bad_request"),
        (("IDEMPOTENCY-KEY: order-00004",), 400, "bad_request"),  # no Host at all
        (("HOST: x", "IDEMPOTENCY-KEY: order-00005", "CONTENT-TYPE: Application/JSON"), 503, "unavailable"),
    ],
)
def test_the_headers_the_services_read_are_found_whatever_the_case_of_their_names(
    gateway, headers, status, code
):
    body = b'{"amount": "12.50", "currency": "USD", "card_token": "tok_4242424242424242"}'
    answer = exchange(gateway, request(POST_PAYMENTS, *headers, f"Content-Length: {len(body)}", body=body))
    assert answer.status == status, answer
    if status != 503:  # 503: past every header check (no payment-processor runs in this test)
        assert_refused(gateway, answer, status, code)


def test_a_hostile_path_is_logged_escaped_on_one_line_of_json(gateway):
    # The access line is written as the bytes orjson makes: control characters stay escaped, a
    # line separator and invalid UTF-8 do not break it, and every line of the log is one JSON object.
    hostile = "/x%0A%7B%22status%22%3A200%7D%0D%00%E2%80%A8%FF"
    answer = exchange(gateway, request(f"GET {hostile} HTTP/1.1", "Host: x", "X-Request-Id: hostile-1"))
    assert answer.status == 404
    [line] = gateway.lines("hostile-1")
    assert (line["status"], line["path"]) == (404, '/x\n{"status":200}\r\x00\u2028\ufffd')
    for raw in gateway.log.read_bytes().split(b"\n"):
        if raw.startswith(b"{"):
            json.loads(raw)
