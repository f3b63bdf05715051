"""POST /payments: score with fraud-detector, approve or decline, once per idempotency key (the ledger)."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from apps.common.downstream import Downstream, DownstreamUnavailableError, http_session
from apps.common.payments import (
    IDEMPOTENCY_HEADER,
    InvalidRequestError,
    idempotency_key,
    parse_body,
    payment_request,
)
from apps.common.runtime_config import RuntimeConfig, RuntimeConfigError
from apps.common.runtime_secrets import RuntimeSecrets, describe
from apps.common.web import Request, Response, Service, error
from apps.payment_processor.ledger import Decision, KeyReusedError, Ledger
from apps.payment_processor.ledger_connections import (
    POOL_WAIT_SECONDS,
    Credentials,
    LedgerConnectionConfig,
    open_pool,
)
from apps.payment_processor.migrate import load_migrations, migrate

DECLINE_THRESHOLD_ENV = "FRAUD_DECLINE_THRESHOLD"
REPLAYED_HEADER = "Idempotent-Replayed"
DEFAULT_TIMEOUT_SECONDS = 1.0  # per attempt against fraud-detector
DEFAULT_RETRIES = 2
log = logging.getLogger("payment-processor")
_IDEMPOTENCY_NAME = IDEMPOTENCY_HEADER.lower().encode()


def decline_threshold(environ: dict[str, str] | None = None) -> int:
    raw = (environ if environ is not None else dict(os.environ)).get(DECLINE_THRESHOLD_ENV, "70")
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise RuntimeConfigError(f"{DECLINE_THRESHOLD_ENV} must be 1-100, got {raw!r}")
    return int(raw)


def build(
    config: RuntimeConfig,
    threshold: int | None = None,
    *,
    secrets: RuntimeSecrets | None = None,
    database: LedgerConnectionConfig | None = None,
) -> Service:
    threshold = decline_threshold() if threshold is None else threshold
    database = LedgerConnectionConfig.from_env() if database is None else database
    secrets = secrets or RuntimeSecrets(config.secret_arns, config.secret_cache_ttl_seconds)
    credentials = Credentials(secrets, database)
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        for name in secrets.names():  # a task that cannot read one of its secrets must not serve
            await secrets.get(name)
        # The schema first, on a connection of its own: a task whose migrations fail must not serve.
        connection = await credentials.connect()
        async with connection:
            applied = await migrate(connection, load_migrations())
        pool = open_pool(credentials)
        await pool.open(wait=True, timeout=POOL_WAIT_SECONDS * 2)
        async with pool, http_session() as session:
            state["ledger"] = Ledger(pool)
            state["fraud"] = Downstream(
                "fraud-detector",
                config.downstream_urls["fraud-detector"],
                config.downstream_timeout_seconds,
                config.downstream_retries,
                session,
            )
            log.info(
                "ready",
                extra={"decline_threshold": threshold, "migrations_applied": applied,
                       "database_tls": database.tls, **describe(secrets)},
            )  # fmt: skip
            yield

    async def create_payment(request: Request) -> Response:
        try:
            key = idempotency_key(request.headers.get_bytes(_IDEMPOTENCY_NAME))
            payment = payment_request(parse_body(request.body))
        except InvalidRequestError as bad:
            return error(bad.status, "invalid_request", str(bad), fields=bad.fields)

        async def process() -> Decision:
            answer = await state["fraud"].post_json("/score", payment.as_json())
            if answer.status != 200:
                raise DownstreamUnavailableError("fraud-detector", f"answered {answer.status}")
            risk = answer.json()
            score = int(risk["score"])
            return Decision(score < threshold, score, tuple(str(r) for r in risk["reasons"]))

        try:
            outcome = await state["ledger"].once(key, payment, process)
        except KeyReusedError:
            return error(
                422, "idempotency_key_reused", f"{IDEMPOTENCY_HEADER} was already used for another payment"
            )
        return Response(
            200 if outcome.replayed else 201,
            outcome.result,
            {REPLAYED_HEADER: str(outcome.replayed).lower()},
            log={"payment_status": outcome.result["status"], "replayed": outcome.replayed},
        )

    return Service(
        config.spec.name,
        {("POST", "/payments"): create_payment},
        limits=config.limits,
        health_path=config.spec.health_path,
        lifespan=lifespan,
    )
