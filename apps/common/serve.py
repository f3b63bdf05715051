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
from apps.common.web import Service

GRACEFUL_SHUTDOWN_SECONDS = 20  # below the task definition's default stopTimeout (30 s)


def serve(app: Service, settings: ServiceSettings) -> None:
    configure(settings.spec.name)
    uvicorn.run(
        app,
        host=settings.listen_host,
        port=settings.port,
        loop="uvloop",
        http=bounded_protocol(settings.limits.header_timeout_seconds),
        ws="none",
        lifespan="on",  # a service whose clients cannot start must not serve
        log_config=None,  # keep our JSON handler
        access_log=False,
        server_header=False,
        date_header=False,
        proxy_headers=True,  # the ALB sets X-Forwarded-For/Proto
        forwarded_allow_ips="*",  # only the ALB reaches the task (security group chain)
        timeout_keep_alive=settings.limits.keep_alive_seconds,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


def bounded_protocol(header_timeout_seconds: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with a deadline on the request line and headers.

    uvicorn bounds the idle time between requests (keep-alive) but not a client that opens a
    connection and sends its headers a byte at a time: each such client would hold a connection
    for ever. The body has its own deadline in `apps.common.web`.
    """

    class HeaderDeadlineProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._header_timer is None and (self.cycle is None or self.cycle.response_complete):
                self._arm()  # the first bytes of the next request on a kept-alive connection
            super().data_received(data)

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._header_timer = self.loop.call_later(header_timeout_seconds, self._too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.write(_timeout_response(header_timeout_seconds))
                self.transport.close()

    return HeaderDeadlineProtocol


def _timeout_response(seconds: float) -> bytes:
    body: dict[str, Any] = {
        "error": "request_timeout",
        "message": f"the request line and headers did not arrive within {seconds:g} s",
    }
    payload = orjson.dumps(body)
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        f"content-length: {len(payload)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + payload
