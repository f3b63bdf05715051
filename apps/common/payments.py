"""The payment request: parsed and validated once, identically in api-gateway and payment-processor.

An amount is a canonical decimal string: ASCII digits, no sign, exponent, underscore, whitespace or
leading zero, and at most the currency's ISO 4217 minor unit of decimals ("12.50" or "12.5" in USD,
"500" in JPY, never "1e3", " 12.50", "0012.50" or a JSON number). It is echoed with exactly the
currency's decimals ("12.5" becomes "12.50"), so one amount has one spelling, and one fingerprint.
A card is referred to by a token, never by its number.

The patterns below are also what the OpenAPI document (`apps.api_gateway.openapi`) publishes, and
`amount_pattern` spells the whole amount rule (grammar, minor unit, range) for one currency as a
regular expression; tests/apps check that it accepts exactly what `payment_request` accepts.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_AMOUNT = Decimal("1000000")
FIELDS = ("amount", "currency", "card_token")
_FIELD_NAMES = frozenset(FIELDS)
PAYMENT_STATUSES = ("approved", "declined")  # a payment's `status`; a decline is a payment, not an error
# The ISO 4217 codes accepted, with their minor unit (decimal places) from the ISO 4217 list
# (https://www.six-group.com/en/products-services/financial-information/data-standards.html);
# tests/apps check every entry against the `iso4217` package's copy of that list.
CURRENCIES: dict[str, int] = {
    "AUD": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CNY": 2, "CZK": 2, "DKK": 2, "EUR": 2, "GBP": 2,
    "HKD": 2, "HUF": 2, "INR": 2, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "MXN": 2, "NOK": 2, "NZD": 2,
    "OMR": 3, "PLN": 2, "SEK": 2, "SGD": 2, "TND": 3, "USD": 2, "ZAR": 2,
}  # fmt: skip
# [0-9] rather than \d: \d also matches other scripts' digits ("\uff11\uff12", full-width "12").
_CANONICAL_AMOUNT = re.compile(r"(?:0|[1-9][0-9]{0,15})(?:\.([0-9]{1,16}))?")
TOKEN_PATTERN = r"tok_[A-Za-z0-9]{16,64}"
_TOKEN = re.compile(TOKEN_PATTERN)
_CARD_NUMBER = re.compile(r"[\d -]{12,23}")
# The key's alphabet is deliberately narrower than "any visible character": it holds UUIDs, ULIDs and
# order numbers, needs no quoting in a log line or a URL, and, with no comma or space, two keys that
# a proxy folded into one header line ("a, b") can never pass as one key. Stripe documents only a
# length (up to 255 characters, https://docs.stripe.com/api/idempotent_requests), not an alphabet.
IDEMPOTENCY_KEY_ALPHABET = "A-Z a-z 0-9 _ . : -"
IDEMPOTENCY_KEY_PATTERN = r"[A-Za-z0-9_.:-]{8,255}"
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)


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
        return {"amount": self.canonical_amount(), "currency": self.currency, "card_token": self.card_token}

    def canonical_amount(self) -> str:
        """The amount with exactly the currency's minor-unit decimals: "12.50" USD, "500" JPY."""
        return f"{self.amount:.{CURRENCIES[self.currency]}f}"

    def fingerprint(self) -> str:
        """Identifies the request's content, to tell a retry from a reuse of its idempotency key."""
        return hashlib.sha256(orjson.dumps(self.as_json(), option=orjson.OPT_SORT_KEYS)).hexdigest()


