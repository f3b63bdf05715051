"""POST /payments: validate at the edge, then forward to payment-processor with the same key."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from apps.api_gateway import openapi
from apps.common.downstream import (
    Downstream,
    DownstreamTimeoutError,
    DownstreamUnavailableError,
    http_session,
)
from apps.common.payments import (
    IDEMPOTENCY_HEADER,
    InvalidRequestError,
    idempotency_key,
    parse_body,
    payment_request,
)
from apps.common.runtime_config import RuntimeConfig
from apps.common.web import Refusal, Request, Response, Service, error

REPLAYED_HEADER = "Idempotent-Replayed"  # set by payment-processor on an idempotent replay
# What payment-processor answers that we pass on as is; anything else is a 502.
PASSED_ON = frozenset({200, 201, 400, 422, 503, 504})
# Longer than payment-processor's own worst case (3 attempts of 1 s against fraud-detector).
DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_RETRIES = 1
log = logging.getLogger("api-gateway")
_IDEMPOTENCY_HEADER = IDEMPOTENCY_HEADER.lower()
_IDEMPOTENCY_NAME = _IDEMPOTENCY_HEADER.encode()

# What api-gateway refuses besides the shared refusals (apps.common.web), as the OpenAPI document lists them.
UNREADABLE_REQUEST = Refusal(
    400,
    "invalid_request",
    f"the body is not a JSON object, or the {IDEMPOTENCY_HEADER} header is missing, malformed or repeated",
)
INVALID_PAYMENT = Refusal(
    422, "invalid_request", "a field is missing or wrong: `fields` names each one and why"
)
KEY_REUSED = Refusal(
    422, "idempotency_key_reused", f"the {IDEMPOTENCY_HEADER} was used for a payment with other content"
)
BAD_GATEWAY = Refusal(502, "bad_gateway", "payment-processor gave an answer it should not give")
DOWNSTREAM_UNAVAILABLE = Refusal(
    DownstreamUnavailableError.status,
    DownstreamUnavailableError.code,
    "a service on the payment path, or the ledger database, could not be reached; retry with the same key",
)
DOWNSTREAM_TIMEOUT = Refusal(
    DownstreamTimeoutError.status,
    DownstreamTimeoutError.code,
    "a service on the payment path did not answer in time; retry with the same key",
)
GATEWAY_REFUSALS = (
    UNREADABLE_REQUEST,
    INVALID_PAYMENT,
    KEY_REUSED,
    BAD_GATEWAY,
    DOWNSTREAM_UNAVAILABLE,
    DOWNSTREAM_TIMEOUT,
)


def build(config: RuntimeConfig) -> Service:
    state: dict[str, Downstream] = {}
    # Built once, served as bytes: the same text as docs/openapi.json.
    contract = openapi.render(openapi.document(config.spec.health_path, GATEWAY_REFUSALS)).encode()

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        async with http_session() as session:
            state["processor"] = Downstream(
                "payment-processor",
                config.downstream_urls["payment-processor"],
                config.downstream_timeout_seconds,
                config.downstream_retries,
                session,
            )
            yield

    async def create_payment(request: Request) -> Response:
        try:
            headers = request.headers
            copies = headers.count(_IDEMPOTENCY_HEADER) if headers.repeated else 1
            key = idempotency_key(headers.get_bytes(_IDEMPOTENCY_NAME), copies)
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

    async def describe(request: Request) -> Response:
        return Response(200, contract)

    return Service(
        config.spec.name,
        {("POST", "/payments"): create_payment, ("GET", openapi.OPENAPI_PATH): describe},
        limits=config.limits,
        health_path=config.spec.health_path,
        lifespan=lifespan,
    )
