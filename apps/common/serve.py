"""Run one service with uvicorn on uvloop and httptools: JSON logs, bounded requests, graceful stop.

On SIGTERM uvicorn stops accepting connections, closes idle keep-alive connections, lets in-flight
requests finish for up to `GRACEFUL_SHUTDOWN_SECONDS`, then closes the HTTP clients (lifespan) and
exits. The numbers fit ECS's order of events when a task behind a target group stops: ECS first
deregisters the target and waits until the target group has drained it (at most the deregistration
delay, 30 s by default), then sends SIGTERM, then SIGKILL after the task's `stopTimeout` (30 s):
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/load-balancer-connection-draining.html
So new requests have stopped coming from the ALB before SIGTERM, and the drain (at most 20 s, and
a payment's worst case is about 11 s: api-gateway's 2 attempts of 5 s) ends before SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from typing import Any

import httptools
import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from apps.common.logs import REQUEST_ID_HEADER, AccessLog, bind_request_id, configure
from apps.common.runtime_config import RuntimeConfig
from apps.common.web import (
    BAD_REQUEST,
    NOT_IMPLEMENTED,
    REQUEST_TIMEOUT,
    SCOPE_HEAD_BYTES,
    SCOPE_REFUSED,
    SCOPE_REQUEST_ID,
    Refusal,
    RequestLimits,
    Service,
)

GRACEFUL_SHUTDOWN_SECONDS = 20  # below the task definition's default stopTimeout (30 s)


def serve(app: Service, config: RuntimeConfig) -> None:
    configure(config.spec.name)
    app.freeze_after_startup = True  # this process serves only `app` (apps.common.web.freeze_startup_objects)
    uvicorn.run(
        app,
        host=config.listen_host,
        port=config.port,
        loop="uvloop",
        http=bounded_protocol(config.limits, config.spec.name),
        ws="none",
        lifespan="on",  # a service whose clients cannot start must not serve
        log_config=None,  # keep our JSON handler
        access_log=False,
        server_header=False,
        date_header=False,
        # Only api-gateway is behind the ALB, which sets X-Forwarded-For/Proto; only the ALB reaches
        # it (security group chain). The internal services skip the per-request header rewrite.
        proxy_headers=not config.spec.internal,
        forwarded_allow_ips="*",
        timeout_keep_alive=config.limits.keep_alive_seconds,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


def bounded_protocol(limits: RequestLimits, service: str) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with deadlines, and its refusals in the services' one error shape.

    Deadlines: uvicorn bounds the idle time between requests (keep-alive) but not a client that
    opens a connection and sends its headers, or its body, a byte at a time: each such client would
    hold a connection for ever. Here the request line and headers must arrive within
    `header_timeout_seconds` of the request's first byte, and the body within
    `body_timeout_seconds` of the last header; otherwise the client gets a 408 and is disconnected.
    A new connection that sends nothing within `header_timeout_seconds` is closed without a word,
    as an idle keep-alive connection is: an unasked-for 408 could meet a request the other side
    (an ALB, a pooled client) is just sending. One timer per connection, in the event loop (no task),
    set again only when it fires before the deadline it is for: cheaper than a timeout around
    `receive`, and than a timer set and cancelled per request.

    Refusals before the application sees a request (uvicorn answers those in text/plain, without a
    request id, and logs no request line) are answered here as JSON `{"error", "message"}` with an
    `X-Request-Id` (the client's, when its headers got that far and it is well formed), the
    connection closed, and one access-log line with the status and the request id:
    - a method llhttp does not know ("FOO", "get"): 501 (RFC 9110 section 9.1: methods are
      case-sensitive; section 15.6.2: 501 for a method the server does not recognize);
    - any other parse error: 400 with llhttp's reason (a bad or repeated Content-Length, Content-Length
      with Transfer-Encoding, a Transfer-Encoding whose final coding is not chunked: RFC 9112 section
      6.3 says the server MUST answer that with 400 and close, as the length cannot be known);
    - headers too slow: 408.
    When the application already has the request (a body too slow, or a malformed chunk), the answer
    is the same, and the application writes the log line, as it knows the method, path and id.
    """
    header_seconds, body_seconds = limits.header_timeout_seconds, limits.body_timeout_seconds
    access_log = AccessLog(service)

    class DeadlineProtocol(HttpToolsProtocol):
        # The deadline running: when it falls due (loop time; 0.0 for none), its length and what it
        # waits for (None: a connection that has sent nothing yet). One timer per connection, moved
        # lazily: arming a deadline only writes these, and the timer, when it fires early, sets
        # itself again for the current deadline. Two timers set and cancelled per request cost more.
        _due = 0.0
        _seconds = 0.0
        _what: str | None = None
        _timer: asyncio.TimerHandle | None = None
        _timer_due = 0.0
        _idle = False  # the deadline running is for a connection that has sent nothing yet
        _started = 0.0  # when the current request's first bytes arrived
        # The bytes that carried the request's head lie between where the chunk that completed the
        # request before it began and the end of the chunk that completed its headers: a request's
        # head can begin in the chunk of the one before it (pipelined), before that one's answer.
        _received = 0  # bytes received on this connection
        _chunk_from = 0  # where the chunk being parsed begins
        _head_from = 0  # where the chunk that completed the previous request began
        _held: HeadWithBody

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            # Every response on this connection goes through one HeadWithBody (uvicorn gives each
            # request's cycle the protocol's transport); flow control keeps the socket's own.
            self.transport = self._held = HeadWithBody(transport)
            self._arm(header_seconds, None)
            self._idle = True

        def data_received(self, data: bytes) -> None:
            if self._idle or (not self._due and (self.cycle is None or self.cycle.response_complete)):
                self._arm(header_seconds, "the request line and headers")  # a request's first bytes
                self._started = time.perf_counter()
            self._chunk_from = self._received
            self._received += len(data)
            # uvicorn's own data_received, with its text/plain 400 replaced by the JSON refusals.
            self._unset_keepalive_if_required()
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserInvalidMethodError:
                self._refuse(NOT_IMPLEMENTED, "the request method is not one this service implements")
            except httptools.HttpParserUpgrade:
                if self._should_upgrade():  # never, with ws="none"; kept as uvicorn has it
                    self.handle_websocket_upgrade()
                else:
                    self._unsupported_upgrade_warning()
            except httptools.HttpParserError as bad:
                self._refuse(BAD_REQUEST, f"the request is not valid HTTP/1.1: {bad}")

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if not self._due:
                # A request that began in the chunk that completed the one before it (after its body,
                # or pipelined behind it): no deadline was armed for it when the chunk came in.
                self._arm(header_seconds, "the request line and headers")
                self._started = time.perf_counter()

        def on_headers_complete(self) -> None:
            self._arm(body_seconds, "the body")
            self.scope[SCOPE_HEAD_BYTES] = self._received - self._head_from  # type: ignore[literal-required]
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            # A response without a body write (HEAD, 204) sends its head now; the next write is the
            # next response's head (uvicorn runs a connection's requests one after the other).
            self._held.flush()
            super().on_response_complete()

        def on_message_complete(self) -> None:
            self._due = 0.0  # the whole request is in: no deadline until the next one starts
            self._head_from = self._chunk_from
            super().on_message_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._due = 0.0
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            super().connection_lost(exc)

        def _arm(self, seconds: float, what: str | None) -> None:
            self._idle = False
            due = self.loop.time() + seconds
            self._due, self._seconds, self._what = due, seconds, what
            if self._timer is None or self._timer_due > due:  # none, or one that would fire too late
                if self._timer is not None:
                    self._timer.cancel()
                self._timer, self._timer_due = self.loop.call_at(due, self._deadline_reached), due

        def _deadline_reached(self) -> None:
            self._timer = None
            due = self._due
            if not due:  # the request it was set for came in whole; none since
                return
            if self.loop.time() < due:  # a later request's deadline, armed while this timer ran
                self._timer, self._timer_due = self.loop.call_at(due, self._deadline_reached), due
                return
            self._too_slow(self._seconds, self._what)

        def _too_slow(self, seconds: float, what: str | None) -> None:
            self._due = 0.0
            if self.transport.is_closing():
                return
            if what is None:  # a connection that never sent a byte
                self.transport.close()
                return
            self._refuse(REQUEST_TIMEOUT, f"{what} did not arrive within {seconds:g} s")

        def _refuse(self, refusal: Refusal, message: str) -> None:
            """Answer (unless an answer has started), close, and see that one line is logged."""
            self._due = 0.0
            cycle = self.cycle
            incoming = dict(self.headers or ()).get(REQUEST_ID_HEADER.lower().encode())
            current = cycle is not None and cycle.scope is self.scope  # the application has it
            if cycle is not None and not cycle.response_complete and (not current or not cycle.more_body):
                # The request in hand is whole: what failed is one pipelined after it. That one gets
                # no answer: the application answers the first, then the connection closes.
                cycle.keep_alive = False
                self.transport.pause_reading()
                return
            if cycle is not None and current:
                if not cycle.response_started:  # it waits for the body (else it has answered already)
                    # It logs the request (it knows the method and path) with this status and id,
                    # and sends nothing itself (apps.common.web).
                    scope: dict[str, Any] = self.scope  # type: ignore[assignment]
                    rid = scope.get(SCOPE_REQUEST_ID) or contextvars.Context().run(_request_id, incoming)
                    scope[SCOPE_REQUEST_ID], scope[SCOPE_REFUSED] = rid, refusal.status
                    self.transport.write(refusal_response(refusal, message, rid))
                self.transport.close()
                return
            fields = {
                "status": refusal.status,
                "error": refusal.code,
                "detail": message,
                "duration_ms": round((time.perf_counter() - self._started) * 1000, 2),
            }
            # In a context of its own: the request id must not stick to the connection's callbacks.
            rid = contextvars.Context().run(_log, access_log, incoming, fields)
            self.transport.write(refusal_response(refusal, message, rid))
            self.transport.close()

    return DeadlineProtocol


