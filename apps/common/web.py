"""The ASGI plumbing every service shares: bounded requests, request ids, access logs, JSON errors.

A deliberately small ASGI application instead of a framework: each service has two routes, and the
payment path crosses three services, so every microsecond spent per request is paid three times
(docs/benchmarks.md). What it does, in order, for each HTTP request:

1. binds the request id (the caller's `X-Request-Id` when well formed) and echoes it;
2. refuses a URL over `max_url_bytes` (414), headers over `max_header_bytes` (431), and an
   HTTP/1.1 request without exactly one `Host` (400, RFC 9112 section 3.2);
3. routes: a method no service here implements is 501 (RFC 9110 section 15.6.2), an unknown path
   404, a known path with another method 405 with `Allow` (RFC 9110 section 15.5.6); HEAD is served
   wherever GET is (RFC 9110 section 9.1), by the GET handler, and uvicorn sends no body for it;
4. for a request with a body: refuses a content type other than JSON (415), a `Content-Length` over
   `max_body_bytes` before reading a byte of it (413), then reads the body while counting, so a
   chunked body is refused (413) as soon as it passes the cap (the server, `apps.common.serve`,
   cuts off headers or a body that arrive too slowly, with 408, and answers what the HTTP parser
   refuses in this same shape);
5. turns a `DownstreamError` into 503/504, anything unexpected into a logged 500; a 503 or 504
   always carries `Retry-After`;
6. logs one JSON line per request, with what the handler adds (`Response.log`).

In the process that serves (`apps.common.serve`), once the lifespan has started, what startup made
is frozen out of the cyclic garbage collector's sight (`freeze_startup_objects`), so a full
collection under load is short.

Every error body has the same shape: `{"error": code, "message": ..., ...details}`. The refusals
are declared once below (`Refusal`), and the OpenAPI document (`apps.api_gateway.openapi`) lists
them from there.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import orjson

from apps.common.downstream import DownstreamError
from apps.common.logs import REQUEST_ID_HEADER, AccessLog, bind_request_id

RETRY_AFTER_SECONDS = 1  # what a 503/504 tells the caller to wait before retrying
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# The methods of RFC 9110 section 9, PATCH (RFC 5789) and QUERY (IETF httpbis "The HTTP QUERY Method",
# an operation of OpenAPI 3.2): a path that exists answers any of them it does not serve with 405 and
# `Allow`. Any other method (WebDAV's, or a token llhttp does not know, refused in apps.common.serve) is
# one no service here implements: 501, whatever the path (RFC 9110 section 15.6.2).
KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY"}
)
JSON_MEDIA_TYPE = "application/json"
# Where the application leaves the request id in the ASGI scope, and where the server leaves the status
# it answered a request with whose body it cut off (408, or 400 for a malformed chunk): apps.common.serve
# reads the first and sets the second.
SCOPE_REQUEST_ID = "payments.request_id"
SCOPE_REFUSED = "payments.refused"
# Where the server leaves how many bytes may have carried the request's head (counted from the chunk
# that completed the request before it): at least the size of its headers, so most requests skip
# adding them up (apps.common.serve sets it).
SCOPE_HEAD_BYTES = "payments.head_bytes"


@dataclass(frozen=True, kw_only=True)
class RequestLimits:
    """What one request may cost a service; each field comes from an env variable (see settings).

    max_body_bytes: the largest body read, default 16 KiB (a payment is about 100 bytes).
    max_url_bytes: the longest path plus query string, default 2 KiB.
    max_header_bytes: the sum of all header names and values, default 16 KiB.
    header_timeout_seconds: from a connection's (or a request's) first byte to its last header
        line, default 10 s; the connection is closed after it.
    body_timeout_seconds: from the last header line to the body's last byte, default 10 s (408).
    keep_alive_seconds: how long an idle connection stays open, default 65 s: longer than the
        ALB's 60 s idle timeout, so the ALB, not the task, closes idle connections.
    """

    max_body_bytes: int = 16_384
    max_url_bytes: int = 2_048
    max_header_bytes: int = 16_384
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 10.0
    keep_alive_seconds: int = 65


@dataclass(frozen=True)
class Refusal:
    """One kind of error answer: its status, its `error` code, and when it is given (for the docs)."""

    status: int
    code: str
    when: str

    def answer(self, message: str, *, close: bool = False, **details: Any) -> Response:
        return error(self.status, self.code, message, close=close, **details)


# The refusals every service shares, whatever its routes.
BAD_REQUEST = Refusal(
    400,
    "bad_request",
    "the request is not valid HTTP/1.1: a malformed request line, header or Content-Length, or an "
    "HTTP/1.1 request without exactly one Host header",
)
NOT_FOUND = Refusal(404, "not_found", "no route for the path")
METHOD_NOT_ALLOWED = Refusal(405, "method_not_allowed", "the path exists but not for this method (see Allow)")
REQUEST_TIMEOUT = Refusal(408, "request_timeout", "the headers or the body did not arrive in time")
BODY_TOO_LARGE = Refusal(413, "body_too_large", "the body is larger than the service accepts")
URL_TOO_LONG = Refusal(414, "url_too_long", "the path and query string are longer than the service accepts")
UNSUPPORTED_MEDIA_TYPE = Refusal(415, "unsupported_media_type", "a body not sent as application/json")
HEADERS_TOO_LARGE = Refusal(431, "headers_too_large", "the header names and values are larger than accepted")
INTERNAL_ERROR = Refusal(500, "internal_error", "an unexpected error, logged with the request id")
NOT_IMPLEMENTED = Refusal(
    501, "not_implemented", "a request method or transfer coding no service here implements"
)
SHARED_REFUSALS = (
    BAD_REQUEST,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    REQUEST_TIMEOUT,
    BODY_TOO_LARGE,
    URL_TOO_LONG,
    UNSUPPORTED_MEDIA_TYPE,
    HEADERS_TOO_LARGE,
    INTERNAL_ERROR,
    NOT_IMPLEMENTED,
)


class Headers:
    """A request's headers by lowercase name, decoded only when read (most are never read)."""

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self._list = raw
        # By lowercase name (the server gives them so), as bytes; a repeated header keeps its last.
        self.by_name = dict(raw)
        # Some name came more than once (rare): `count` tells which, only then.
        self.repeated = len(self.by_name) != len(raw)

    def get(self, name: str) -> str | None:
        value = self.by_name.get(name.encode("latin-1"))
        return None if value is None else value.decode("latin-1")

    def get_bytes(self, name: bytes) -> str | None:
        """`get` by the lowercase name already in bytes (the names the services read on every request)."""
        value = self.by_name.get(name)
        return None if value is None else value.decode("latin-1")

    def count(self, name: str) -> int:
        """How many times the header `name` came (0 or 1 unless `repeated`)."""
        key = name.encode("latin-1")
        if not self.repeated:
            return int(key in self.by_name)
        return sum(1 for each, _ in self._list if each == key)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Headers
    body: bytes


