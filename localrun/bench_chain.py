"""The load benchmark's baselines: one hop of a bare three-hop chain.

`python -m localrun.bench_chain --server uvicorn --port P [--next URL] [--ledger]` serves POST on any
path: it parses the JSON body, posts it to `--next` (keep-alive connections, aiohttp, with the
caller's `Idempotency-Key`) and answers what that returned; the last hop (no `--next`) answers the
body back. No validation, logging, request ids, timeouts or retries: what is left is the cost of the
stack itself (server, event loop, HTTP client, JSON library), which `localrun.loadtest` measures side by
side with the services. Like the services, each hop freezes what its startup made out of the cyclic
garbage collector's sight (`apps.common.web.freeze_startup_objects`): a runtime setting any server can
have, so the comparison is of the code, not of the collector's pauses.

Three servers, all on uvloop with aiohttp's client and orjson: `uvicorn` (httptools, a raw ASGI
app, the services' own stack), `aiohttp` (aiohttp's own web server) and `granian`.

`--ledger` (uvicorn only) makes the hop do payment-processor's ledger transaction around its call
to the next hop, and nothing else (`LedgerHop`): claim the idempotency key, call on, store the
payment row, commit; one PostgreSQL transaction with the ledger's own statements (imported from
`apps.payment_processor.ledger`), on the schema its migrations make, through a psycopg pool of the
services' default size, logged in with the same TLS and session config (`connection_kwargs`),
written the plain way (psycopg's `transaction()` block). It reads the connection secret's JSON from
`BENCH_CHAIN_DATABASE_SECRET` and the CA bundle to verify the server with from
`BENCH_CHAIN_DATABASE_CA`. It is what the services are measured against: the design, on the same
stack and database, with nothing of the services' own around it (validation, request ids, logs,
timeouts, retries, run-time secrets, error mapping).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import psycopg
import uvloop
from aiohttp import web
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from apps.common.web import freeze_startup_objects
from apps.payment_processor.ledger import CLAIM_SQL, RECORD_SQL
from apps.payment_processor.ledger_connections import (
    DEFAULT_POOL_SIZE,
    LedgerConnectionConfig,
    connection_kwargs,
)
from apps.payment_processor.migrate import load_migrations, migrate

SERVERS = ("uvicorn", "aiohttp", "granian")
NEXT_ENV = "BENCH_CHAIN_NEXT"
DATABASE_SECRET_ENV = "BENCH_CHAIN_DATABASE_SECRET"
DATABASE_CA_ENV = "BENCH_CHAIN_DATABASE_CA"
KEY_HEADER = "Idempotency-Key"
JSON_HEADERS = {"Content-Type": "application/json"}
DECLINE_AT = 70  # payment-processor's default FRAUD_DECLINE_THRESHOLD


class LedgerHop:
    """The ledger transaction alone, written as plain psycopg code: a pooled connection, a
    `transaction()` block (BEGIN, the claim, the call to the next hop while the key is held, the
    payment row, COMMIT: four round trips), no check before use, no error mapping, no retries.
    """

    def __init__(self, secret: str, ca_bundle: Path, pool_size: int = DEFAULT_POOL_SIZE) -> None:
        config = LedgerConnectionConfig(tls="verify-full", ca_bundle=ca_bundle, pool_size=pool_size)
        self.kwargs = connection_kwargs(secret, config)
        self.pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
            kwargs=self.kwargs, min_size=1, max_size=pool_size, open=False, name="bench-ledger"
        )

    async def open(self) -> None:
        async with await psycopg.AsyncConnection.connect(**self.kwargs) as connection:
            await migrate(connection, load_migrations())
        await self.pool.open(wait=True)

    async def close(self) -> None:
        await self.pool.close()

    async def once(self, key: str, body: dict[str, Any], call_on: Any) -> tuple[int, bytes]:
        payment_id = uuid.uuid4()
        fingerprint = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
        async with self.pool.connection() as connection, connection.transaction():
            claim = await connection.execute(CLAIM_SQL, (key, fingerprint, payment_id))
            if await claim.fetchone() is None:
                return 409, orjson.dumps({"error": "the key is taken"})
            risk = await call_on(body)
            score, reasons = int(risk.get("score", 0)), list(risk.get("reasons", []))
            status = "approved" if score < DECLINE_AT else "declined"
            await connection.execute(
                RECORD_SQL,
                (payment_id, key, status, body["amount"], body["currency"], body["card_token"],
                 score, Jsonb(reasons)),
            )  # fmt: skip
        row = {"payment_id": str(payment_id), "status": status, **body, "risk_score": score}
        return 201, orjson.dumps({**row, "risk_reasons": reasons})


class Forwarder:
    """The next hop's client (`None` on the last hop), and the ledger on a `--ledger` hop."""

    def __init__(self, next_url: str | None, ledger: LedgerHop | None = None) -> None:
        self.next_url = next_url
        self.ledger = ledger
        self.session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        if self.next_url:
            self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
        if self.ledger is not None:
            await self.ledger.open()

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
        if self.ledger is not None:
            await self.ledger.close()

    async def answer(self, raw: bytes, key: str | None = None) -> tuple[int, bytes]:
        body = orjson.loads(raw)
        if self.session is None or self.next_url is None:
            return 201, orjson.dumps(body)
        session, url = self.session, self.next_url
        headers = {**JSON_HEADERS, KEY_HEADER: key} if key else JSON_HEADERS
        if self.ledger is not None and key:

            async def call_on(payment: dict[str, Any]) -> Any:
                async with session.post(url, data=orjson.dumps(payment), headers=headers) as answer:
                    return orjson.loads(await answer.read())

            return await self.ledger.once(key, body, call_on)
        async with session.post(url, data=orjson.dumps(body), headers=headers) as answer:
            return answer.status, orjson.dumps(orjson.loads(await answer.read()))


