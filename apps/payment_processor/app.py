"""POST /payments: score with fraud-detector, approve or decline, idempotently per key."""

from __future__ import annotations

import json
import logging
import os
import uuid
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
from apps.common.settings import ServiceSettings, SettingsError
from apps.common.web import Request, Response, Service, error
from apps.payment_processor.ledger import KeyReusedError, Ledger

DECLINE_THRESHOLD_ENV = "FRAUD_DECLINE_THRESHOLD"
REPLAYED_HEADER = "Idempotent-Replayed"
DEFAULT_TIMEOUT_SECONDS = 1.0  # per attempt against fraud-detector
DEFAULT_RETRIES = 2
log = logging.getLogger("payment-processor")


def decline_threshold(environ: dict[str, str] | None = None) -> int:
    raw = (environ if environ is not None else dict(os.environ)).get(DECLINE_THRESHOLD_ENV, "70")
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise SettingsError(f"{DECLINE_THRESHOLD_ENV} must be 1-100, got {raw!r}")
    return int(raw)


def database_host(settings: ServiceSettings) -> str:
    """The connection secret is JSON (engine, host, port, username, password, dbname)."""
    try:
        connection = json.loads(settings.secrets["DATABASE_CONNECTION"])
        return str(connection["host"])
    except (json.JSONDecodeError, KeyError, TypeError):
        raise SettingsError("DATABASE_CONNECTION must be the platform's JSON connection secret") from None


def build(settings: ServiceSettings, threshold: int | None = None) -> Service:
    threshold = decline_threshold() if threshold is None else threshold
    host = database_host(settings)
    ledger = Ledger()
    state: dict[str, Downstream] = {}

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        async with http_session() as session:
            state["fraud"] = Downstream(
                "fraud-detector",
                settings.downstream_urls["fraud-detector"],
                settings.downstream_timeout_seconds,
                settings.downstream_retries,
                session,
            )
            log.info("ready", extra={"database_host": host, "decline_threshold": threshold})
            yield

    async def create_payment(request: Request) -> Response:
        try:
            key = idempotency_key(request.headers.get(IDEMPOTENCY_HEADER.lower()))
            payment = payment_request(parse_body(request.body))
        except InvalidRequestError as bad:
            return error(bad.status, "invalid_request", str(bad), fields=bad.fields)

        async def process() -> dict[str, Any]:
            answer = await state["fraud"].post_json("/score", payment.as_json())
            if answer.status != 200:
                raise DownstreamUnavailableError("fraud-detector", f"answered {answer.status}")
            risk = answer.json()
            approved = int(risk["score"]) < threshold
            return {
                "payment_id": str(uuid.uuid4()),
                "status": "approved" if approved else "declined",
                **payment.as_json(),
                "risk_score": int(risk["score"]),
                "risk_reasons": list(risk["reasons"]),
            }

        try:
            outcome = await ledger.once(key, payment.fingerprint(), process)
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
        settings.spec.name,
        {("POST", "/payments"): create_payment},
        limits=settings.limits,
        health_path=settings.spec.health_path,
        lifespan=lifespan,
    )
