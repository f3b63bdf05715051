"""ECR: one immutable, encrypted, scanned repository per service, pruned by a policy ECR accepts."""

from __future__ import annotations

import json

import pytest

from stacks.services.repository import lifecycle_policy, lifecycle_problems
from tests.services.conftest import SPECS, STACKS, one_owned


@pytest.mark.parametrize(("fixture", "suffix"), STACKS)
@pytest.mark.parametrize("spec", SPECS)
def test_repositories_are_immutable_kms_encrypted_scanned_and_destroyable(request, fixture, suffix, spec):
    evaluation = request.getfixturevalue(fixture)
    platform = request.getfixturevalue("platform" if fixture == "services" else "platform_alt")
    inputs = one_owned(evaluation, spec, "aws:ecr/repository:Repository").inputs
    assert inputs["name"] == f"ecr-{spec.name}-{suffix}"
    assert inputs["imageTagMutability"] == "IMMUTABLE"
    assert inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert inputs["encryptionConfigurations"] == [
        {"encryptionType": "KMS", "kmsKey": platform.exports["kmsKeyArn"]}
    ]
    assert inputs["forceDelete"] is True


@pytest.mark.parametrize(("fixture", "suffix"), STACKS)
@pytest.mark.parametrize("spec", SPECS)
def test_the_lifecycle_policy_expires_untagged_images_and_keeps_the_latest(request, fixture, suffix, spec):
    evaluation = request.getfixturevalue(fixture)
    repository = one_owned(evaluation, spec, "aws:ecr/repository:Repository")
    lifecycle = one_owned(evaluation, spec, "aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs
    assert lifecycle["repository"] == repository.inputs["name"]
    policy = json.loads(lifecycle["policy"])
    assert lifecycle_problems(policy) == []
    untagged, latest = policy["rules"]
    days, kept = (7, 30) if fixture == "services" else (3, 12)
    assert untagged["selection"] == {
        "tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": days
    }  # fmt: skip
    assert latest["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": kept}


def _rule(priority, **selection):
    base = {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 5}
    return {"rulePriority": priority, "selection": {**base, **selection}, "action": {"type": "expire"}}


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        ([_rule(1), _rule(1)], "rulePriority values must be unique"),
        ([_rule(2, tagStatus="any"), _rule(3)], "the tagStatus any rule must have the highest rulePriority"),
        ([_rule(1, tagStatus="any"), _rule(2, tagStatus="any")], "only one rule may select tagStatus any"),
        ([_rule(1, countUnit="days")], "countUnit is allowed only with sinceImagePushed"),
        ([_rule(1, countType="sinceImagePushed")], "sinceImagePushed needs countUnit days"),
        ([_rule(1, tagStatus="tagged")], "a tagged rule needs tagPrefixList or tagPatternList"),
        ([_rule(1, tagStatus="latest")], "tagStatus must be one of"),
        ([_rule(1, countNumber=0)], "countNumber must be a positive integer"),
        ([_rule(0)], "rulePriority must be a positive integer"),
        ([], "non-empty list of rules"),
    ],
)
def test_lifecycle_problems_catch_what_ecr_rejects(rules, problem):
    assert any(problem in found for found in lifecycle_problems({"rules": rules})), lifecycle_problems(
        {"rules": rules}
    )


def test_the_generated_policy_passes_for_any_sensible_settings():
    for days in (1, 7, 365):
        for kept in (1, 30, 1000):
            assert lifecycle_problems(lifecycle_policy(days, kept)) == []
