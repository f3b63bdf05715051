"""Fixtures for the Lambda functions: moto's Secrets Manager and a real PostgreSQL."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.secretsmanager.models import secretsmanager_backends

from tests.functions.postgres_server import Server, find_bin_dir, running_server

REGION = "us-east-1"


@pytest.fixture
def secretsmanager(monkeypatch) -> Iterator[object]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SECRETS_MANAGER_ENDPOINT", raising=False)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


def start_rotation(client, secret_id: str) -> str:
    """Do what Secrets Manager does when a rotation starts: add an empty AWSPENDING version.

    moto's RotateSecret runs the rotation itself when no Lambda is registered, so the tests set up
    the state a real rotation function sees on its first call, and then call the function's steps.
    """
    backend = secretsmanager_backends[DEFAULT_ACCOUNT_ID][REGION]
    arn = client.describe_secret(SecretId=secret_id)["ARN"]
    secret = backend.secrets[arn]
    token = str(uuid.uuid4())
    for version in secret.versions.values():
        if "AWSPENDING" in version["version_stages"]:
            version["version_stages"].remove("AWSPENDING")
    secret.versions[token] = {
        "createdate": int(time.time()),
        "version_id": token,
        "version_stages": ["AWSPENDING"],
    }
    secret.rotation_requested = True
    secret.rotation_enabled = True
    secret.rotation_lambda_arn = (
        f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT_ID}:function:lambda-secret-rotation-dev"
    )
    return token


def disable_rotation(client, secret_id: str) -> None:
    backend = secretsmanager_backends[DEFAULT_ACCOUNT_ID][REGION]
    backend.secrets[client.describe_secret(SecretId=secret_id)["ARN"]].rotation_enabled = False


@pytest.fixture(scope="session")
def postgres() -> Iterator[Server]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        message = "PostgreSQL is not installed (apt-get install postgresql); .ci/run installs it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with running_server(bin_dir) as server:
        yield server
