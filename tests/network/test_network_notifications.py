"""The environment's alarm topic: encrypted with its own key, publishable by this account's CloudWatch
alarms and EventBridge rules only, subscribed from config, and exported for the other layers."""

from __future__ import annotations

import pytest

from offline.layers import evaluate_layer
from shared.config.alerting import NotificationConfig
from shared.config.keys import LAYER_KEYS
from shared.config.reader import ConfigReader
from shared.errors import ConfigError
from tests.helpers import as_list, statements

TOPIC = "aws:sns/topic:Topic"
KEY = "aws:kms/key:Key"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"


def test_the_topic_is_encrypted_with_its_own_rotating_key(network):
    topic = network.one(TOPIC)
    key = network.one(KEY, name="kms-alarms-dev")
    assert topic.inputs["name"] == "sns-alarms-dev"
    assert topic.inputs["kmsMasterKeyId"] == key.state["arn"]
    assert key.inputs["enableKeyRotation"] is True
    assert network.exports["alarmTopicArn"] == topic.state["arn"]


def test_cloudwatch_and_eventbridge_may_use_the_key_to_publish(network):
    policy = statements(network.one(KEY, name="kms-alarms-dev").inputs["policy"])
    [publishers] = [s for s in policy if s["Principal"].get("Service")]
    assert set(as_list(publishers["Principal"]["Service"])) == {
        "cloudwatch.amazonaws.com",
        "events.amazonaws.com",
    }
    assert set(as_list(publishers["Action"])) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    # EventBridge's key requests carry no aws:Source* keys: a condition would drop every event.
    assert "Condition" not in publishers


def test_only_this_accounts_alarms_and_rules_may_publish(network):
    policy = statements(network.one("aws:sns/topicPolicy:TopicPolicy").inputs["policy"])
    services = {s["Principal"]["Service"]: s for s in policy if "Service" in s["Principal"]}
    assert set(services) == {"cloudwatch.amazonaws.com", "events.amazonaws.com"}
    for service, statement in services.items():
        assert statement["Action"] == "sns:Publish"
        if service.startswith("cloudwatch"):  # CloudWatch documents both keys; EventBridge only SourceArn
            assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
        else:
            assert "StringEquals" not in statement["Condition"]
        kind = "alarm:*" if service.startswith("cloudwatch") else "rule/*"
        assert statement["Condition"]["ArnLike"]["aws:SourceArn"].endswith(f":123456789012:{kind}")


def test_there_are_no_subscriptions_by_default(network):
    assert network.all(SUBSCRIPTION) == []


def test_subscriptions_come_from_config():
    evaluation = evaluate_layer(
        "network",
        config={
            "alarmEmails": ["oncall@example.com", "payments-team@example.com"],
            "alarmHttpsEndpoints": ["https://events.example.com/sns"],
        },
    )
    subscriptions = {(s.inputs["protocol"], s.inputs["endpoint"]) for s in evaluation.all(SUBSCRIPTION)}
    assert subscriptions == {
        ("email", "oncall@example.com"),
        ("email", "payments-team@example.com"),
        ("https", "https://events.example.com/sns"),
    }
    topic_arn = evaluation.one(TOPIC).state["arn"]
    assert {s.inputs["topic"] for s in evaluation.all(SUBSCRIPTION)} == {topic_arn}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"alarmEmails": ["not-an-address"]}, "alarmEmails"),
        ({"alarmHttpsEndpoints": ["http://insecure.example.com"]}, "https:// URL"),
        ({"alarmEmails": ["a@example.com", "a@example.com"]}, "must not repeat"),
    ],
)
def test_bad_subscriptions_are_refused_with_the_fix(values, message):
    with pytest.raises(ConfigError, match=message) as error:
        NotificationConfig.load(ConfigReader.from_mapping(values).declared(LAYER_KEYS["network"]))
    assert "pulumi config" in str(error.value) or "repeat" in str(error.value)


def test_every_nat_gateway_has_both_alarms(network_ha):
    alarms = network_ha.all("aws:cloudwatch/metricAlarm:MetricAlarm")
    gateways = network_ha.exports["natGatewayIds"]
    assert len(gateways) == 3
    assert len(alarms) == 2 * len(gateways)
    port = [a for a in alarms if a.inputs.get("metricName") == "ErrorPortAllocation"]
    assert {a.inputs["dimensions"]["NatGatewayId"] for a in port} == set(gateways)
    for alarm in port:
        assert alarm.inputs["threshold"] == 0
        assert alarm.inputs["comparisonOperator"] == "GreaterThanThreshold"
    drops = [a for a in alarms if "metricQueries" in a.inputs]
    for alarm in drops:
        [result] = [q for q in alarm.inputs["metricQueries"] if q.get("returnData")]
        assert "100 * FILL(drops, 0) / packets" in result["expression"]
        assert alarm.inputs["threshold"] == pytest.approx(0.01)
