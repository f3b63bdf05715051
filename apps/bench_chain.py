"""The load benchmark's baseline: one hop of a bare three-hop chain that only forwards.

`python -m apps.bench_chain --server uvicorn --port P [--next URL]` serves POST on any path: it
parses the JSON body, posts it to `--next` (keep-alive connections, aiohttp) and answers what that
returned; the last hop (no `--next`) answers the body back. No validation, logging, request ids,
timeouts or retries: what is left is the cost of the stack itself (server, event loop, HTTP client,
JSON library), which `apps.loadtest` measures side by side with the services.

Two servers, both on uvloop with aiohttp's client and orjson: `uvicorn` (httptools, a raw ASGI app)
and `aiohttp` (aiohttp's own web server). The benchmark runs both and takes the faster as baseline.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import uvloop
from aiohttp import web

SERVERS = ("uvicorn", "aiohttp", "granian")
NEXT_ENV = "BENCH_CHAIN_NEXT"
JSON_HEADERS = {"Content-Type": "application/json"}


class Forwarder:
    """The next hop's client; `None` on the last hop."""

    def __init__(self, next_url: str | None) -> None:
        self.next_url = next_url
        self.session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        if self.next_url:
            self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def answer(self, raw: bytes) -> tuple[int, bytes]:
        body = orjson.loads(raw)
        if self.session is None or self.next_url is None:
            return 201, orjson.dumps(body)
        async with self.session.post(self.next_url, data=orjson.dumps(body), headers=JSON_HEADERS) as answer:
            return answer.status, orjson.dumps(orjson.loads(await answer.read()))


def asgi_app(forwarder: Forwarder) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await forwarder.open()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await forwarder.close()
            await send({"type": "lifespan.shutdown.complete"})
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        status, payload = await forwarder.answer(b"".join(chunks))
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    return app


def granian_app() -> Any:
    """Granian imports its app by name in its worker process: the next hop comes from the env."""
    import os

    return asgi_app(Forwarder(os.environ.get(NEXT_ENV) or None))


def aiohttp_app(forwarder: Forwarder) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        status, payload = await forwarder.answer(await request.read())
        return web.Response(status=status, body=payload, content_type="application/json")

    async def clients(app: web.Application) -> AsyncIterator[None]:
        await forwarder.open()
        yield
        await forwarder.close()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    app.cleanup_ctx.append(clients)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=SERVERS, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--next", default=None, help="the next hop's URL; none on the last hop")
    args = parser.parse_args(argv)
    forwarder = Forwarder(args.next)
    logging.basicConfig(level=logging.WARNING)
    if args.server == "uvicorn":
        import uvicorn

        uvicorn.run(
            asgi_app(forwarder),
            host="127.0.0.1",
            port=args.port,
            loop="uvloop",
            http="httptools",
            ws="none",
            lifespan="on",
            access_log=False,
            log_level="warning",
        )
    elif args.server == "granian":
        import os

        from granian import Granian
        from granian.constants import Interfaces, Loops

        if args.next:
            os.environ[NEXT_ENV] = args.next
        Granian(
            "apps.bench_chain:granian_app",
            factory=True,
            address="127.0.0.1",
            port=args.port,
            interface=Interfaces.ASGI,
            loop=Loops.uvloop,
            workers=1,
            log_level="warning",  # type: ignore[arg-type]
        ).serve()
    else:
        web.run_app(
            aiohttp_app(forwarder),
            host="127.0.0.1",
            port=args.port,
            access_log=None,
            print=None,
            loop=uvloop.new_event_loop(),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
