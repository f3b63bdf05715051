"""Auto scaling: 2-10 tasks per service, tracking 70 % CPU and 70 % memory."""

from __future__ import annotations

import pytest

from tests.services.conftest import SPECS, STACKS, one_owned, owned_by

TARGET = "aws:appautoscaling/target:Target"
POLICY = "aws:appautoscaling/policy:Policy"


@pytest.mark.parametrize(("fixture", "suffix"), STACKS)
@pytest.mark.parametrize("spec", SPECS)
def test_the_scalable_target_is_the_service_desired_count(request, fixture, suffix, spec):
    evaluation = request.getfixturevalue(fixture)
    target = one_owned(evaluation, spec, TARGET).inputs
    cluster = f"ecs-cluster-{suffix}"
    assert target["resourceId"] == f"service/{cluster}/ecs-service-{spec.name}-{suffix}"
    assert (target["serviceNamespace"], target["scalableDimension"]) == ("ecs", "ecs:service:DesiredCount")
    expected = (2, 10) if fixture == "services" else (3, 6)
    assert (target["minCapacity"], target["maxCapacity"]) == expected


@pytest.mark.parametrize(("fixture", "suffix"), STACKS)
@pytest.mark.parametrize("spec", SPECS)
def test_cpu_and_memory_are_tracked_with_explicit_cooldowns(request, fixture, suffix, spec):
    evaluation = request.getfixturevalue(fixture)
    target = one_owned(evaluation, spec, TARGET)
    policies = {}
    for policy in owned_by(evaluation, spec, POLICY):
        inputs = policy.inputs
        assert inputs["policyType"] == "TargetTrackingScaling"
        assert inputs["resourceId"] == target.inputs["resourceId"]
        config = inputs["targetTrackingScalingPolicyConfiguration"]
        metric = config["predefinedMetricSpecification"]["predefinedMetricType"]
        policies[metric] = (config["targetValue"], config["scaleInCooldown"], config["scaleOutCooldown"])
        assert config.get("disableScaleIn") is False
        assert inputs["name"].startswith(f"scaling-{spec.name}-")
        assert inputs["name"].endswith(suffix)
    if fixture == "services":
        assert policies == {
            "ECSServiceAverageCPUUtilization": (70, 300, 60),
            "ECSServiceAverageMemoryUtilization": (70, 300, 60),
        }
    else:
        assert policies == {
            "ECSServiceAverageCPUUtilization": (60, 120, 30),
            "ECSServiceAverageMemoryUtilization": (80, 120, 30),
        }
