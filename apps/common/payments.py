"""The payment request: parsed and validated once, identically in api-gateway and payment-processor.

Amounts are decimal strings ("12.50"), never JSON floats, with no more decimal places than the
currency's ISO 4217 minor unit. A card is referred to by a token, never by its number.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_AMOUNT = Decimal("1000000")
# ISO 4217 codes accepted, with their minor units (decimal places).
CURRENCIES: dict[str, int] = {
    "AUD": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CNY": 2, "CZK": 2, "DKK": 2, "EUR": 2, "GBP": 2,
    "HKD": 2, "HUF": 2, "INR": 2, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "MXN": 2, "NOK": 2, "NZD": 2,
    "OMR": 3, "PLN": 2, "SEK": 2, "SGD": 2, "TND": 3, "USD": 2, "ZAR": 2,
}  # fmt: skip
_TOKEN = re.compile(r"tok_[A-Za-z0-9]{16,64}")
_CARD_NUMBER = re.compile(r"[\d -]{12,23}")
_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_.:-]{8,255}")


class InvalidRequestError(ValueError):
    """A request we refuse: `status` is 400 (unreadable) or 422 (readable, but wrong)."""

    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.fields = fields or {}


@dataclass(frozen=True)
class PaymentRequest:
    amount: Decimal
    currency: str
    card_token: str

    def as_json(self) -> dict[str, str]:
        return {"amount": str(self.amount), "currency": self.currency, "card_token": self.card_token}

    def fingerprint(self) -> str:
        """Identifies the request's content, to tell a retry from a reuse of its idempotency key."""
        return hashlib.sha256(json.dumps(self.as_json(), sort_keys=True).encode()).hexdigest()


def idempotency_key(value: str | None) -> str:
    if not value:
        raise InvalidRequestError(
            400, f"the {IDEMPOTENCY_HEADER} header is required: a unique id per payment"
        )
    if not _IDEMPOTENCY_KEY.fullmatch(value):
        raise InvalidRequestError(
            400, f"{IDEMPOTENCY_HEADER} must be 8-255 characters of A-Z a-z 0-9 _ . : -"
        )
    return value


def parse_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidRequestError(400, "the body must be JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequestError(400, "the body must be a JSON object")
    return body


def payment_request(body: dict[str, Any]) -> PaymentRequest:
    """The validated request, or InvalidRequestError(422) naming every bad field."""
    problems: dict[str, str] = {}
    currency = body.get("currency")
    if not isinstance(currency, str) or currency not in CURRENCIES:
        problems["currency"] = "must be a supported ISO 4217 code such as USD or EUR"
        currency = None
    amount = _amount(body.get("amount"), CURRENCIES.get(currency or "", 2), problems)
    token = body.get("card_token")
    if isinstance(token, str) and _CARD_NUMBER.fullmatch(token) and sum(c.isdigit() for c in token) >= 12:
        problems["card_token"] = "must be a card token (tok_...), never a card number"
    elif not isinstance(token, str) or not _TOKEN.fullmatch(token):
        problems["card_token"] = "must be a card token: tok_ then 16-64 letters or digits"
    unknown = sorted(set(body) - {"amount", "currency", "card_token"})
    for name in unknown:
        problems[name] = "is not a field of a payment"
    if problems or amount is None or currency is None or not isinstance(token, str):
        raise InvalidRequestError(422, "the payment is invalid", problems)
    return PaymentRequest(amount, currency, token)


def _amount(value: object, places: int, problems: dict[str, str]) -> Decimal | None:
    if not isinstance(value, str):
        problems["amount"] = 'must be a decimal string such as "12.50" (not a JSON number)'
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        problems["amount"] = f"must be a decimal number, got {value!r}"
        return None
    if not amount.is_finite() or amount <= 0:
        problems["amount"] = "must be greater than 0"
    elif amount > MAX_AMOUNT:
        problems["amount"] = f"must be at most {MAX_AMOUNT}"
    elif -amount.as_tuple().exponent > places:  # type: ignore[operator]
        problems["amount"] = f"has more than {places} decimal places for this currency"
    else:
        return amount
    return None
