"""Runbooks that fix: every alarm and event rule of the plan links to a section of docs/operations.md
that gives the impact, the severity (the one shared/alarm_routing.py declares), the first three commands, the
fix and the escalation; every section under "Runbook" belongs to a declared alarm kind."""

from __future__ import annotations

import re

import pytest

from offline.layer_projects import REPO_ROOT
from shared.alarm_routing import ROUTING

OPERATIONS = REPO_ROOT / "docs" / "operations.md"
PARTS = ("Impact", "Severity", "First three commands", "Fix", "Escalation")
COMMANDS = ("aws ", "psql ", "curl ", "payments-release ", "pulumi ")
LINK = re.compile(r"Runbook: docs/operations\.md#([a-z0-9-]+)$")


def runbook_sections(markdown: str) -> dict[str, str]:
    """The `### ` sections under `## Runbook`, by heading."""
    runbook = markdown.split("\n## Runbook\n", 1)[1].split("\n## ", 1)[0]
    sections = re.split(r"^### (.+)$", runbook, flags=re.M)[1:]
    return {heading.strip(): body for heading, body in zip(sections[::2], sections[1::2], strict=True)}


def problems(section: str, body: str) -> list[str]:
    """What a runbook section lacks; empty when it has every part."""
    found = []
    for part in PARTS:
        if f"**{part}.**" not in body:
            found.append(f"{section}: no **{part}.**")
    severity = re.search(r"\*\*Severity\.\*\* (\w+):", body)
    declared = ROUTING[section].severity if section in ROUTING else None
    if severity is None or severity.group(1) != declared:
        found.append(f"{section}: severity is not the declared {declared!r}")
    block = re.search(r"\*\*First three commands\.\*\*\n```sh\n(.*?)```", body, flags=re.S)
    commands = [line for line in (block.group(1).splitlines() if block else []) if line.startswith(COMMANDS)]
    if len(commands) < 3:
        found.append(f"{section}: {len(commands)} commands in its first-commands block, not 3")
    return found


@pytest.fixture(scope="module")
def sections() -> dict[str, str]:
    return runbook_sections(OPERATIONS.read_text())


def test_every_declared_alarm_kind_has_a_complete_runbook_section(sections):
    missing = sorted(set(ROUTING) - set(sections))
    assert missing == []
    assert [p for section, body in sections.items() for p in problems(section, body)] == []


def test_every_runbook_section_belongs_to_a_declared_alarm_kind(sections):
    assert sorted(set(sections) - set(ROUTING)) == []


def test_every_alarm_and_rule_of_the_plan_links_to_a_complete_section(
    network, platform, services, services_alt, sections
):
    linked = set()
    for evaluation in (network, platform, services, services_alt):
        for alarm in evaluation.all("aws:cloudwatch/metricAlarm:MetricAlarm"):
            match = LINK.search(alarm.inputs["alarmDescription"])
            assert match, alarm.name
            linked.add(match.group(1))
        for rule in evaluation.all("aws:cloudwatch/eventRule:EventRule"):
            if rule.inputs.get("scheduleExpression"):
                continue  # the heartbeat: docs/operations.md, "Paging that cannot fail in silence"
            match = LINK.search(rule.inputs["description"])
            assert match, rule.name
            linked.add(match.group(1))
    assert linked <= set(sections)
    assert [p for section in sorted(linked) for p in problems(section, sections[section])] == []
    # Every declared kind occurs in these plans (the certificate's in services_alt, which has one).
    assert set(ROUTING) - linked == set()


def test_the_check_catches_a_section_without_its_parts():
    body = (
        "\n**Impact.** payments fail.\n\n**Severity.** ticket: wrong.\n\n"
        "**First three commands.**\n```sh\naws ecs list-tasks\n```\n"
    )
    found = problems("target-5xx-rate", body)
    assert "target-5xx-rate: no **Fix.**" in found
    assert "target-5xx-rate: no **Escalation.**" in found
    assert "target-5xx-rate: severity is not the declared 'page'" in found
    assert "target-5xx-rate: 1 commands in its first-commands block, not 3" in found