def asgi_app(forwarder: Forwarder) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await forwarder.open()
            freeze_startup_objects()
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
        key = next((v.decode() for n, v in scope["headers"] if n == b"idempotency-key"), None)
        status, payload = await forwarder.answer(b"".join(chunks), key)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    return app


def granian_app() -> Any:
    """Granian imports its app by name in its worker process: the next hop comes from the env."""
    return asgi_app(Forwarder(os.environ.get(NEXT_ENV) or None))


def aiohttp_app(forwarder: Forwarder) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        status, payload = await forwarder.answer(await request.read(), request.headers.get(KEY_HEADER))
        return web.Response(status=status, body=payload, content_type="application/json")

    async def clients(app: web.Application) -> AsyncIterator[None]:
        await forwarder.open()
        freeze_startup_objects()
        yield
        await forwarder.close()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    app.cleanup_ctx.append(clients)
    return app


def ledger_from_env() -> LedgerHop:
    secret, ca_bundle = os.environ.get(DATABASE_SECRET_ENV), os.environ.get(DATABASE_CA_ENV)
    if not secret or not ca_bundle:
        raise SystemExit(f"--ledger needs {DATABASE_SECRET_ENV} and {DATABASE_CA_ENV}")
    return LedgerHop(secret, Path(ca_bundle))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=SERVERS, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--next", default=None, help="the next hop's URL; none on the last hop")
    parser.add_argument("--ledger", action="store_true", help="do the ledger transaction (uvicorn only)")
    args = parser.parse_args(argv)
    if args.ledger and (args.server != "uvicorn" or not args.next):
        parser.error("--ledger needs --server uvicorn and --next")
    forwarder = Forwarder(args.next, ledger_from_env() if args.ledger else None)
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
        from granian import Granian
        from granian.constants import Interfaces, Loops

        if args.next:
            os.environ[NEXT_ENV] = args.next
        Granian(
            "localrun.bench_chain:granian_app",
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
