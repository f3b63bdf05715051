"""Fixtures for the Lambda functions: moto's Secrets Manager and a real PostgreSQL."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

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
    for name in ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "ALARM_TOPIC_ARN", "ROTATION_STRATEGIES"):
        monkeypatch.delenv(name, raising=False)
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


def stage_as_operator(client, secret_id: str, value: str) -> str:
    """What an operator's put-secret-value --version-stages AWSPENDING leaves for the next rotation.

    Secrets Manager then runs the rotation with that version (a rotation "still in progress", RotateSecret
    API reference); the tests call the steps with its id as the token.
    """
    token = start_rotation(client, secret_id)
    client.put_secret_value(
        SecretId=secret_id, ClientRequestToken=token, SecretString=value, VersionStages=["AWSPENDING"]
    )
    return token


@dataclass(frozen=True)
class AlarmTopic:
    """The alarm topic, with an SQS queue subscribed to read what the function published."""

    arn: str
    sqs: object
    queue_url: str

    def messages(self) -> list[dict[str, str]]:
        received = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)  # type: ignore[attr-defined]
        return [json.loads(message["Body"]) for message in received.get("Messages", [])]


@pytest.fixture
def alarm_topic(secretsmanager, monkeypatch) -> AlarmTopic:
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="topic-alarms-dev")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="alarms-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("ALARM_TOPIC_ARN", topic)
    return AlarmTopic(arn=topic, sqs=sqs, queue_url=queue_url)


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
