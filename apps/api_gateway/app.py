"""POST /payments: validate at the edge, then forward to payment-processor with the same key."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from apps.common.downstream import Downstream
from apps.common.payments import (
    IDEMPOTENCY_HEADER,
    InvalidRequestError,
    idempotency_key,
    parse_body,
    payment_request,
)
from apps.common.settings import ServiceSettings
from apps.common.web import create_app, error

REPLAYED_HEADER = "Idempotent-Replayed"  # set by payment-processor on an idempotent replay
# What payment-processor answers that we pass on as is; anything else is a 502.
PASSED_ON = frozenset({200, 201, 400, 422, 503, 504})
log = logging.getLogger("api-gateway")


def build(settings: ServiceSettings) -> ASGIApp:
    state: dict[str, Downstream] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        async with httpx.AsyncClient(limits=limits) as client:
            state["processor"] = Downstream(
                "payment-processor",
                settings.downstream_urls["payment-processor"],
                settings.downstream_timeout_seconds,
                settings.downstream_retries,
                client,
            )
            yield

    async def create_payment(request: Request) -> Response:
        try:
            key = idempotency_key(request.headers.get(IDEMPOTENCY_HEADER))
            payment = payment_request(parse_body(await request.body()))
        except InvalidRequestError as bad:
            return error(bad.status, "invalid_request", str(bad), fields=bad.fields)
        answer = await state["processor"].post_json("/payments", payment.as_json(), {IDEMPOTENCY_HEADER: key})
        if answer.status_code not in PASSED_ON:
            log.error("unexpected answer", extra={"downstream_status": answer.status_code})
            return error(502, "bad_gateway", f"payment-processor answered {answer.status_code}")
        replayed = {k: v for k, v in answer.headers.items() if k.lower() == REPLAYED_HEADER.lower()}
        return JSONResponse(answer.json(), status_code=answer.status_code, headers=replayed)

    return create_app(
        settings.spec.name,
        [Route("/payments", create_payment, methods=["POST"])],
        lifespan=lifespan,
        health_path=settings.spec.health_path,
    )
