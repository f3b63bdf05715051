"""The ASGI plumbing every service shares: request ids, access logs, JSON errors, `GET /health`."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apps.common.downstream import DownstreamError
from apps.common.logs import REQUEST_ID_HEADER, bind_request_id

log = logging.getLogger("access")


def error(status: int, code: str, message: str, **details: Any) -> JSONResponse:
    """Every error body has the same shape: {"error": code, "message": ..., ...details}."""
    return JSONResponse({"error": code, "message": message, **details}, status_code=status)


class RequestContext:
    """Pure ASGI middleware: binds the request id, echoes it, and logs one line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        rid = bind_request_id(headers.get(REQUEST_ID_HEADER.lower()))
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER.lower().encode(), rid.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )


def create_app(
    service: str,
    routes: Sequence[BaseRoute],
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
    health_path: str = "/health",
) -> ASGIApp:
    """A Starlette app with the service's routes plus a cheap health check with no downstream calls."""

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "service": service})

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error(exc.status_code, "http_error", str(exc.detail))

    async def downstream_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DownstreamError)
        return error(
            exc.status, exc.code, f"{exc.service} did not answer: {exc.detail}", downstream=exc.service
        )

    async def unexpected(request: Request, exc: Exception) -> Response:
        logging.getLogger(service).exception("unhandled error")
        return error(500, "internal_error", "unexpected error; see the logs with this request id")

    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        HTTPException: http_error,
        DownstreamError: downstream_error,
        Exception: unexpected,
    }
    app = Starlette(
        routes=[Route(health_path, health, methods=["GET"]), *routes],
        exception_handlers=handlers,
        lifespan=lifespan,
    )
    return RequestContext(app)