class HeadWithBody(asyncio.Transport):
    """A connection's transport, as its responses see it: a status line and headers go out with the body.

    uvicorn writes a response in two `transport.write` calls, the head and then the body; on a
    TCP_NODELAY socket that is two sends, and the caller is woken twice. The profiles of the
    services under load showed socket writes as the largest cost (docs/benchmarks.md), so a
    response's head is held until its body's first write, or until the response completes without
    one (`flush`), and both leave in one send. An interim response (`100 Continue`) is written at
    once. One per connection: uvicorn runs a connection's requests one after the other, so after a
    response completes the next write is the next response's head.
    """

    def __init__(self, transport: asyncio.Transport) -> None:
        super().__init__()
        self._transport = transport
        self._head = b""
        self._awaiting_head = True  # the next write starts a response

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._awaiting_head:
            if self._head:
                data, self._head = self._head + bytes(data), b""
            self._transport.write(data)
        elif bytes(data[:10]).startswith(b"HTTP/1.1 1"):  # 1xx: the client waits for it
            self._transport.write(data)
        else:
            self._awaiting_head, self._head = False, bytes(data)

    def flush(self) -> None:
        """The response is complete: send what is held; the next write is a new response's head."""
        self._awaiting_head = True
        if self._head:
            head, self._head = self._head, b""
            self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()


def _request_id(incoming: bytes | None) -> str:
    return bind_request_id(incoming.decode("latin-1") if incoming else None)


def _log(access_log: AccessLog, incoming: bytes | None, fields: dict[str, Any]) -> str:
    rid = _request_id(incoming)
    access_log.write(fields)
    return rid


def refusal_response(refusal: Refusal, message: str, rid: str) -> bytes:
    """A whole HTTP/1.1 error answer in the services' shape, closing the connection."""
    payload = orjson.dumps({"error": refusal.code, "message": message})
    reason = _REASONS.get(refusal.status, "Error")
    head = (
        f"HTTP/1.1 {refusal.status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(payload)}\r\n{REQUEST_ID_HEADER.lower()}: {rid}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + payload


_REASONS = {400: "Bad Request", 408: "Request Timeout", 501: "Not Implemented"}