@dataclass(frozen=True)
class Response:
    status: int
    body: Any  # anything orjson serializes, or bytes that already are JSON (passed on as they are)
    headers: Mapping[str, str] = field(default_factory=dict)  # names as sent
    close: bool = False  # close the connection after answering (a body was left unread)
    log: Mapping[str, Any] = field(default_factory=dict)  # added to the request's one log line


Handler = Callable[[Request], Awaitable[Response]]
Lifespan = Callable[[], AbstractAsyncContextManager[None]]


def error(
    status: int,
    code: str,
    message: str,
    *,
    close: bool = False,
    headers: Mapping[str, str] | None = None,
    **details: Any,
) -> Response:
    """Every error body has the same shape: {"error": code, "message": ..., ...details}."""
    return Response(status, {"error": code, "message": message, **details}, headers or {}, close=close)


class _RefusedError(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(str(response.body["message"]))
        self.response = response


class _ClientGoneError(Exception):
    """The client disconnected before sending its whole body: there is no one to answer."""


class Service:
    """An ASGI application: `routes` maps (method, path) to a handler; `lifespan` opens clients."""

    def __init__(
        self,
        name: str,
        routes: Mapping[tuple[str, str], Handler],
        *,
        limits: RequestLimits,
        health_path: str = "/health",
        lifespan: Lifespan | None = None,
    ) -> None:
        self.name = name
        self.limits = limits
        self.lifespan = lifespan
        self.routes: dict[tuple[str, str], Handler] = {("GET", health_path): self._health, **routes}
        # HEAD wherever GET is served (RFC 9110 section 9.1): the same handler; uvicorn drops the body.
        self.routes.update({("HEAD", p): h for (m, p), h in list(self.routes.items()) if m == "GET"})
        # Each path's `Allow` value, for its 405s (RFC 9110 section 10.2.1).
        self.allow = {
            path: ", ".join(sorted(m for m, p in self.routes if p == path)) for _, path in self.routes
        }
        self.service_log = logging.getLogger(name)
        self.access_log = AccessLog(name)
        # Set by the serving process (apps.common.serve): freezing is process-wide, so a Service run
        # inside another program (the tests' in-process servers) leaves that program's heap alone.
        self.freeze_after_startup = False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _health(self, request: Request) -> Response:
        return Response(200, {"status": "ok", "service": self.name})

    async def _lifespan(self, receive: Any, send: Any) -> None:
        await receive()  # lifespan.startup
        resources = AsyncExitStack()
        try:
            if self.lifespan is not None:
                await resources.enter_async_context(self.lifespan())
        except Exception as failed:
            self.service_log.exception("startup failed")
            await send({"type": "lifespan.startup.failed", "message": str(failed)})
            return
        if self.freeze_after_startup:
            freeze_startup_objects()
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        await resources.aclose()
        await send({"type": "lifespan.shutdown.complete"})

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = Headers(scope["headers"])
        # The server may have named the request already (it refused it before this task ran).
        incoming = scope.get(SCOPE_REQUEST_ID) or headers.get_bytes(_REQUEST_ID_NAME)
        rid = scope[SCOPE_REQUEST_ID] = bind_request_id(incoming)
        started = time.perf_counter()
        try:
            routed = self._route(scope, headers)
            if isinstance(routed, Response):
                response = routed
            else:  # the handler, once the body is read (awaited here: one coroutine fewer per request)
                method = scope["method"]
                body = await self._body(headers, receive) if method in BODY_METHODS else b""
                response = await routed(Request(method, scope["path"], headers, body))
        except _RefusedError as refused:
            response = refused.response
        except _ClientGoneError:
            response = None
        except DownstreamError as failed:
            response = error(
                failed.status,
                failed.code,
                f"{failed.service} did not answer: {failed.detail}",
                downstream=failed.service,
            )
        except Exception:
            self.service_log.exception("unhandled error")
            response = INTERNAL_ERROR.answer("unexpected error; see the logs with this request id")
        answered = scope.get(SCOPE_REFUSED)  # the server answered for us (apps.common.serve)
        if response is not None and answered is None:
            await _send(send, response, rid)
        self.access_log.write(
            {
                "method": scope["method"],
                "path": scope["path"],
                # What the client got: the server's refusal (408, 400), ours, or none (it went away).
                "status": answered or (response.status if response else 499),
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                **(response.log if response else {}),
            }
        )

    def _route(self, scope: dict[str, Any], headers: Headers) -> Response | Handler:
        """The refusal the request gets before its body is read, or the handler that answers it."""
        limits = self.limits
        if len(scope["raw_path"]) + len(scope["query_string"]) > limits.max_url_bytes:
            return URL_TOO_LONG.answer(f"the URL is longer than {limits.max_url_bytes} bytes")
        # The server's count of the bytes that carried the request's head, when it has one, bounds the
        # headers from above: only a head that came in more bytes than the cap needs them added up.
        head_bytes = scope.get(SCOPE_HEAD_BYTES)
        if (head_bytes is None or head_bytes > limits.max_header_bytes) and sum(
            len(name) + len(value) for name, value in scope["headers"]
        ) > limits.max_header_bytes:
            return HEADERS_TOO_LARGE.answer(f"the headers are larger than {limits.max_header_bytes} bytes")
        by_name = headers.by_name  # the bytes, looked up without decoding: this runs on every request
        if scope["http_version"] == "1.1" and (
            b"host" not in by_name or (headers.repeated and headers.count("host") > 1)
        ):
            # RFC 9112 section 3.2: a server MUST answer 400 to an HTTP/1.1 request without exactly one Host.
            return BAD_REQUEST.answer("an HTTP/1.1 request must carry exactly one Host header", close=True)
        coding = by_name.get(b"transfer-encoding")
        if coding is not None and (
            coding.strip().lower() != b"chunked"
            or (headers.repeated and headers.count("transfer-encoding") > 1)
        ):
            # llhttp already refused (400) a coding list whose last is not chunked (RFC 9112 section 6.3);
            # what is left, such as "gzip, chunked", is one we do not decode: 501 (RFC 9112 section 6.1).
            return NOT_IMPLEMENTED.answer(
                f"the transfer coding {coding.decode('latin-1')!r} is not implemented: send the body with "
                "Content-Length or Transfer-Encoding: chunked alone",
                close=True,
            )
        method, path = scope["method"], scope["path"]
        handler = self.routes.get((method, path))
        if handler is None:
            if method not in KNOWN_METHODS:
                return NOT_IMPLEMENTED.answer(f"no service here implements the method {method}", close=True)
            allowed = self.allow.get(path)
            if allowed is None:
                return NOT_FOUND.answer(f"no route for {path}")
            return error(
                405, METHOD_NOT_ALLOWED.code, f"{path} accepts {allowed}", headers={"Allow": allowed}
            )
        if method in BODY_METHODS:
            sent_type = by_name.get(b"content-type")  # as the services send it, or else parsed
            if sent_type != _JSON_MEDIA_TYPE and (
                (sent_type or b"").partition(b";")[0].strip().lower() != _JSON_MEDIA_TYPE
            ):
                return UNSUPPORTED_MEDIA_TYPE.answer(
                    f"the body must be sent as Content-Type: {JSON_MEDIA_TYPE}", close=True
                )
        return handler

    async def _body(self, headers: Headers, receive: Any) -> bytes:
        cap = self.limits.max_body_bytes
        declared = headers.by_name.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise _RefusedError(self._too_large())  # before reading a byte of it
        chunks: list[bytes] = []
        size = 0
        while True:  # a body that stops arriving is cut off by the server (serve.bounded_protocol)
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGoneError
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                raise _RefusedError(self._too_large())
            if not message.get("more_body", False):
                return b"".join(chunks) + chunk if chunks else chunk
            chunks.append(chunk)

    def _too_large(self) -> Response:
        cap = self.limits.max_body_bytes
        return BODY_TOO_LARGE.answer(f"the body is larger than {cap} bytes", close=True)


def freeze_startup_objects() -> None:
    """Take what startup made out of the cyclic garbage collector's sight, for the process's life.

    Modules, clients, the connection pool: tens of thousands of objects that live as long as the
    process, which every full collection would otherwise walk while requests wait. Under load a full
    collection came about once a second and stopped payment-processor for 21-26 ms each time, with 32
    requests in flight; after `gc.freeze` it walks only what requests made (0.28 ms;
    docs/benchmarks.md). Frozen objects are still freed by reference counting when they are let go;
    a cycle running through one is never collected (https://docs.python.org/3/library/gc.html#gc.freeze):
    bounded, since this runs once per process (a review counted the same 16 such objects after 0, 50
    and 500 rounds of payments, replays and refusals). Startup's garbage is collected first, so none
    of it is frozen.
    """
    gc.collect()
    gc.freeze()


_REQUEST_ID_NAME = REQUEST_ID_HEADER.lower().encode()
_JSON_MEDIA_TYPE = JSON_MEDIA_TYPE.encode()
_JSON_CONTENT_TYPE = (b"content-type", _JSON_MEDIA_TYPE)


async def _send(send: Any, response: Response, rid: str) -> None:
    payload = response.body if isinstance(response.body, bytes) else orjson.dumps(response.body)
    headers = [
        _JSON_CONTENT_TYPE,
        (b"content-length", str(len(payload)).encode()),
        (_REQUEST_ID_NAME, rid.encode()),
    ]
    if response.headers:
        headers += [(name.lower().encode(), value.encode()) for name, value in response.headers.items()]
    if response.status in (503, 504) and "retry-after" not in {n.lower() for n in response.headers}:
        headers.append((b"retry-after", str(RETRY_AFTER_SECONDS).encode()))
    if response.close:
        headers.append((b"connection", b"close"))  # uvicorn then closes instead of reading on
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