def amount_pattern(places: int) -> str:
    """A regular expression for exactly the amounts accepted in a currency with `places` decimals.

    Canonical (as `_CANONICAL_AMOUNT`), at most `places` decimals, greater than 0 and at most
    MAX_AMOUNT: written out, since JSON Schema cannot compare a decimal string with a number.
    """
    top = f"{MAX_AMOUNT:f}"
    whole = f"[1-9][0-9]{{0,{len(top) - 2}}}"  # 1 .. 10**(digits-1) - 1, below MAX_AMOUNT's power of ten
    if len(top) < 2 or top != "1" + "0" * (len(top) - 1):
        raise ValueError(f"amount_pattern assumes MAX_AMOUNT is a power of ten, got {MAX_AMOUNT}")
    if places == 0:
        return f"^(?:{whole}|{top})$"
    fraction = f"(?:\\.[0-9]{{1,{places}}})?"
    # Below 1: "0." and 1..places digits, not all zeros (k zeros, then a non-zero digit, then any).
    below_one = "|".join(
        "0" * zeros + "[1-9]" + (f"[0-9]{{0,{places - zeros - 1}}}" if zeros < places - 1 else "")
        for zeros in range(places)
    )
    return f"^(?:{whole}{fraction}|{top}(?:\\.0{{1,{places}}})?|0\\.(?:{below_one}))$"


def idempotency_key(value: str | None, copies: int = 1) -> str:
    """The request's key, refused (400) when missing, malformed, or sent in more than one header."""
    if copies > 1:
        raise InvalidRequestError(
            400, f"send one {IDEMPOTENCY_HEADER} header, not {copies}: which one would identify the payment?"
        )
    if not value:
        raise InvalidRequestError(
            400, f"the {IDEMPOTENCY_HEADER} header is required: a unique id per payment"
        )
    if not _IDEMPOTENCY_KEY.fullmatch(value):
        raise InvalidRequestError(
            400, f"{IDEMPOTENCY_HEADER} must be 8-255 characters of {IDEMPOTENCY_KEY_ALPHABET}"
        )
    return value


def parse_body(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidRequestError(400, "the body must be JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequestError(400, "the body must be a JSON object")
    return body


def payment_request(body: dict[str, Any]) -> PaymentRequest:
    """The validated request, or InvalidRequestError(422) naming every bad field."""
    problems: dict[str, str] = {}
    currency = body.get("currency")
    if currency is None and "currency" not in body:
        problems["currency"] = "is required"
    elif not isinstance(currency, str) or currency not in CURRENCIES:
        problems["currency"] = "must be a supported ISO 4217 code such as USD or EUR"
        currency = None
    amount = _amount(body.get("amount", _MISSING), CURRENCIES.get(currency or "", 2), problems)
    token = body.get("card_token")
    if token is None and "card_token" not in body:
        problems["card_token"] = "is required"
    elif isinstance(token, str) and _TOKEN.fullmatch(token):
        pass  # a token ("tok_" first) is never also a card number: the one check a valid payment needs
    elif isinstance(token, str) and _CARD_NUMBER.fullmatch(token) and sum(c.isdigit() for c in token) >= 12:
        problems["card_token"] = "must be a card token (tok_...), never a card number"
    else:
        problems["card_token"] = "must be a card token: tok_ then 16-64 letters or digits"
    for name in sorted(body.keys() - _FIELD_NAMES):
        problems[name] = "is not a field of a payment"
    if problems or amount is None or currency is None or not isinstance(token, str):
        raise InvalidRequestError(422, "the payment is invalid", problems)
    return PaymentRequest(amount, currency, token)


_MISSING = object()


def _amount(value: object, places: int, problems: dict[str, str]) -> Decimal | None:
    if value is _MISSING:
        problems["amount"] = "is required"
        return None
    if not isinstance(value, str):
        problems["amount"] = 'must be a decimal string such as "12.50" (not a JSON number)'
        return None
    canonical = _CANONICAL_AMOUNT.fullmatch(value)
    if canonical is None:
        problems["amount"] = (
            f'must be a canonical decimal string such as "12.50", got {value[:40]!r}: ASCII digits '
            "and an optional decimal point; no sign, exponent, spaces, underscores or leading zeros"
        )
        return None
    decimals = canonical.group(1) or ""
    amount = Decimal(value)
    if len(decimals) > places:
        problems["amount"] = f"has more than {places} decimal places for this currency"
    elif amount <= 0:
        problems["amount"] = "must be greater than 0"
    elif amount > MAX_AMOUNT:
        problems["amount"] = f"must be at most {MAX_AMOUNT}"
    else:
        return amount
    return None
