"""Property-based tests of the amount parser: what it accepts is canonical, what it refuses names `amount`.

The oracle is independent of the parser's regular expression: an accepted amount's echo must be the
input itself, padded only with zeros (and a decimal point) up to the currency's minor unit, and its
value must equal the input's value read by `Decimal`. The minor units themselves are checked
against the `iso4217` package's copy of the ISO 4217 list.
"""

from __future__ import annotations

from decimal import Decimal

import iso4217
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from apps.common.payments import CURRENCIES, MAX_AMOUNT, InvalidRequestError, payment_request

TOKEN = "tok_4242424242424242"
CODES = sorted(CURRENCIES)


def parse(amount: object, currency: str = "USD") -> str | None:
    """The echoed amount, or None when refused (and then the refusal names only `amount`)."""
    body = {"amount": amount, "currency": currency, "card_token": TOKEN}
    refused: InvalidRequestError | None = None
    try:
        return payment_request(body).as_json()["amount"]
    except InvalidRequestError as caught:
        refused = caught
    assert refused.status == 422
    assert set(refused.fields) == {"amount"}
    return None


@pytest.mark.parametrize("code", CODES)
def test_each_currency_minor_unit_is_iso_4217s(code):
    assert CURRENCIES[code] == iso4217.Currency(code).exponent


@given(
    whole=st.integers(min_value=0, max_value=int(MAX_AMOUNT) - 1),
    fraction=st.text(alphabet="0123456789", max_size=3),
    currency=st.sampled_from(CODES),
)
def test_a_canonical_amount_is_accepted_and_echoed_with_the_minor_unit(whole, fraction, currency):
    places = CURRENCIES[currency]
    text = f"{whole}.{fraction}" if fraction else str(whole)
    echoed = parse(text, currency)
    if len(fraction) > places or Decimal(text) == 0:
        assert echoed is None
        return
    assert echoed is not None
    assert Decimal(echoed) == Decimal(text)
    assert len(echoed.partition(".")[2]) == places


@given(text=st.text(max_size=12), currency=st.sampled_from(CODES))
@example(text="1e3", currency="USD")
@example(text="1_000", currency="USD")
@example(text="\uff10\uff11\uff12", currency="JPY")
@example(text=" 12", currency="USD")
@example(text="0012.50", currency="USD")
def test_whatever_is_accepted_is_its_echo_padded_with_zeros(text, currency):
    echoed = parse(text, currency)
    if echoed is None:
        return
    assert echoed.startswith(text)
    assert set(echoed[len(text) :]) <= {".", "0"}
    assert text.isascii()
    assert text[0] != "."
    assert not (text.startswith("0") and text[1:2].isdigit())
    assert Decimal(echoed) == Decimal(text)
    assert 0 < Decimal(text) <= MAX_AMOUNT


@given(
    amount=st.decimals(min_value=Decimal("0.01"), max_value=MAX_AMOUNT, places=2),
    noise=st.sampled_from([" ", "_", "+", "0", "e0", "\n", "\u00a0", "\u066b"]),
    at_start=st.booleans(),
)
def test_a_canonical_amount_with_noise_added_is_refused(amount, noise, at_start):
    text = f"{amount:.2f}"
    noisy = noise + text if at_start else text + noise
    if noise == "0" and not at_start:
        return  # "12.500" is a different, valid spelling only in three-decimal currencies
    assert parse(noisy) is None


@given(amount=st.decimals(min_value=Decimal("0.01"), max_value=MAX_AMOUNT, places=2))
def test_spellings_of_one_amount_share_one_fingerprint(amount):
    short = format(amount.normalize(), "f")
    request = {"currency": "USD", "card_token": TOKEN}
    one = payment_request({**request, "amount": f"{amount:.2f}"})
    other = payment_request({**request, "amount": short})
    assert one.fingerprint() == other.fingerprint()
