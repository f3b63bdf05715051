"""The environment's two alarm topics (page and ticket): encrypted with their own key, publishable by this
account's CloudWatch alarms and EventBridge rules only, each subscribed from its own config keys,
exported for the other layers; a warning when one has no subscription; each topic's failed deliveries
alarm on the other topic, and a heartbeat reaches both."""

from __future__ import annotations

import json

import pytest

from offline.layer_projects import evaluate_layer
from shared.config.alerting import TICKET_PREFIX, NotificationConfig, heartbeat_schedule
from shared.config.keys import LAYER_KEYS
from shared.config.reader import ConfigReader
from shared.errors import ConfigError
from stacks.network.subscription_warning import unsubscribed_warning
from tests.helpers import as_list, statements

TOPIC = "aws:sns/topic:Topic"
KEY = "aws:kms/key:Key"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RULE = "aws:cloudwatch/eventRule:EventRule"


def test_both_topics_are_encrypted_with_their_own_rotating_key(network):
    topics = {t.inputs["name"]: t for t in network.all(TOPIC)}
    assert set(topics) == {"sns-alarms-dev", "sns-tickets-dev"}
    key = network.one(KEY, name="kms-alarms-dev")
    assert {t.inputs["kmsMasterKeyId"] for t in topics.values()} == {key.state["arn"]}
    assert key.inputs["enableKeyRotation"] is True
    assert network.exports["alarmTopicArn"] == topics["sns-alarms-dev"].state["arn"]
    assert network.exports["ticketTopicArn"] == topics["sns-tickets-dev"].state["arn"]


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


@pytest.mark.parametrize("topic", ["alarmTopicArn", "ticketTopicArn"])
def test_only_this_accounts_alarms_and_rules_may_publish(network, topic):
    [document] = [
        p.inputs["policy"]
        for p in network.all("aws:sns/topicPolicy:TopicPolicy")
        if p.inputs["arn"] == network.exports[topic]
    ]
    policy = statements(document)
    assert {r for s in policy for r in as_list(s["Resource"])} == {network.exports[topic]}
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
    topic_arn = evaluation.exports["alarmTopicArn"]
    assert {s.inputs["topic"] for s in evaluation.all(SUBSCRIPTION)} == {topic_arn}


def test_the_ticket_topic_has_its_own_subscriptions():
    evaluation = evaluate_layer(
        "network",
        config={"alarmEmails": ["oncall@example.com"], "ticketEmails": ["payments-team@example.com"]},
    )
    by_topic = {(s.inputs["topic"], s.inputs["endpoint"]) for s in evaluation.all(SUBSCRIPTION)}
    assert by_topic == {
        (evaluation.exports["alarmTopicArn"], "oncall@example.com"),
        (evaluation.exports["ticketTopicArn"], "payments-team@example.com"),
    }
    # The paging subscriptions keep the logical names they had before the ticket topic existed.
    assert {s.name for s in evaluation.all(SUBSCRIPTION)} == {
        "subscription-email-0-dev",
        "subscription-ticket-email-0-dev",
    }


def warnings_of(monkeypatch, config):
    """What `up` and preview print (the program's pulumi.log warnings, from its own process)."""
    return [w for w in evaluate_layer("network", config=config).warnings if "no subscription" in w]


def test_plan_and_up_warn_about_each_topic_without_a_subscription(monkeypatch):
    both = warnings_of(monkeypatch, {})
    assert len(both) == 2
    assert "sns-alarms-dev" in both[0]
    assert "'alarmEmails[0]'" in both[0]
    assert "sns-tickets-dev" in both[1]
    assert "'ticketEmails[0]'" in both[1]
    [ticket] = warnings_of(monkeypatch, {"alarmHttpsEndpoints": ["https://pager.example.com/sns"]})
    assert "sns-tickets-dev" in ticket
    subscribed = {"alarmEmails": ["oncall@example.com"], "ticketHttpsEndpoints": ["https://t.example.com/x"]}
    assert warnings_of(monkeypatch, subscribed) == []


def test_the_unsubscribed_warning_names_the_keys_and_is_silent_when_subscribed():
    unsubscribed = NotificationConfig(emails=(), https_endpoints=(), prefix="ticket")
    message = unsubscribed_warning("sns-tickets-qa", unsubscribed)
    assert message is not None
    assert "ticketEmails and ticketHttpsEndpoints are empty" in message
    subscribed = NotificationConfig(emails=(), https_endpoints=("https://p.example.com/",), prefix="ticket")
    assert unsubscribed_warning("sns-tickets-qa", subscribed) is None


def test_each_topics_failed_deliveries_alarm_on_the_other_topic(network):
    alarms = {a.inputs["name"]: a.inputs for a in network.all(ALARM)}
    page, ticket = network.exports["alarmTopicArn"], network.exports["ticketTopicArn"]
    for severity, topic_name, notified in (
        ("page", "sns-alarms-dev", ticket),
        ("ticket", "sns-tickets-dev", page),
    ):
        alarm = alarms[f"alarm-sns-{severity}-delivery-failed-dev"]
        assert (alarm["namespace"], alarm["metricName"]) == ("AWS/SNS", "NumberOfNotificationsFailed")
        assert alarm["dimensions"] == {"TopicName": topic_name}
        assert alarm["threshold"] == 0
        assert alarm["comparisonOperator"] == "GreaterThanThreshold"
        assert alarm["alarmActions"] == [notified] == alarm["okActions"]


def test_a_scheduled_heartbeat_reaches_both_topics(network):
    [rule] = [r for r in network.all(RULE) if r.inputs["name"] == "events-heartbeat-dev"]
    assert rule.inputs["scheduleExpression"] == "cron(0 9 ? * MON-FRI *)"
    targets = network.all("aws:cloudwatch/eventTarget:EventTarget")
    assert {t.inputs["arn"] for t in targets} == {
        network.exports["alarmTopicArn"],
        network.exports["ticketTopicArn"],
    }
    for target in targets:
        assert json.loads(target.inputs["input"]).startswith("Heartbeat")


def test_a_bad_heartbeat_schedule_is_refused_with_the_fix():
    reader = ConfigReader.from_mapping({"alarmHeartbeatSchedule": "every day"}).declared(
        LAYER_KEYS["network"]
    )
    with pytest.raises(ConfigError, match="schedule expression") as error:
        heartbeat_schedule(reader)
    assert "pulumi config set alarmHeartbeatSchedule" in str(error.value)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"alarmEmails": ["not-an-address"]}, "alarmEmails"),
        ({"alarmHttpsEndpoints": ["http://insecure.example.com"]}, "https:// URL"),
        ({"alarmEmails": ["a@example.com", "a@example.com"]}, "must not repeat"),
        ({"ticketEmails": ["not-an-address"]}, "ticketEmails"),
        ({"ticketHttpsEndpoints": ["http://insecure.example.com"]}, "ticketHttpsEndpoints"),
    ],
)
def test_bad_subscriptions_are_refused_with_the_fix(values, message):
    reader = ConfigReader.from_mapping(values).declared(LAYER_KEYS["network"])
    prefix = TICKET_PREFIX if any(key.startswith("ticket") for key in values) else "alarm"
    with pytest.raises(ConfigError, match=message) as error:
        NotificationConfig.load(reader, prefix)
    assert "pulumi config" in str(error.value) or "repeat" in str(error.value)


def test_every_nat_gateway_has_both_alarms(network_ha):
    alarms = [a for a in network_ha.all(ALARM) if a.inputs["name"].startswith("alarm-nat-")]
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
