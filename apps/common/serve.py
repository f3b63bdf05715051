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
from typing import Any

import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from apps.common.logs import configure
from apps.common.settings import ServiceSettings
from apps.common.web import RequestLimits, Service

GRACEFUL_SHUTDOWN_SECONDS = 20  # below the task definition's default stopTimeout (30 s)


def serve(app: Service, settings: ServiceSettings) -> None:
    configure(settings.spec.name)
    uvicorn.run(
        app,
        host=settings.listen_host,
        port=settings.port,
        loop="uvloop",
        http=bounded_protocol(settings.limits),
        ws="none",
        lifespan="on",  # a service whose clients cannot start must not serve
        log_config=None,  # keep our JSON handler
        access_log=False,
        server_header=False,
        date_header=False,
        # Only api-gateway is behind the ALB, which sets X-Forwarded-For/Proto; only the ALB reaches
        # it (security group chain). The internal services skip the per-request header rewrite.
        proxy_headers=not settings.spec.internal,
        forwarded_allow_ips="*",
        timeout_keep_alive=settings.limits.keep_alive_seconds,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


def bounded_protocol(limits: RequestLimits) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with deadlines for a request's headers and for its body.

    uvicorn bounds the idle time between requests (keep-alive) but not a client that opens a
    connection and sends its headers, or its body, a byte at a time: each such client would hold a
    connection for ever. Here the request line and headers must arrive within
    `header_timeout_seconds` of the request's first byte, and the body within
    `body_timeout_seconds` of the last header; otherwise the client gets a 408 and is disconnected.
    A new connection that sends nothing within `header_timeout_seconds` is closed without a word,
    as an idle keep-alive connection is: an unasked-for 408 could meet a request the other side
    (an ALB, a pooled client) is just sending. One timer per request, in the event loop (no task):
    cheaper than a timeout around `receive`.
    """
    header_seconds, body_seconds = limits.header_timeout_seconds, limits.body_timeout_seconds

    class DeadlineProtocol(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None
        _idle = False  # the deadline running is for a connection that has sent nothing yet

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm(header_seconds, None)
            self._idle = True

        def data_received(self, data: bytes) -> None:
            if self._idle or (
                self._deadline is None and (self.cycle is None or self.cycle.response_complete)
            ):
                self._arm(header_seconds, "the request line and headers")  # a request's first bytes
            super().data_received(data)

        def on_headers_complete(self) -> None:
            self._arm(body_seconds, "the body")
            super().on_headers_complete()
            if self.cycle is not None and not isinstance(self.cycle.transport, HeadWithBody):
                self.cycle.transport = HeadWithBody(self.transport)

        def on_response_complete(self) -> None:
            if self.cycle is not None and isinstance(self.cycle.transport, HeadWithBody):
                self.cycle.transport.flush()  # a response without a body write (HEAD, 204)
            super().on_response_complete()

        def on_message_complete(self) -> None:
            self._disarm()
            super().on_message_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self, seconds: float, what: str | None) -> None:
            self._disarm()
            self._idle = False
            self._deadline = self.loop.call_later(seconds, self._too_slow, seconds, what)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self, seconds: float, what: str | None) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                if what is not None:
                    self.transport.write(_timeout_response(f"{what} did not arrive within {seconds:g} s"))
                self.transport.close()

    return DeadlineProtocol


class HeadWithBody(asyncio.Transport):
    """A response's view of the connection: its status line and headers go out with its body.

    uvicorn writes a response in two `transport.write` calls, the head and then the body; on a
    TCP_NODELAY socket that is two sends, and the caller is woken twice. The profiles of the
    services under load showed socket writes as the largest cost (docs/benchmarks.md), so the
    head is held until the body's first write, or until the response completes without one,
    and both leave in one send. An interim response (`100 Continue`) is written at once.
    """

    def __init__(self, transport: asyncio.Transport) -> None:
        super().__init__()
        self._transport = transport
        self._head = b""
        self._started = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._started:
            if self._head:
                data, self._head = self._head + bytes(data), b""
            self._transport.write(data)
        elif bytes(data[:10]).startswith(b"HTTP/1.1 1"):  # 1xx: the client waits for it
            self._transport.write(data)
        else:
            self._started, self._head = True, bytes(data)

    def flush(self) -> None:
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


def _timeout_response(message: str) -> bytes:
    body: dict[str, Any] = {"error": "request_timeout", "message": message}
    payload = orjson.dumps(body)
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        f"content-length: {len(payload)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + payload
