"""The `pulumi_policy` adapters hand the same rules real pack arguments and report their findings."""

from __future__ import annotations

import json

from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy.pack import policies
from policy.rules import RULES

OPTIONS = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
PROVIDER = PolicyProviderResource(
    "pulumi:providers:aws",
    {"defaultTags": {"tags": {"Environment": "dev", "CostCenter": "payments"}}},
    "urn:p",
    "aws",
)


def by_name():
    return {p.name: p for p in policies()}


def test_every_rule_becomes_a_policy_with_its_enforcement():
    found = by_name()
    for rule in RULES:
        names = [n for n in found if n == rule.name or n == f"{rule.name}-resource"]
        assert names, rule.name
        level = EnforcementLevel.ADVISORY if rule.enforcement == "advisory" else EnforcementLevel.MANDATORY
        assert all(found[n].enforcement_level == level for n in names)


def test_a_resource_policy_reports_what_its_rule_finds():
    policy = by_name()["ecr-immutable-tags"]
    assert isinstance(policy, ResourceValidationPolicy)
    reports: list[str] = []
    args = ResourceValidationArgs(
        "aws:ecr/repository:Repository",
        {"imageTagMutability": "MUTABLE"},
        "urn:r",
        "ecr-api-dev",
        OPTIONS,
        PROVIDER,
        {"environmentSuffix": "dev"},
    )
    policy.validate(args, lambda message, urn=None: reports.append(message))
    assert reports == ["image tags are mutable"]


def test_provider_default_tags_count_for_the_tag_rule():
    policy = by_name()["compliance-tags"]
    reports: list[str] = []
    args = ResourceValidationArgs(
        "aws:ecr/repository:Repository",
        {"tags": {"Service": "api-gateway"}},
        "urn:r",
        "ecr-api-dev",
        OPTIONS,
        PROVIDER,
        {"environmentSuffix": "dev"},
    )
    policy.validate(args, lambda message, urn=None: reports.append(message))
    assert reports == []


def test_a_stack_policy_sees_all_resources():
    policy = by_name()["own-task-role"]
    assert isinstance(policy, StackValidationPolicy)
    shared = {"taskRoleArn": "arn:role/shared", "executionRoleArn": "arn:role/exec"}
    resources = [
        PolicyResource(
            "aws:ecs/taskDefinition:TaskDefinition", shared, f"urn:{n}", n, OPTIONS, PROVIDER, None, [], {}
        )
        for n in ("task-a-dev", "task-b-dev")
    ]
    reports: list[str] = []
    policy.validate(
        StackValidationArgs(resources, {"environmentSuffix": "dev"}), lambda m, u=None: reports.append(m)
    )
    assert reports == ["task-b-dev: shares its task role with task-a-dev"]


def test_the_example_pack_config_does_not_override_the_rules_enforcement():
    # Pulumi applies a top-level "all" to every policy, which would make the advisory (sizing) rules block
    # a deliberate change, or downgrade the mandatory ones (pulumi.com/docs, "Configuring policy packs").
    from pathlib import Path

    config = json.loads((Path(__file__).parents[2] / "policy" / "config.dev.json").read_text())
    assert "all" not in config
    assert all(not isinstance(v, str) for v in config.values())  # no per-policy level either
