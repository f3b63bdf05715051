"""The emulated Secrets Manager: moto's server in this process, reached with the AWS SDK's own settings."""

from __future__ import annotations

import os

import botocore.session
import pytest

from localrun.local_secrets import ENDPOINT_ENV, running_secrets_manager

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:lambda-secret-rotation-local"


def test_an_aws_sdk_given_only_client_env_reaches_the_emulation(monkeypatch):
    with running_secrets_manager() as manager:
        for name in list(os.environ):
            if name.startswith("AWS_"):
                monkeypatch.delenv(name)
        for name, value in manager.client_env().items():
            monkeypatch.setenv(name, value)
        arn = manager.create("secret-sdk-settings-local", "value")
        client = botocore.session.Session().create_client("secretsmanager")  # botocore's own resolution
        assert client.meta.endpoint_url == manager.endpoint
        assert client.get_secret_value(SecretId=arn)["SecretString"] == "value"


def test_botocore_ignores_the_endpoint_variable_without_the_underscore(monkeypatch):
    """Why ENDPOINT_ENV is spelled SECRETS_MANAGER: the other spelling silently reaches AWS itself."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETSMANAGER", "http://127.0.0.1:9")
    monkeypatch.delenv(ENDPOINT_ENV, raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    client = botocore.session.Session().create_client("secretsmanager", region_name="us-east-1")
    assert client.meta.endpoint_url == "https://secretsmanager.us-east-1.amazonaws.com"


def test_a_rotation_cannot_begin_while_another_is_in_progress():
    with running_secrets_manager() as manager:
        arn = manager.create("secret-in-progress-local", "value")
        token = manager.begin_rotation(arn, FUNCTION)
        stages = manager.client().describe_secret(SecretId=arn)["VersionIdsToStages"]
        assert stages[token] == ["AWSPENDING"]  # what a rotation function's createSecret expects
        with pytest.raises(RuntimeError, match="still in progress"):
            manager.begin_rotation(arn, FUNCTION)
    with running_secrets_manager() as again:  # the name is free again: the first run deleted its secret
        again.create("secret-in-progress-local", "value")


def test_after_a_rotation_the_secret_without_a_stage_is_the_awscurrent_value():
    """The emulation answers as AWS does, where moto alone would still answer the old value."""
    with running_secrets_manager() as manager:
        arn = manager.create("secret-default-version-local", "old")
        client = manager.client()
        token = manager.begin_rotation(arn, FUNCTION)
        client.put_secret_value(
            SecretId=arn, ClientRequestToken=token, SecretString="new", VersionStages=["AWSPENDING"]
        )
        current = next(
            v
            for v, s in client.describe_secret(SecretId=arn)["VersionIdsToStages"].items()
            if "AWSCURRENT" in s
        )
        client.update_secret_version_stage(
            SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current
        )
        manager.end_rotation(arn)
        assert client.get_secret_value(SecretId=arn)["SecretString"] == "new"
