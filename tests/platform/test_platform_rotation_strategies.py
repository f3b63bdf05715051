"""The rotation function learns each API key's strategy and the alarm topic, and may publish there only."""

from __future__ import annotations

import json

from tests.helpers import statements

FUNCTION = "aws:lambda/function:Function"


def environment_of(evaluation):
    rotation = "lambda-secret-rotation-"
    [function] = [f for f in evaluation.all(FUNCTION) if f.inputs["name"].startswith(rotation)]
    return function.inputs["environment"]["variables"]


def secret_name(evaluation, purpose):
    return evaluation.by_id(evaluation.exports["secretArns"][purpose]).inputs["name"]


def test_a_default_stack_rotates_both_api_keys_with_notify(platform):
    table = json.loads(environment_of(platform)["ROTATION_STRATEGIES"])
    assert table == {
        secret_name(platform, "paymentProviderApiKey"): {"strategy": "notify"},
        secret_name(platform, "fraudScoringApiKey"): {"strategy": "notify"},
    }


def test_a_configured_key_api_reaches_the_function(platform_alt):
    table = json.loads(environment_of(platform_alt)["ROTATION_STRATEGIES"])
    assert table[secret_name(platform_alt, "paymentProviderApiKey")] == {
        "strategy": "http-key-api",
        "keyApiUrl": "https://keys.payments-provider.example/api",
    }
    assert table[secret_name(platform_alt, "fraudScoringApiKey")] == {"strategy": "notify"}


def test_the_function_publishes_to_the_alarm_topic_and_uses_its_key_only_through_sns(network, platform):
    variables = environment_of(platform)
    # "API key due" and "old credential not retired" are tickets, not pages (shared/alarm_routing.py).
    assert variables["ALARM_TOPIC_ARN"] == network.exports["ticketTopicArn"]
    policy = statements(platform.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    by_sid = {statement["Sid"]: statement for statement in policy}
    publish = by_sid["NotifyOperatorsThroughTheAlarmTopic"]
    assert (publish["Action"], publish["Resource"]) == ("sns:Publish", network.exports["ticketTopicArn"])
    key = by_sid["EncryptForTheAlarmTopicThroughSns"]
    assert sorted(key["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert key["Resource"] == network.exports["alarmTopicKeyArn"]
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": "sns.us-east-1.amazonaws.com"}}
