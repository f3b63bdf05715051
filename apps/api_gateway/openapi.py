"""api-gateway's OpenAPI 3.1 document, built from the declarations the validation itself uses.

    python -m apps.api_gateway.openapi [--check]

Nothing here is typed twice: the currencies and their minor units, the amount rule (one pattern per
minor unit, `payments.amount_pattern`), the card token and `Idempotency-Key` patterns, the request
id's pattern, the refusals and their codes (`web.SHARED_REFUSALS`, `app.GATEWAY_REFUSALS`), the
payment statuses and the risk score's range come from the modules that enforce them. api-gateway
serves the document at `/openapi.json`; `docs/openapi.json` is the committed copy (written by this
module, or by `python3 dev.py docs`; a test fails when it is stale), and the contract test
(tests/apps/test_api_contract.py) runs schemathesis with it against the running services.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from apps.common.logs import REQUEST_ID_HEADER, REQUEST_ID_PATTERN
from apps.common.payments import (
    CURRENCIES,
    IDEMPOTENCY_HEADER,
    IDEMPOTENCY_KEY_ALPHABET,
    IDEMPOTENCY_KEY_PATTERN,
    MAX_AMOUNT,
    PAYMENT_STATUSES,
    TOKEN_PATTERN,
    amount_pattern,
)
from apps.common.web import JSON_MEDIA_TYPE, RETRY_AFTER_SECONDS, SHARED_REFUSALS, Refusal, RequestLimits
from apps.fraud_detector.scoring_rules import MAX_SCORE

API_VERSION = "1.0.0"  # the contract's own version: raise it when the document changes meaning
OPENAPI_PATH = "/openapi.json"
COMMITTED_COPY = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
REPLAYED_HEADER = "Idempotent-Replayed"
ERROR = "#/components/schemas/Error"
JSON = JSON_MEDIA_TYPE


def document(health_path: str, gateway_refusals: Iterable[Refusal]) -> dict[str, Any]:
    """The whole document for api-gateway with these refusals (its own and the shared ones)."""
    refusals = sorted({*SHARED_REFUSALS, *gateway_refusals}, key=lambda r: (r.status, r.code))
    limits = RequestLimits()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "api-gateway",
            "version": API_VERSION,
            "description": (
                "The payment platform's public API. Every answer carries `X-Request-Id`, and every "
                'refusal has one JSON shape, `{"error": code, "message": ...}` (schema `Error`), '
                "with `Content-Type: application/json`, including what the HTTP parser refuses. HEAD "
                "is served wherever GET is; another method on a known path is 405 with `Allow`; a "
                "method no service implements is 501. Limits (defaults; the task definition may set "
                f"others): body {limits.max_body_bytes} bytes, URL {limits.max_url_bytes} bytes, "
                f"headers {limits.max_header_bytes} bytes, {limits.header_timeout_seconds:g} s for "
                f"the headers and {limits.body_timeout_seconds:g} s for the body."
            ),
        },
        "paths": {
            "/payments": {"post": _create_payment(refusals)},
            health_path: {"get": _health()},
            OPENAPI_PATH: {"get": _self_description()},
        },
        "components": {
            "schemas": {
                "PaymentRequest": _payment_request(),
                "Payment": _payment(),
                "Error": _error(refusals),
            },
            "headers": {
                REQUEST_ID_HEADER: {
                    "description": "the request's id: the caller's when well formed, else a new one",
                    "required": True,
                    "schema": {"type": "string", "pattern": f"^{REQUEST_ID_PATTERN}$"},
                },
                "Retry-After": {
                    "description": "seconds to wait before retrying with the same Idempotency-Key",
                    "required": True,
                    "schema": {"type": "string", "enum": [str(RETRY_AFTER_SECONDS)]},
                },
            },
        },
    }


def render(spec: dict[str, Any]) -> str:
    """The document as committed and served: indented JSON, keys in the order written, one newline."""
    return json.dumps(spec, indent=2, ensure_ascii=False) + "\n"


def _create_payment(refusals: Sequence[Refusal]) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "201": _answer(
            "the payment was made: approved, or declined by the fraud rules (a decline is a payment "
            "too, with `status: declined`, not an error)",
            "Payment",
            replayed="false",
        ),
        "200": _answer(
            "a retry with the same Idempotency-Key and content: the stored payment, unchanged",
            "Payment",
            replayed="true",
        ),
    }
    for status in sorted({r.status for r in refusals}):
        same = [r for r in refusals if r.status == status]
        responses[str(status)] = _refusal(status, same)
    return {
        "operationId": "createPayment",
        "summary": "Make a payment, once per Idempotency-Key",
        "description": (
            "The same key with the same content (amount, currency, card token; the amount compared "
            "in its canonical spelling) replays the stored payment with 200, from any task; the same "
            "key with other content is 422 `idempotency_key_reused`. A refused request stores "
            "nothing, so it can be retried with its key."
        ),
        "parameters": [
            {
                "name": IDEMPOTENCY_HEADER,
                "in": "header",
                "required": True,
                "description": (
                    f"a unique id per payment: 8-255 characters of {IDEMPOTENCY_KEY_ALPHABET} "
                    "(a UUID fits), in exactly one header"
                ),
                "schema": {"type": "string", "pattern": f"^{IDEMPOTENCY_KEY_PATTERN}$"},
            },
            {
                "name": REQUEST_ID_HEADER,
                "in": "header",
                "required": False,
                "description": (
                    f"the caller's request id, echoed and logged when it matches ^{REQUEST_ID_PATTERN}$; "
                    "any other value is not refused but replaced by a new id"
                ),
                "schema": {"type": "string"},
            },
        ],
        "requestBody": {
            "required": True,
            "content": {JSON: {"schema": {"$ref": "#/components/schemas/PaymentRequest"}}},
        },
        "responses": responses,
    }


def _health() -> dict[str, Any]:
    return {
        "operationId": "health",
        "summary": "Liveness: cheap, no downstream call (HEAD too)",
        "responses": {
            "200": {
                "description": "the service is up",
                "headers": _request_id_header(),
                "content": {
                    JSON: {
                        "schema": {
                            "type": "object",
                            "required": ["status", "service"],
                            "additionalProperties": False,
                            "properties": {
                                "status": {"const": "ok"},
                                "service": {"const": "api-gateway"},
                            },
                        }
                    }
                },
            }
        },
    }


def _self_description() -> dict[str, Any]:
    return {
        "operationId": "openapi",
        "summary": "This document",
        "responses": {
            "200": {
                "description": "the OpenAPI document",
                "headers": _request_id_header(),
                "content": {JSON: {"schema": {"type": "object", "required": ["openapi", "paths"]}}},
            }
        },
    }


def _payment_request() -> dict[str, Any]:
    by_places: dict[int, list[str]] = {}
    for code, places in sorted(CURRENCIES.items()):
        by_places.setdefault(places, []).append(code)
    return {
        "type": "object",
        "required": ["amount", "currency", "card_token"],
        "additionalProperties": False,
        "properties": {
            "amount": {
                "type": "string",
                "description": (
                    "a canonical decimal string: ASCII digits, an optional '.' and at least one digit, "
                    "no sign, exponent, spaces, underscores or leading zero; at most the currency's "
                    f"ISO 4217 minor unit of decimals; greater than 0 and at most {MAX_AMOUNT}. Never a "
                    "JSON number. Echoed with exactly the currency's decimals"
                ),
            },
            "currency": {
                "type": "string",
                "enum": sorted(CURRENCIES),
                "description": "an ISO 4217 code; its minor unit (decimal places) bounds the amount",
            },
            "card_token": {
                "type": "string",
                "pattern": f"^{TOKEN_PATTERN}$",
                "description": "the card's token, never its number",
            },
        },
        # The amount's rule depends on the currency's minor unit: one branch per minor unit.
        "oneOf": [
            {
                "title": f"{places} decimal places",
                "properties": {
                    "currency": {"enum": codes},
                    "amount": {"pattern": amount_pattern(places)},
                },
            }
            for places, codes in sorted(by_places.items())
        ],
    }


def _payment() -> dict[str, Any]:
    return {
        "type": "object",
        "required": [
            "payment_id",
            "status",
            "amount",
            "currency",
            "card_token",
            "risk_score",
            "risk_reasons",
        ],
        "additionalProperties": False,
        "properties": {
            "payment_id": {"type": "string", "format": "uuid"},
            "status": {
                "type": "string",
                "enum": list(PAYMENT_STATUSES),
                "description": (
                    "declined when fraud-detector's risk score reaches payment-processor's "
                    "FRAUD_DECLINE_THRESHOLD; the HTTP status is 201 (or 200 on a replay) either way"
                ),
            },
            "amount": {"type": "string", "description": "with exactly the currency's minor-unit decimals"},
            "currency": {"type": "string", "enum": sorted(CURRENCIES)},
            "card_token": {"type": "string", "pattern": f"^{TOKEN_PATTERN}$"},
            "risk_score": {"type": "integer", "minimum": 0, "maximum": MAX_SCORE},
            "risk_reasons": {"type": "array", "items": {"type": "string"}},
        },
    }


def _error(refusals: Sequence[Refusal]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "enum": sorted({r.code for r in refusals})},
            "message": {"type": "string"},
            "fields": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "invalid_request: each refused field and why ('is required', ...)",
            },
            "downstream": {"type": "string", "description": "503/504: the service that did not answer"},
        },
        "additionalProperties": False,
    }


def _refusal(status: int, refusals: Sequence[Refusal]) -> dict[str, Any]:
    headers = _request_id_header()
    if status in (503, 504):
        headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
    when = "; ".join(f"`{r.code}`: {r.when}" for r in refusals)
    schema = {
        "allOf": [{"$ref": ERROR}, {"properties": {"error": {"enum": sorted({r.code for r in refusals})}}}]
    }
    return {"description": when, "headers": headers, "content": {JSON: {"schema": schema}}}


def _answer(description: str, schema: str, *, replayed: str) -> dict[str, Any]:
    headers = _request_id_header()
    headers[REPLAYED_HEADER] = {"required": True, "schema": {"type": "string", "const": replayed}}
    return {
        "description": description,
        "headers": headers,
        "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _request_id_header() -> dict[str, Any]:
    return {REQUEST_ID_HEADER: {"$ref": f"#/components/headers/{REQUEST_ID_HEADER}"}}


def main(argv: Sequence[str] | None = None) -> int:
    from apps.api_gateway.app import GATEWAY_REFUSALS
    from shared.catalogue import by_name

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/openapi.json is stale")
    args = parser.parse_args(argv)
    text = render(document(by_name("api-gateway").health_path, GATEWAY_REFUSALS))
    current = COMMITTED_COPY.exists() and COMMITTED_COPY.read_text() == text
    if args.check:
        if not current:
            print("stale: docs/openapi.json (run `python3 dev.py docs`)")
        return 0 if current else 1
    COMMITTED_COPY.write_text(text)
    print("docs/openapi.json was current" if current else "docs/openapi.json updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
