"""Secrets Manager's rotation protocol: createSecret, setSecret, testSecret, finishSecret.

Secrets Manager calls the function once per step with the same `ClientRequestToken`, and retries a
step that failed; every step is therefore idempotent. The new value lives under the AWSPENDING label
until finishSecret moves AWSCURRENT to it (Secrets Manager then labels the old one AWSPREVIOUS).
Until then nothing a running task reads changes, so a failed testSecret leaves AWSCURRENT untouched.
See the Secrets Manager user guide, "Lambda rotation functions".
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import boto3

from .bootstrap import bootstrap_database, is_bootstrap, requested_extensions
from .errors import ManualRotationError, RotationError
from .operator_messages import Notifier
from .strategies import Strategy, strategy_for

CURRENT = "AWSCURRENT"
PENDING = "AWSPENDING"
PREVIOUS = "AWSPREVIOUS"
# Secrets Manager's step names, in the order it calls them, and the method that performs each.
STEPS = {
    "createSecret": "create_secret",
    "setSecret": "set_secret",
    "testSecret": "test_secret",
    "finishSecret": "finish_secret",
}

logger = logging.getLogger("secret_rotation")
logger.setLevel(logging.INFO)


def handler(event: dict[str, Any], context: object) -> dict[str, object] | None:
    """Lambda entry point.

    `{"SecretId", "ClientRequestToken", "Step"}` from Secrets Manager runs one rotation step;
    `{"Action": "bootstrapDatabase", "SecretId"[, "Extensions"]}` from the platform layer prepares the
    database (`Extensions: ["pgaudit"]` with `complianceProfile: pci`).
    The endpoint is the SDK's own choice: the regional one in Lambda (through the VPC's interface
    endpoint when the network layer has one, its private DNS answering for the same name), and
    botocore's standard AWS_ENDPOINT_URL_SECRETS_MANAGER in local runs and tests.
    """
    client = boto3.client("secretsmanager")
    if is_bootstrap(event):
        created = bootstrap_database(client, event["SecretId"], requested_extensions(event))
        _log("database bootstrapped", secret=event["SecretId"], created=", ".join(created))
        return {"status": "ok", "created": created}
    Rotation(client, event["SecretId"], event["ClientRequestToken"]).run(event["Step"])
    return None


class Rotation:
    """One rotation of one secret, identified by the version id Secrets Manager chose (the token)."""

    def __init__(self, client: Any, secret_id: str, token: str) -> None:
        self.client = client
        self.secret_id = secret_id
        self.token = token
        self.name = secret_id  # the secret's name, once DescribeSecret has told it

    def run(self, step: str) -> None:
        if step not in STEPS:
            raise RotationError(f"unknown step {step!r}; expected one of {', '.join(STEPS)}")
        # testSecret only reads. It is also the step Secrets Manager runs while rotation is being
        # configured with RotateImmediately=false, so it must not depend on RotationEnabled.
        stages = self._stages_of_token(require_enabled=step != "testSecret")
        if CURRENT in stages:
            _log("already current, nothing to do", step=step, secret=self.secret_id)
            return
        if PENDING not in stages:
            raise RotationError(f"version {self.token} of {self.secret_id} is not AWSPENDING")
        getattr(self, STEPS[step])()
        _log("step done", step=step, secret=self.secret_id)

    def create_secret(self) -> None:
        current = self._value(CURRENT)
        if self._pending_value() is not None:
            return  # a retry, or a value an operator staged: keep it
        strategy = self._strategy(current)
        previous = self._optional_value(PREVIOUS)
        if previous is not None:
            self._retire(lambda: strategy.retire(previous, current))  # one that failed last time
        try:
            new_value = strategy.create(current)
        except ManualRotationError:
            # AWSPENDING on a version without a value would make every later RotateSecret fail
            # (RotateSecret API reference); take it off so the operator's rotation can start.
            self.client.update_secret_version_stage(
                SecretId=self.secret_id, VersionStage=PENDING, RemoveFromVersionId=self.token
            )
            raise
        self.client.put_secret_value(
            SecretId=self.secret_id,
            ClientRequestToken=self.token,
            SecretString=new_value,
            VersionStages=[PENDING],
        )

    def set_secret(self) -> None:
        pending = self._required_pending()
        current = self._value(CURRENT)
        self._strategy(current).set(pending, current, self._optional_value(PREVIOUS))

    def test_secret(self) -> None:
        pending = self._required_pending()
        self._strategy(pending).test(pending)

    def finish_secret(self) -> None:
        self._required_pending()  # never point AWSCURRENT at a version without a value
        versions = self._describe().get("VersionIdsToStages", {})
        current_version = next((v for v, stages in versions.items() if CURRENT in stages), None)
        if current_version != self.token:
            self.client.update_secret_version_stage(
                SecretId=self.secret_id,
                VersionStage=CURRENT,
                MoveToVersionId=self.token,
                RemoveFromVersionId=current_version,
            )
        # Leave no AWSPENDING behind, so the next rotation starts from a clean state.
        self.client.update_secret_version_stage(
            SecretId=self.secret_id, VersionStage=PENDING, RemoveFromVersionId=self.token
        )
        if current_version is not None and current_version != self.token:
            self._retire(lambda: self._retire_version(current_version))

    def _retire_version(self, version_id: str) -> None:
        old, new = self._version_value(version_id), self._value(CURRENT)
        self._strategy(new).retire(old, new)

    def _retire(self, retire: Callable[[], None]) -> None:
        """Invalidate the old value; a failure never undoes the rotation.

        Secrets Manager calls nothing after finishSecret (and a failed finishSecret would be retried
        with AWSCURRENT already moved, which ends at once), so a retirement that fails, for whatever
        reason, is logged, reported to the alarm topic, and tried again by the next rotation's
        createSecret.
        """
        try:
            retire()
        except Exception as error:  # any failure: AWSCURRENT has moved and must stay moved
            _log(
                "retiring the old value failed; the next rotation retries", secret=self.name, error=str(error)
            )
            Notifier().publish(
                f"Old credential not retired: {self.name}",
                f"The rotation of {self.name} succeeded, but retiring the previous value failed: {error}. "
                "The next rotation tries again; to retire it now, run the rotation again "
                f"(aws secretsmanager rotate-secret --secret-id {self.name}) or revoke it at the provider.",
            )

    def _describe(self) -> dict[str, Any]:
        return dict(self.client.describe_secret(SecretId=self.secret_id))

    def _stages_of_token(self, *, require_enabled: bool) -> list[str]:
        metadata = self._describe()
        self.name = str(metadata.get("Name", self.secret_id))
        if require_enabled and not metadata.get("RotationEnabled"):
            raise RotationError(f"rotation is not enabled on {self.secret_id}")
        versions = metadata.get("VersionIdsToStages", {})
        if self.token not in versions:
            raise RotationError(f"{self.secret_id} has no version {self.token} to rotate to")
        return list(versions[self.token])

    def _version_value(self, version_id: str) -> str:
        response = self.client.get_secret_value(SecretId=self.secret_id, VersionId=version_id)
        return str(response["SecretString"])

    def _value(self, stage: str) -> str:
        response = self.client.get_secret_value(SecretId=self.secret_id, VersionStage=stage)
        return str(response["SecretString"])

    def _optional_value(self, stage: str) -> str | None:
        try:
            return self._value(stage)
        except self.client.exceptions.ResourceNotFoundException:
            return None

    def _pending_value(self) -> str | None:
        try:
            response = self.client.get_secret_value(
                SecretId=self.secret_id, VersionId=self.token, VersionStage=PENDING
            )
        except self.client.exceptions.ResourceNotFoundException:
            return None
        value = response.get("SecretString")
        return None if value is None else str(value)

    def _required_pending(self) -> str:
        value = self._pending_value()
        if value is None:
            raise RotationError(
                f"{self.secret_id} has no AWSPENDING value for version {self.token}; "
                "createSecret must run first"
            )
        return value

    def _strategy(self, value: str) -> Strategy:
        return strategy_for(self.name, value, self.client, self._random, self.token)

    def _random(self, length: int) -> str:
        response = self.client.get_random_password(PasswordLength=length, ExcludePunctuation=True)
        return str(response["RandomPassword"])


def _log(message: str, **fields: str) -> None:
    # Structured, and never a secret value: only names, steps and version ids.
    logger.info(json.dumps({"message": message, **fields}))
