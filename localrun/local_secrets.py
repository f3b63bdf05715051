"""An emulated Secrets Manager for local runs and tests: moto's server on 127.0.0.1, in this process.

`running_secrets_manager()` starts moto's `ThreadedMotoServer` on a free loopback port. Clients in
other processes (the services) reach it through the AWS SDKs' standard `AWS_ENDPOINT_URL_SECRETS_MANAGER`
and dummy credentials (`client_env()`); nothing project-specific. Its state lives in this process,
so `begin_rotation()` can do what Secrets Manager itself does when a rotation starts: moto's own
RotateSecret would invoke a Lambda function (Docker) or rotate nothing, so the AWSPENDING version a
rotation function expects is added to moto's backend directly, as the real service does before it
calls the function's createSecret step (Secrets Manager user guide, "Rotation by Lambda function":
https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto.secretsmanager.models import FakeSecret, secretsmanager_backends
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
HOST = "127.0.0.1"
# moto accepts any credentials; these only keep botocore from looking for real ones.
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local-only",
    "AWS_SECRET_ACCESS_KEY": "local-only",
    "AWS_DEFAULT_REGION": REGION,
}
# The AWS SDKs' service-specific endpoint variable: AWS_ENDPOINT_URL_ plus the serviceId ("Secrets
# Manager") in upper case with underscores, so SECRETS_MANAGER, not SECRETSMANAGER (AWS SDKs and Tools
# Reference Guide, https://docs.aws.amazon.com/sdkref/latest/guide/ss-endpoints-table.html; botocore's
# configprovider.ConfiguredEndpointProvider). botocore silently ignores the other spelling.
ENDPOINT_ENV = "AWS_ENDPOINT_URL_SECRETS_MANAGER"
PENDING, CURRENT = "AWSPENDING", "AWSCURRENT"


@dataclass(frozen=True)
class LocalSecretsManager:
    """Where the emulated Secrets Manager listens, how to reach it, and the secrets made through it."""

    endpoint: str
    created: list[str] = field(default_factory=list)  # ARNs, deleted when the server stops

    def client_env(self) -> dict[str, str]:
        """What a process needs to reach this endpoint with the standard AWS SDK settings."""
        return {ENDPOINT_ENV: self.endpoint, **DUMMY_CREDENTIALS}

    def client(self) -> Any:
        return boto3.client(
            "secretsmanager",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def create(self, name: str, value: str, description: str = "", tags: Mapping[str, str] = {}) -> str:
        """A secret with `value` as its AWSCURRENT version; returns its ARN."""
        created = self.client().create_secret(
            Name=name,
            Description=description,
            SecretString=value,
            Tags=[{"Key": key, "Value": tag} for key, tag in tags.items()],
        )
        self.created.append(str(created["ARN"]))
        return str(created["ARN"])

    def begin_rotation(self, secret_arn: str, rotation_lambda_arn: str) -> str:
        """What Secrets Manager does when a rotation starts: an empty AWSPENDING version, rotation on.

        Returns the new version id, the `ClientRequestToken` of the four steps. Refuses while another
        rotation is still in progress (an AWSPENDING version other than AWSCURRENT), as RotateSecret does.
        """
        secret = _backend_secret(secret_arn)
        for version in secret.versions.values():
            stages = version["version_stages"]
            if PENDING in stages and CURRENT not in stages:
                raise RuntimeError(f"a rotation of {secret_arn} is still in progress (AWSPENDING is set)")
        token = str(uuid.uuid4())
        for version in secret.versions.values():
            if PENDING in version["version_stages"]:
                version["version_stages"].remove(PENDING)
        secret.versions[token] = {
            "createdate": int(time.time()),
            "version_id": token,
            "version_stages": [PENDING],
        }
        secret.rotation_requested = True
        secret.rotation_enabled = True
        secret.rotation_lambda_arn = rotation_lambda_arn
        return token

    def end_rotation(self, secret_arn: str) -> None:
        """Make GetSecretValue without a stage or version answer AWSCURRENT again, as AWS does.

        moto 5.2's UpdateSecretVersionStage moves the AWSCURRENT label but not the version moto
        answers by default, so a client asking for "the secret" would still get the old value. AWS:
        "If you don't specify either a VersionStage or VersionId, Secrets Manager returns the
        AWSCURRENT version" (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html).
        """
        secret = _backend_secret(secret_arn)
        current = next(v for v, version in secret.versions.items() if CURRENT in version["version_stages"])
        secret.set_default_version_id(current)


def _backend_secret(secret_arn: str) -> FakeSecret:
    """The secret as moto's backend holds it (the server runs in this process)."""
    account = secret_arn.split(":")[4]
    secret = secretsmanager_backends[account][REGION].secrets[secret_arn]
    if not isinstance(secret, FakeSecret):
        raise TypeError(f"{secret_arn} is a replica; rotation runs on the primary secret")
    return secret


@contextmanager
def running_secrets_manager() -> Iterator[LocalSecretsManager]:
    """moto's server on a free port of 127.0.0.1 (port 0: the kernel picks it, no race)."""
    # werkzeug logs every request at INFO on stderr: noise in a terminal already showing the services' logs.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    manager = LocalSecretsManager(f"http://{host}:{port}")
    try:
        yield manager
    finally:
        # moto's state belongs to the process, not to the server: delete what this run made, so a
        # later run in the same process (a test session) can make secrets of the same names again.
        client = manager.client()
        for arn in manager.created:
            client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
        server.stop()
