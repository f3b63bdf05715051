"""The pieces without a process: fraud rules, the secret cache, settings from env."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from decimal import Decimal

import pytest

from apps.common.payments import PaymentRequest
from apps.common.runtime_config import RuntimeConfig, RuntimeConfigError
from apps.common.runtime_secrets import RuntimeSecrets, SecretUnavailableError
from apps.fraud_detector.app import CardRefs
from apps.fraud_detector.scoring_rules import score
from apps.payment_processor.app import decline_threshold
from tests.apps.conftest import FakeSecrets

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


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


FRAUD = "FRAUD_SCORING_API_KEY_SECRET_ARN"
ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:secret-fraud-AbCdEf"


def test_the_card_reference_is_the_tokens_hmac_under_the_current_scoring_key():
    refs = CardRefs()
    # A rotated key is set up again, a key longer than SHA-256's block is hashed first (RFC 2104).
    for key in ["scoring-key-1", "scoring-key-1", "scoring-key-2", "k" * 65, "scoring-key-1"]:
        expected = hmac.new(key.encode(), TOKEN.encode(), hashlib.sha256).hexdigest()[:16]
        assert refs.ref(key, TOKEN) == expected
    assert refs.ref("scoring-key-1", TOKEN) != refs.ref("scoring-key-2", TOKEN)
    assert refs.ref("scoring-key-1", TOKEN) != refs.ref("scoring-key-1", TOKEN[:-1] + "3")


def test_a_secret_is_served_from_memory_within_the_ttl_and_read_again_after_it():
    source, clock = FakeSecrets({ARN: "v1"}), Clock()
    secrets = RuntimeSecrets({"KEY": ARN}, 300, source, clock=clock)

    async def read() -> str:
        return await secrets.get("KEY")

    assert asyncio.run(read()) == "v1"
    source.values[ARN] = "v2"
    clock.now += 299
    assert (asyncio.run(read()), source.reads) == ("v1", 1)
    clock.now += 2
    assert (asyncio.run(read()), source.reads) == ("v2", 2)


def test_a_forced_refresh_is_shared_by_concurrent_callers_and_rate_limited():
    source, clock = FakeSecrets({ARN: "old"}), Clock()
    source.next = {ARN: "new"}
    secrets = RuntimeSecrets({"KEY": ARN}, 300, source, clock=clock, forced_refresh_interval_seconds=5)

    async def burst() -> list[bool]:
        await secrets.get("KEY")
        return list(await asyncio.gather(*(secrets.refresh_now("KEY") for _ in range(5))))

    assert all(asyncio.run(burst()))
    assert source.refreshes == 1
    assert secrets.get_blocking("KEY") == "new"
    clock.now += 1
    assert asyncio.run(secrets.refresh_now("KEY")) is False  # too soon: the caller must not loop
    clock.now += 5
    assert asyncio.run(secrets.refresh_now("KEY")) is True
    assert source.refreshes == 2


def test_an_unreachable_secrets_manager_keeps_the_last_value_and_fails_a_first_read():
    class Down(FakeSecrets):
        def get_secret_string(self, secret_id, version_stage=None):
            raise ConnectionError("no route to Secrets Manager")

    clock = Clock()
    secrets = RuntimeSecrets({"KEY": ARN}, 300, FakeSecrets({ARN: "v1"}), clock=clock)
    assert secrets.get_blocking("KEY") == "v1"
    secrets._source = Down({})
    clock.now += 301
    assert secrets.get_blocking("KEY") == "v1"
    cold = RuntimeSecrets({"KEY": ARN}, 300, Down({}))
    with pytest.raises(SecretUnavailableError, match=r"cannot read KEY \(arn:aws:secretsmanager:.*no route"):
        cold.get_blocking("KEY")
    with pytest.raises(SecretUnavailableError, match="OTHER is not one of this service's secrets"):
        cold.get_blocking("OTHER")


def test_settings_fail_fast_naming_the_missing_variable():
    with pytest.raises(RuntimeConfigError, match="FRAUD_DETECTOR_URL must be set"):
        RuntimeConfig.from_env("payment-processor", {"PORT": "8080"})
    with pytest.raises(RuntimeConfigError, match="FRAUD_SCORING_API_KEY_SECRET_ARN must be set"):
        RuntimeConfig.from_env("fraud-detector", {})
    with pytest.raises(
        RuntimeConfigError, match="FRAUD_SCORING_API_KEY_SECRET_ARN must be a Secrets Manager secret ARN"
    ):
        RuntimeConfig.from_env("fraud-detector", {FRAUD: "the-key-itself"})
    with pytest.raises(
        RuntimeConfigError, match="SECRET_CACHE_TTL_SECONDS must be a whole number from 1 to 3600, got '0'"
    ):
        RuntimeConfig.from_env("fraud-detector", {FRAUD: ARN, "SECRET_CACHE_TTL_SECONDS": "0"})
    with pytest.raises(RuntimeConfigError, match="PORT must be a whole number"):
        RuntimeConfig.from_env("fraud-detector", {"PORT": "http", FRAUD: ARN})
    with pytest.raises(RuntimeConfigError, match="SERVICE_NAME is 'api-gateway' but this is fraud-detector"):
        RuntimeConfig.from_env("fraud-detector", {"SERVICE_NAME": "api-gateway", FRAUD: ARN})
    with pytest.raises(RuntimeConfigError, match="DOWNSTREAM_TIMEOUT_SECONDS must be positive"):
        RuntimeConfig.from_env("fraud-detector", {FRAUD: ARN, "DOWNSTREAM_TIMEOUT_SECONDS": "0"})
    with pytest.raises(RuntimeConfigError, match="FRAUD_DECLINE_THRESHOLD must be 1-100"):
        decline_threshold({"FRAUD_DECLINE_THRESHOLD": "0"})
