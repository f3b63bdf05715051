"""Bad input gets 400 (unreadable) or 422 (readable but wrong) with a body naming the field."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from apps.common.payments import InvalidRequestError, payment_request
from tests.apps.conftest import post

GOOD = {"amount": "12.50", "currency": "USD", "card_token": "tok_4242424242424242"}
MISSING = object()  # the field is left out of the body


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"amount": MISSING}, "amount", "is required"),
        ({"amount": None}, "amount", "decimal string"),
        ({"amount": 12.5}, "amount", "not a JSON number"),
        ({"amount": "twelve"}, "amount", "canonical decimal string"),
        ({"amount": "0"}, "amount", "greater than 0"),
        ({"amount": "0.00"}, "amount", "greater than 0"),
        ({"amount": "-5.00"}, "amount", "no sign"),
        ({"amount": "NaN"}, "amount", "canonical decimal string"),
        ({"amount": "1.234"}, "amount", "more than 2 decimal places"),
        ({"amount": "1000000.01"}, "amount", "at most 1000000"),
        ({"currency": MISSING}, "currency", "is required"),
        ({"currency": None}, "currency", "ISO 4217"),
        ({"currency": "usd"}, "currency", "ISO 4217"),
        ({"currency": "XXX"}, "currency", "ISO 4217"),
        ({"card_token": MISSING}, "card_token", "is required"),
        ({"card_token": None}, "card_token", "tok_ then 16-64"),
        ({"card_token": "tok_short"}, "card_token", "tok_ then 16-64"),
        ({"card_token": "4242 4242 4242 4242"}, "card_token", "never a card number"),
        ({"tip": "1.00"}, "tip", "not a field of a payment"),
    ],
)
def test_each_bad_field_is_a_422_naming_it(stack, change, field, message):
    body = {k: v for k, v in {**GOOD, **change}.items() if v is not MISSING}
    answer = post(f"{stack.url('api-gateway')}/payments", body, {"Idempotency-Key": uuid.uuid4().hex})
    assert answer.status == 422
    assert answer.body["error"] == "invalid_request"
    assert message in answer.body["fields"][field]


@pytest.mark.parametrize(
    ("raw", "headers", "message"),
    [
        (b"{not json", {"Idempotency-Key": "order-00001"}, "the body must be JSON"),
        (b"[1, 2]", {"Idempotency-Key": "order-00001"}, "must be a JSON object"),
        (b'{"amount": "1.00"}', {}, "Idempotency-Key header is required"),
        (b'{"amount": "1.00"}', {"Idempotency-Key": "short"}, "8-255 characters"),
    ],
)
def test_unreadable_requests_are_400(stack, raw, headers, message):
    answer = post(f"{stack.url('api-gateway')}/payments", raw, headers)
    assert answer.status == 400
    assert message in answer.body["message"]


def test_payment_processor_validates_too(stack):
    answer = post(
        f"{stack.url('payment-processor')}/payments", {**GOOD, "amount": "0"}, {"Idempotency-Key": "x" * 8}
    )
    assert answer.status == 422


def test_minor_units_follow_the_currency():
    assert payment_request({**GOOD, "currency": "JPY", "amount": "500"}).amount == Decimal(500)
    assert payment_request({**GOOD, "currency": "BHD", "amount": "1.125"}).amount == Decimal("1.125")
    with pytest.raises(InvalidRequestError) as caught:
        payment_request({**GOOD, "currency": "JPY", "amount": "1.5"})
    assert "more than 0 decimal places" in caught.value.fields["amount"]


def test_every_problem_is_reported_at_once():
    with pytest.raises(InvalidRequestError) as caught:
        payment_request({"amount": "-1", "currency": "ABC", "card_token": "x"})
    assert set(caught.value.fields) == {"amount", "currency", "card_token"}


# Amounts today's main approved (and echoed as "1E+3"), or, for "012.50", replayed as "12.50".
NOT_CANONICAL = [
    "1e3",
    "1E2",
    "1_000",
    " 12.50",
    "12.50 ",
    "0012.50",
    "012.50",
    "\uff11\uff12.\uff15\uff10",
    "+12.50",
    "12.",
    ".5",
]


@pytest.mark.parametrize("amount", NOT_CANONICAL)
def test_a_non_canonical_amount_is_a_422_naming_the_amount(stack, amount):
    answer = post(
        f"{stack.url('api-gateway')}/payments",
        {**GOOD, "amount": amount},
        {"Idempotency-Key": uuid.uuid4().hex},
    )
    assert answer.status == 422
    assert set(answer.body["fields"]) == {"amount"}
    assert "canonical decimal string" in answer.body["fields"]["amount"]


def test_a_leading_zero_does_not_replay_the_payment_of_the_same_key(stack):
    key = uuid.uuid4().hex
    first = post(f"{stack.url('api-gateway')}/payments", GOOD, {"Idempotency-Key": key})
    assert first.status == 201
    again = post(
        f"{stack.url('api-gateway')}/payments", {**GOOD, "amount": "012.50"}, {"Idempotency-Key": key}
    )
    assert again.status == 422


def test_the_amount_is_echoed_with_the_currency_minor_unit(stack):
    answer = post(
        f"{stack.url('api-gateway')}/payments",
        {**GOOD, "amount": "12.5"},
        {"Idempotency-Key": uuid.uuid4().hex},
    )
    assert answer.status == 201
    assert answer.body["amount"] == "12.50"
