"""Every alarm of every layer sends its ALARM and OK transitions to the environment's alarm topic, and
names the runbook section on-call opens, which docs/operations.md has."""

from __future__ import annotations

import re

import pytest

from offline.layers import REPO_ROOT

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


@pytest.fixture(scope="module")
def layers(network, platform, services):
    return {"network": network, "platform": platform, "services": services}


def test_every_alarm_of_every_layer_notifies_the_topic_on_alarm_and_on_ok(layers):
    topic = layers["network"].exports["alarmTopicArn"]
    checked = 0
    for evaluation in layers.values():
        for alarm in evaluation.all(ALARM):
            assert alarm.inputs.get("alarmActions") == [topic], alarm.name
            assert alarm.inputs.get("okActions") == [topic], alarm.name
            checked += 1
    assert checked >= 2 + 7  # NAT, and the release alarms of the three services


def test_every_alarm_names_a_runbook_section_that_exists(layers):
    headings = (REPO_ROOT / "docs" / "operations.md").read_text()
    anchors = {_anchor(h) for h in re.findall(r"^#+ (.+)$", headings, flags=re.M)}
    for evaluation in layers.values():
        for alarm in evaluation.all(ALARM):
            match = re.search(r"Runbook: docs/operations\.md#([a-z0-9-]+)$", alarm.inputs["alarmDescription"])
            assert match, alarm.name
            assert match.group(1) in anchors, f"{alarm.name}: no heading for #{match.group(1)}"


def _anchor(heading: str) -> str:
    """The anchor GitHub renders for a markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_a_description_cloudwatch_would_reject_is_refused():
    from shared.alarms import Runbook, describe

    assert describe("short", Runbook.TARGET_5XX_RATE).endswith("#target-5xx-rate")
    with pytest.raises(ValueError, match="1024"):
        describe("x" * 1024, Runbook.TARGET_5XX_RATE)


def test_every_runbook_section_has_its_heading():
    from shared.alarms import Runbook

    text = (REPO_ROOT / "docs" / "operations.md").read_text()
    anchors = {_anchor(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}
    assert set(Runbook.ALL) <= anchors
