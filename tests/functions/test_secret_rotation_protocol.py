"""The rotation function's four steps against moto's Secrets Manager, with an API-key secret.

The key uses the default `notify` strategy, so each rotation here promotes a value an operator staged;
the protocol (labels, retries, refusals) is the same for every strategy.
"""

from __future__ import annotations

import json

import pytest

from functions.secret_rotation import handler as rotation
from functions.secret_rotation.errors import RotationError
from tests.functions.conftest import disable_rotation, stage_as_operator, start_rotation

INITIAL_KEY = "sk_live_initial_value_0123456789"
NEW_KEY = "sk_live_issued_by_the_provider_42"
NEWER_KEY = "sk_live_issued_again_by_provider_7"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


@pytest.fixture
def api_key(secretsmanager):
    created = secretsmanager.create_secret(
        Name="secret-payment-provider-api-key-dev", SecretString=INITIAL_KEY
    )
    return created["ARN"]


def stages(client, arn):
    return client.describe_secret(SecretId=arn)["VersionIdsToStages"]


def value(client, arn, stage="AWSCURRENT"):
    return client.get_secret_value(SecretId=arn, VersionStage=stage)["SecretString"]


def run(client, arn, token, *steps):
    for step in steps:
        rotation.Rotation(client, arn, token).run(step)


def test_a_full_rotation_gives_a_new_current_key_and_keeps_the_old_one_as_previous(secretsmanager, api_key):
    token = stage_as_operator(secretsmanager, api_key, NEW_KEY)
    run(secretsmanager, api_key, token, *STEPS)
    assert value(secretsmanager, api_key) == NEW_KEY
    assert value(secretsmanager, api_key, "AWSPREVIOUS") == INITIAL_KEY
    assert stages(secretsmanager, api_key)[token] == ["AWSCURRENT"]  # no AWSPENDING left behind


def test_the_lambda_entry_point_runs_a_step_from_a_secrets_manager_event(secretsmanager, api_key):
    token = stage_as_operator(secretsmanager, api_key, NEW_KEY)
    for step in STEPS:
        rotation.handler({"SecretId": api_key, "ClientRequestToken": token, "Step": step}, None)
    assert value(secretsmanager, api_key) == NEW_KEY


def test_every_step_can_be_retried_without_changing_the_outcome(secretsmanager, api_key):
    token = stage_as_operator(secretsmanager, api_key, NEW_KEY)
    run(secretsmanager, api_key, token, "createSecret", "createSecret", "setSecret", "setSecret")
    run(secretsmanager, api_key, token, "testSecret", "testSecret")
    assert secretsmanager.get_secret_value(SecretId=api_key, VersionId=token)["SecretString"] == NEW_KEY
    run(secretsmanager, api_key, token, "finishSecret", "finishSecret")
    assert value(secretsmanager, api_key) == NEW_KEY
    assert value(secretsmanager, api_key, "AWSPREVIOUS") == INITIAL_KEY


def test_a_step_for_a_version_that_is_already_current_does_nothing(secretsmanager, api_key):
    token = stage_as_operator(secretsmanager, api_key, NEW_KEY)
    run(secretsmanager, api_key, token, *STEPS)
    before = stages(secretsmanager, api_key)
    run(secretsmanager, api_key, token, *STEPS)
    assert stages(secretsmanager, api_key) == before


@pytest.mark.parametrize("step", ["setSecret", "testSecret", "finishSecret"])
def test_a_missing_pending_value_stops_the_rotation(secretsmanager, api_key, step):
    token = start_rotation(secretsmanager, api_key)
    with pytest.raises(RotationError, match="no AWSPENDING value"):
        run(secretsmanager, api_key, token, step)
    assert value(secretsmanager, api_key) == INITIAL_KEY


def test_a_version_that_is_not_pending_is_refused(secretsmanager, api_key):
    token = stage_as_operator(secretsmanager, api_key, NEW_KEY)
    run(secretsmanager, api_key, token, *STEPS)
    second = stage_as_operator(secretsmanager, api_key, NEWER_KEY)
    run(secretsmanager, api_key, second, *STEPS)  # the first version is now AWSPREVIOUS
    with pytest.raises(RotationError, match="is not AWSPENDING"):
        run(secretsmanager, api_key, token, "createSecret")


def test_an_unknown_version_is_refused(secretsmanager, api_key):
    start_rotation(secretsmanager, api_key)
    with pytest.raises(RotationError, match="has no version"):
        run(secretsmanager, api_key, "00000000-0000-4000-8000-000000000000", "createSecret")


@pytest.mark.parametrize("step", ["createSecret", "setSecret", "finishSecret"])
def test_a_step_that_writes_is_refused_when_rotation_is_not_enabled(secretsmanager, step):
    arn = secretsmanager.create_secret(Name="not-rotated", SecretString=INITIAL_KEY)["ARN"]
    with pytest.raises(RotationError, match="rotation is not enabled"):
        run(secretsmanager, arn, "00000000-0000-4000-8000-000000000000", step)


def test_the_configuration_check_runs_test_secret_before_rotation_is_enabled(secretsmanager, api_key):
    """RotateSecret with RotateImmediately=false runs testSecret on a copy of the current value."""
    token = start_rotation(secretsmanager, api_key)
    secretsmanager.put_secret_value(
        SecretId=api_key, ClientRequestToken=token, SecretString=INITIAL_KEY, VersionStages=["AWSPENDING"]
    )
    disable_rotation(secretsmanager, api_key)
    run(secretsmanager, api_key, token, "testSecret")
    assert value(secretsmanager, api_key) == INITIAL_KEY


def test_an_unknown_step_is_refused(secretsmanager, api_key):
    token = start_rotation(secretsmanager, api_key)
    with pytest.raises(RotationError, match="unknown step 'deleteSecret'"):
        run(secretsmanager, api_key, token, "deleteSecret")


def test_a_failed_test_step_leaves_the_current_value_untouched(secretsmanager, api_key):
    token = start_rotation(secretsmanager, api_key)
    # A pending value the test step must reject (an earlier buggy attempt wrote it).
    secretsmanager.put_secret_value(
        SecretId=api_key, ClientRequestToken=token, SecretString="short key", VersionStages=["AWSPENDING"]
    )
    with pytest.raises(RotationError, match="pending API key"):
        run(secretsmanager, api_key, token, "testSecret")
    assert value(secretsmanager, api_key) == INITIAL_KEY
    assert "AWSCURRENT" not in stages(secretsmanager, api_key)[token]


def test_a_secret_of_an_unsupported_engine_is_refused(secretsmanager):
    arn = secretsmanager.create_secret(
        Name="mysql", SecretString=json.dumps({"engine": "mysql", "password": "x"})
    )["ARN"]
    token = start_rotation(secretsmanager, arn)
    with pytest.raises(RotationError, match="no rotation strategy for engine 'mysql'"):
        run(secretsmanager, arn, token, "createSecret")


def test_the_function_logs_no_secret_value(secretsmanager, api_key, caplog):
    token = stage_as_operator(secretsmanager, api_key, NEW_KEY)
    with caplog.at_level("INFO", logger="secret_rotation"):
        run(secretsmanager, api_key, token, *STEPS)
    assert len(caplog.records) == len(STEPS)
    text = caplog.text
    assert INITIAL_KEY not in text
    assert value(secretsmanager, api_key) not in text
    assert json.loads(caplog.records[0].getMessage())["step"] == "createSecret"
