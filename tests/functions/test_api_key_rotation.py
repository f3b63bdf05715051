"""API-key rotation strategies end to end: moto's Secrets Manager and SNS, and the fake provider."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from functions.secret_rotation import handler as rotation
from functions.secret_rotation.errors import ManualRotationError, RotationError
from functions.secret_rotation.key_provider import KeyApi, ProviderError
from localrun.fake_provider.server import running_provider
from tests.functions.conftest import stage_as_operator, start_rotation

NAME = "secret-payment-provider-api-key-dev"
INITIAL_KEY = "sk_live_initial_value_0123456789"
STAGED_KEY = "sk_live_issued_by_hand_0123456789"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


@pytest.fixture
def provider():
    with running_provider(keys=[INITIAL_KEY]) as running:
        yield running


def use_strategy(monkeypatch, strategy, url=None):
    entry = {"strategy": strategy, **({"keyApiUrl": url} if url else {})}
    monkeypatch.setenv("ROTATION_STRATEGIES", json.dumps({NAME: entry}))


@pytest.fixture
def api_key(secretsmanager):
    return secretsmanager.create_secret(Name=NAME, SecretString=INITIAL_KEY)["ARN"]


def value(client, arn, stage="AWSCURRENT"):
    return client.get_secret_value(SecretId=arn, VersionStage=stage)["SecretString"]


def run(client, arn, token, *steps):
    for step in steps:
        rotation.Rotation(client, arn, token).run(step)


# --- http-key-api ----------------------------------------------------------------------------------


def test_the_new_key_works_and_the_old_one_until_finish_then_it_is_retired(
    secretsmanager, api_key, provider, alarm_topic, monkeypatch
):
    use_strategy(monkeypatch, "http-key-api", provider.url)
    token = start_rotation(secretsmanager, api_key)
    run(secretsmanager, api_key, token, "createSecret", "setSecret", "testSecret")
    pending = secretsmanager.get_secret_value(SecretId=api_key, VersionId=token)["SecretString"]
    assert provider.store.accepts(pending)
    assert provider.store.accepts(INITIAL_KEY)  # tasks holding it keep working during the rotation
    assert value(secretsmanager, api_key) == INITIAL_KEY
    run(secretsmanager, api_key, token, "finishSecret")
    assert value(secretsmanager, api_key) == pending
    assert value(secretsmanager, api_key, "AWSPREVIOUS") == INITIAL_KEY
    assert not provider.store.accepts(INITIAL_KEY)
    assert provider.store.accepts(pending)
    assert alarm_topic.messages() == []


def test_provider_down_fails_the_rotation_and_leaves_current_unchanged(
    secretsmanager, api_key, provider, monkeypatch
):
    use_strategy(monkeypatch, "http-key-api", provider.url)
    provider.store.available = False
    token = start_rotation(secretsmanager, api_key)
    with pytest.raises(ProviderError, match="did not create a key"):
        run(secretsmanager, api_key, token, "createSecret")
    assert value(secretsmanager, api_key) == INITIAL_KEY
    provider.store.available = True
    assert provider.store.accepts(INITIAL_KEY)


def test_an_unreachable_provider_fails_the_rotation(secretsmanager, api_key, monkeypatch):
    with running_provider() as stopped:
        url = stopped.url  # the port is free again once the block ends
    use_strategy(monkeypatch, "http-key-api", url)
    token = start_rotation(secretsmanager, api_key)
    with pytest.raises(ProviderError, match="unreachable"):
        run(secretsmanager, api_key, token, "createSecret")
    assert value(secretsmanager, api_key) == INITIAL_KEY


def test_a_retire_that_fails_keeps_the_rotation_is_reported_and_the_next_rotation_retires(
    secretsmanager, api_key, provider, alarm_topic, monkeypatch
):
    use_strategy(monkeypatch, "http-key-api", provider.url)
    token = start_rotation(secretsmanager, api_key)
    run(secretsmanager, api_key, token, "createSecret", "setSecret", "testSecret")
    provider.store.available = False
    run(secretsmanager, api_key, token, "finishSecret")  # does not raise
    new_key = value(secretsmanager, api_key)
    assert new_key != INITIAL_KEY
    [message] = alarm_topic.messages()
    assert message["Subject"] == f"Old credential not retired: {NAME}"
    assert new_key not in message["Message"]
    assert INITIAL_KEY not in message["Message"]
    provider.store.available = True
    assert provider.store.accepts(INITIAL_KEY)
    second = start_rotation(secretsmanager, api_key)
    run(secretsmanager, api_key, second, "createSecret")
    assert not provider.store.accepts(INITIAL_KEY)  # the leftover is retired before a new key is made


def test_a_retried_create_at_the_provider_returns_the_same_key(provider):
    api = KeyApi(provider.url)
    first = api.create_key(bearer=INITIAL_KEY, idempotency_key="version-1")
    assert api.create_key(bearer=INITIAL_KEY, idempotency_key="version-1") == first
    assert len(provider.store.active) == 2


def test_the_test_step_refuses_a_key_the_provider_does_not_accept(
    secretsmanager, api_key, provider, monkeypatch
):
    use_strategy(monkeypatch, "http-key-api", provider.url)
    token = stage_as_operator(secretsmanager, api_key, "sk_live_unknown_to_the_provider_00")
    with pytest.raises(RotationError, match="does not accept the pending key"):
        run(secretsmanager, api_key, token, "testSecret")
    assert value(secretsmanager, api_key) == INITIAL_KEY


@pytest.mark.parametrize("url", ["http://provider.example.com", "ftp://127.0.0.1", "https://"])
def test_a_key_api_url_that_is_not_https_is_refused(secretsmanager, api_key, monkeypatch, url):
    use_strategy(monkeypatch, "http-key-api", url)
    token = start_rotation(secretsmanager, api_key)
    with pytest.raises(RotationError, match="must be https"):
        run(secretsmanager, api_key, token, "createSecret")


# --- notify ------------------------------------------------------------------------------------------


def test_notify_invents_no_key_tells_operators_and_leaves_no_pending_label(
    secretsmanager, api_key, alarm_topic
):
    token = start_rotation(secretsmanager, api_key)  # no ROTATION_STRATEGIES entry: notify
    with pytest.raises(ManualRotationError, match="nothing was rotated"):
        run(secretsmanager, api_key, token, "createSecret")
    assert value(secretsmanager, api_key) == INITIAL_KEY
    stages = secretsmanager.describe_secret(SecretId=api_key)["VersionIdsToStages"]
    assert not any("AWSPENDING" in labels for labels in stages.values())
    [message] = alarm_topic.messages()
    assert message["Subject"] == f"API key due for manual rotation: {NAME}"
    assert f"put-secret-value --secret-id {NAME} --client-request-token" in message["Message"]
    assert "aws lambda invoke" in message["Message"]
    assert f"rotate-secret --secret-id {NAME}" not in message["Message"]
    assert INITIAL_KEY not in message["Message"]
    # A retry of the same rotation is refused before anything is published again.
    with pytest.raises(RotationError, match="is not AWSPENDING"):
        run(secretsmanager, api_key, token, "createSecret")
    assert alarm_topic.messages() == []


def test_notify_tests_and_promotes_a_key_an_operator_staged(
    secretsmanager, api_key, alarm_topic, monkeypatch
):
    use_strategy(monkeypatch, "notify")
    token = stage_as_operator(secretsmanager, api_key, STAGED_KEY)
    run(secretsmanager, api_key, token, *STEPS)
    assert value(secretsmanager, api_key) == STAGED_KEY
    assert value(secretsmanager, api_key, "AWSPREVIOUS") == INITIAL_KEY
    assert alarm_topic.messages() == []


def test_the_commands_in_the_notice_stage_test_and_promote_the_new_key(
    secretsmanager, api_key, alarm_topic, monkeypatch, tmp_path
):
    """The notice's shell lines, run by bash with a stub `aws` that records its arguments; each recorded
    call is then made against moto (put-secret-value) or the function's handler (lambda invoke)."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "lambda-secret-rotation-dev")
    token = start_rotation(secretsmanager, api_key)
    with pytest.raises(ManualRotationError):
        run(secretsmanager, api_key, token, "createSecret")
    [message] = alarm_topic.messages()
    commands = [line for line in message["Message"].splitlines() if line.startswith("   ")]
    calls = tmp_path / "calls.jsonl"
    (tmp_path / "bin").mkdir()
    stub = tmp_path / "bin" / "aws"
    stub.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(calls)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "print('None' if sys.argv[1:3] == ['lambda', 'invoke'] else '{}')\n"
    )
    stub.chmod(0o755)
    (tmp_path / "new-key.txt").write_text(STAGED_KEY)
    done = subprocess.run(
        ["bash", "-euc", "\n".join(commands)], cwd=tmp_path, capture_output=True, text=True, check=False,
        env={**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    recorded = [json.loads(line) for line in calls.read_text().splitlines()]
    assert [call[:2] for call in recorded] == [["secretsmanager", "put-secret-value"]] + [
        ["lambda", "invoke"]
    ] * 3
    put = dict(zip(recorded[0][2::2], recorded[0][3::2], strict=True))
    assert put["--secret-string"] == "file://new-key.txt"
    secretsmanager.put_secret_value(
        SecretId=put["--secret-id"], ClientRequestToken=put["--client-request-token"],
        VersionStages=[put["--version-stages"]], SecretString=(tmp_path / "new-key.txt").read_text(),
    )  # fmt: skip
    for call in recorded[1:]:
        options = dict(zip(call[2::2], call[3::2], strict=False))
        assert options["--function-name"] == "lambda-secret-rotation-dev"
        rotation.handler(json.loads(options["--payload"]), None)
    assert value(secretsmanager, api_key) == STAGED_KEY
    assert value(secretsmanager, api_key, "AWSPREVIOUS") == INITIAL_KEY


@pytest.mark.parametrize(
    ("staged", "step", "error"),
    [(INITIAL_KEY, "setSecret", "is the current key"), ("short key", "testSecret", "pending API key")],
)
def test_notify_refuses_a_staged_key_that_is_current_or_malformed(
    secretsmanager, api_key, staged, step, error
):
    token = stage_as_operator(secretsmanager, api_key, staged)
    with pytest.raises(RotationError, match=error):
        run(secretsmanager, api_key, token, step)
    assert value(secretsmanager, api_key) == INITIAL_KEY


@pytest.mark.parametrize(
    ("table", "error"),
    [
        ({NAME: {"strategy": "random"}}, "unknown key rotation 'random'"),
        ({NAME: {"strategy": "http-key-api"}}, "needs keyApiUrl"),
        ({NAME: "notify"}, "must be an object"),
    ],
)
def test_a_bad_strategy_table_is_refused_by_name(secretsmanager, api_key, monkeypatch, table, error):
    monkeypatch.setenv("ROTATION_STRATEGIES", json.dumps(table))
    token = start_rotation(secretsmanager, api_key)
    with pytest.raises(RotationError, match=error):
        run(secretsmanager, api_key, token, "createSecret")


def test_notify_still_leaves_no_pending_label_when_the_topic_refuses_the_notice(
    secretsmanager, api_key, monkeypatch
):
    monkeypatch.setenv("ALARM_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:no-such-topic")
    token = start_rotation(secretsmanager, api_key)
    with pytest.raises(ManualRotationError, match="the notice to the alarm topic failed"):
        run(secretsmanager, api_key, token, "createSecret")
    stages = secretsmanager.describe_secret(SecretId=api_key)["VersionIdsToStages"]
    assert not any("AWSPENDING" in labels for labels in stages.values())
    assert value(secretsmanager, api_key) == INITIAL_KEY


def test_a_current_key_the_provider_no_longer_accepts_fails_the_rotation_clearly(
    secretsmanager, api_key, monkeypatch
):
    with running_provider(keys=["fk_some_other_key_0123456789"]) as provider:
        use_strategy(monkeypatch, "http-key-api", provider.url)
        token = start_rotation(secretsmanager, api_key)
        with pytest.raises(ProviderError, match="refuses the current key"):
            run(secretsmanager, api_key, token, "createSecret")
    assert value(secretsmanager, api_key) == INITIAL_KEY
