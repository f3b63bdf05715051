"""Every alarm of every layer has a severity (shared/alarm_routing.py, ROUTING) and sends its ALARM and OK
transitions to that severity's topic, or to none (release alarms: CodeDeploy acts on them); every event
rule targets the topic of its severity; every alarm names the runbook section on-call opens, which
docs/operations.md has."""

from __future__ import annotations

import re

import pytest

from offline.layer_projects import REPO_ROOT
from shared.alarm_routing import ALL_SECTIONS, ROUTING, AlarmTopics, Runbook, describe, notify

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
DESCRIPTION = re.compile(r"Severity: (page|ticket|none)\. Runbook: docs/operations\.md#([a-z0-9-]+)$")


@pytest.fixture(scope="module")
def layers(network, platform, services):
    return {"network": network, "platform": platform, "services": services}


def topic_of(network, severity):
    return {
        "page": [network.exports["alarmTopicArn"]],
        "ticket": [network.exports["ticketTopicArn"]],
        "none": [],
    }[severity]


def test_every_alarm_notifies_the_topic_of_its_severity_on_alarm_and_on_ok(layers):
    seen = {"page": 0, "ticket": 0, "none": 0}
    for evaluation in layers.values():
        for alarm in evaluation.all(ALARM):
            match = DESCRIPTION.search(alarm.inputs["alarmDescription"])
            assert match, alarm.name
            severity, section = match.groups()
            assert ROUTING[section].severity == severity, alarm.name
            expected = topic_of(layers["network"], severity)
            assert (alarm.inputs.get("alarmActions") or []) == expected, alarm.name
            assert (alarm.inputs.get("okActions") or []) == expected, alarm.name
            seen[severity] += 1
    assert seen["page"] >= 10
    assert seen["ticket"] >= 5
    assert seen["none"] == 7  # the release alarms: 5xx and unhealthy hosts x 3, latency at the edge


def test_every_event_rule_targets_the_topic_of_its_severity(layers):
    network = layers["network"]
    for evaluation in layers.values():
        targets = {}
        for target in evaluation.all(TARGET):
            targets.setdefault(target.inputs["rule"], []).append(target.inputs["arn"])
        for rule in evaluation.all(RULE):
            if rule.inputs.get("scheduleExpression"):
                continue  # the heartbeat, which reaches both (tests/network)
            match = DESCRIPTION.search(rule.inputs["description"])
            assert match, rule.name
            severity = match.group(1)
            assert severity != "none", rule.name
            assert targets[rule.inputs["name"]] == topic_of(network, severity), rule.name


def test_every_section_has_a_severity_and_a_reason():
    assert set(ALL_SECTIONS) == {
        value for name, value in vars(Runbook).items() if name.isupper() and isinstance(value, str)
    }
    for section, routing in ROUTING.items():
        assert routing.severity in ("page", "ticket", "none"), section
        assert len(routing.reason) > 20, section


def test_notify_follows_the_severity():
    topics = AlarmTopics(page="arn:page", ticket="arn:ticket")
    assert notify(topics, Runbook.TARGET_5XX_RATE) == {
        "alarm_actions": ["arn:page"],
        "ok_actions": ["arn:page"],
    }
    assert notify(topics, Runbook.WAF_BLOCKED)["alarm_actions"] == ["arn:ticket"]
    assert notify(topics, Runbook.RELEASE_5XX) == {"alarm_actions": [], "ok_actions": []}
    with pytest.raises(KeyError):
        notify(topics, "no-such-section")


def test_a_description_cloudwatch_would_reject_is_refused():
    assert describe("short", Runbook.TARGET_5XX_RATE).endswith(
        "Severity: page. Runbook: docs/operations.md#target-5xx-rate"
    )
    with pytest.raises(ValueError, match="1024"):
        describe("x" * 1024, Runbook.TARGET_5XX_RATE)


def test_every_runbook_section_has_its_heading():
    text = (REPO_ROOT / "docs" / "operations.md").read_text()
    anchors = {_anchor(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}
    assert set(ALL_SECTIONS) <= anchors, set(ALL_SECTIONS) - anchors


def _anchor(heading: str) -> str:
    """The anchor GitHub renders for a markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")
