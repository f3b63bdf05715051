"""The pieces without a process: fraud rules, the idempotency ledger, settings from env."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from apps.common.payments import PaymentRequest
from apps.common.settings import ServiceSettings, SettingsError
from apps.fraud_detector.rules import score
from apps.payment_processor.app import decline_threshold
from apps.payment_processor.ledger import KeyReusedError, Ledger

TOKEN = "tok_4242424242424242"


@pytest.mark.parametrize(
    ("amount", "currency", "token", "expected", "reasons"),
    [
        ("12.50", "USD", TOKEN, 0, ()),
        ("10000", "USD", TOKEN, 75, ("very_high_amount", "round_amount")),
        ("9000", "EUR", TOKEN, 40, ("high_amount", "round_amount")),
        ("1500.00", "CHF", TOKEN, 35, ("high_amount", "foreign_currency")),
        ("1.00", "USD", "tok_blocked000000000000", 100, ("blocked_token",)),
        (
            "50000",
            "JPY",
            "tok_test0000000000000",
            90,
            ("very_high_amount", "round_amount", "foreign_currency", "test_token"),
        ),
    ],
)
def test_fraud_rules_are_deterministic_and_documented(amount, currency, token, expected, reasons):
    payment = PaymentRequest(Decimal(amount), currency, token)
    result = score(payment)
    assert (result.value, result.reasons) == (expected, reasons)
    assert score(payment) == result


def test_the_ledger_processes_a_key_once_even_under_concurrent_retries():
    ledger = Ledger()
    calls = 0

    async def process():
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return {"n": calls}

    async def main():
        return await asyncio.gather(*(ledger.once("k", "f", process) for _ in range(5)))

    outcomes = asyncio.run(main())
    assert calls == 1
    assert [o.replayed for o in outcomes] == [False, True, True, True, True]
    assert {o.result["n"] for o in outcomes} == {1}


def test_the_ledger_refuses_a_key_reused_for_another_request_and_forgets_failures():
    ledger = Ledger(max_entries=2)

    async def fail():
        raise RuntimeError("fraud-detector down")

    async def ok():
        return {"status": "approved"}

    async def main():
        with pytest.raises(RuntimeError):
            await ledger.once("k", "f", fail)
        assert (await ledger.once("k", "f", ok)).replayed is False  # the failure was not stored
        with pytest.raises(KeyReusedError):
            await ledger.once("k", "other", ok)
        await ledger.once("k2", "f", ok)
        await ledger.once("k3", "f", ok)
        assert (await ledger.once("k", "f", ok)).replayed is False  # the oldest key was evicted

    asyncio.run(main())


def test_settings_fail_fast_naming_the_missing_variable():
    with pytest.raises(SettingsError, match="FRAUD_DETECTOR_URL must be set"):
        ServiceSettings.from_env("payment-processor", {"PORT": "8080"})
    with pytest.raises(SettingsError, match="FRAUD_SCORING_API_KEY must be set"):
        ServiceSettings.from_env("fraud-detector", {})
    with pytest.raises(SettingsError, match="PORT must be a whole number"):
        ServiceSettings.from_env("fraud-detector", {"PORT": "http", "FRAUD_SCORING_API_KEY": "k"})
    with pytest.raises(SettingsError, match="SERVICE_NAME is 'api-gateway' but this is fraud-detector"):
        ServiceSettings.from_env(
            "fraud-detector", {"SERVICE_NAME": "api-gateway", "FRAUD_SCORING_API_KEY": "k"}
        )
    with pytest.raises(SettingsError, match="DOWNSTREAM_TIMEOUT_SECONDS must be positive"):
        ServiceSettings.from_env(
            "fraud-detector", {"FRAUD_SCORING_API_KEY": "k", "DOWNSTREAM_TIMEOUT_SECONDS": "0"}
        )
    with pytest.raises(SettingsError, match="FRAUD_DECLINE_THRESHOLD must be 1-100"):
        decline_threshold({"FRAUD_DECLINE_THRESHOLD": "0"})
