"""Secrets read at run time through AWS's caching library, against moto's Secrets Manager."""

from __future__ import annotations

import asyncio

import boto3
import pytest
from aws_secretsmanager_caching.cache.items import SecretCacheObject
from moto import mock_aws

from apps.common.runtime_secrets import RuntimeSecrets, aws_secret_cache
from localrun.local import LocalStack, free_port, running

REGION = "us-east-1"


@pytest.fixture
def secretsmanager(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", raising=False)
    # The library sleeps 2.5-5 s before a forced refresh so that many tasks do not call at once.
    monkeypatch.setattr(SecretCacheObject, "FORCE_REFRESH_JITTER_SLEEP", 0)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


def test_the_library_reads_awscurrent_with_describe_secret_then_get_secret_value(secretsmanager):
    arn = secretsmanager.create_secret(Name="secret-fraudScoringApiKey-dev", SecretString="v1")["ARN"]
    cache = aws_secret_cache(300)
    called: list[str] = []
    cache._client.meta.events.register(  # what the task role must allow (stacks/services/iam.py)
        "before-call.secrets-manager.*", lambda model, **_: called.append(model.name)
    )
    assert cache.get_secret_string(arn) == "v1"
    assert called == ["DescribeSecret", "GetSecretValue"]
    assert cache.get_secret_string(arn) == "v1"
    assert called == ["DescribeSecret", "GetSecretValue"]  # within the TTL: no call at all


def test_a_rotated_value_is_served_after_a_forced_refresh_and_not_before(secretsmanager):
    arn = secretsmanager.create_secret(Name="secret-databaseConnection-dev", SecretString="old")["ARN"]
    secrets = RuntimeSecrets({"DATABASE_CONNECTION": arn}, 300, aws_secret_cache(300))

    async def scenario() -> tuple[str, str, bool, str]:
        before = await secrets.get("DATABASE_CONNECTION")
        secretsmanager.put_secret_value(SecretId=arn, SecretString="new")  # AWSCURRENT moves
        cached = await secrets.get("DATABASE_CONNECTION")
        refreshed = await secrets.refresh_now("DATABASE_CONNECTION")
        return before, cached, refreshed, await secrets.get("DATABASE_CONNECTION")

    assert asyncio.run(scenario()) == ("old", "old", True, "new")


def test_a_service_that_cannot_read_one_of_its_secrets_does_not_start(backing):
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:secret-paymentProviderApiKey-gone-AbCdEf"
    stack = LocalStack(
        {"api-gateway": free_port(), "payment-processor": free_port(), "fraud-detector": free_port()},
        backing,
        skip=frozenset({"api-gateway", "fraud-detector"}),
        extra_env={"payment-processor": {"PAYMENT_PROVIDER_API_KEY_SECRET_ARN": missing}},
    )
    with pytest.raises(RuntimeError, match="payment-processor exited with 3 while starting"), running(stack):
        pass
