"""POST /payments: validate at the edge, then forward to payment-processor with the same key."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from apps.common.downstream import Downstream, http_session
from apps.common.payments import (
    IDEMPOTENCY_HEADER,
    InvalidRequestError,
    idempotency_key,
    parse_body,
    payment_request,
)
from apps.common.settings import ServiceSettings
from apps.common.web import Request, Response, Service, error

REPLAYED_HEADER = "Idempotent-Replayed"  # set by payment-processor on an idempotent replay
# What payment-processor answers that we pass on as is; anything else is a 502.
PASSED_ON = frozenset({200, 201, 400, 422, 503, 504})
# Longer than payment-processor's own worst case (3 attempts of 1 s against fraud-detector).
DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_RETRIES = 1
log = logging.getLogger("api-gateway")


def build(settings: ServiceSettings) -> Service:
    state: dict[str, Downstream] = {}

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        async with http_session() as session:
            state["processor"] = Downstream(
                "payment-processor",
                settings.downstream_urls["payment-processor"],
                settings.downstream_timeout_seconds,
                settings.downstream_retries,
                session,
            )
            yield

    async def create_payment(request: Request) -> Response:
        try:
            key = idempotency_key(request.headers.get(IDEMPOTENCY_HEADER.lower()))
            payment = payment_request(parse_body(request.body))
        except InvalidRequestError as bad:
            return error(bad.status, "invalid_request", str(bad), fields=bad.fields)
        answer = await state["processor"].post_json("/payments", payment.as_json(), {IDEMPOTENCY_HEADER: key})
        if answer.status not in PASSED_ON:
            log.error("unexpected answer", extra={"downstream_status": answer.status})
            return error(502, "bad_gateway", f"payment-processor answered {answer.status}")
        replayed = answer.headers.get(REPLAYED_HEADER)
        # payment-processor's JSON is passed on as received: parsing and re-encoding it changes nothing.
        return Response(answer.status, answer.body, {REPLAYED_HEADER: replayed} if replayed else {})

    return Service(
        settings.spec.name,
        {("POST", "/payments"): create_payment},
        limits=settings.limits,
        health_path=settings.spec.health_path,
        lifespan=lifespan,
    )
