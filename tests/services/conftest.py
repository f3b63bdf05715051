from __future__ import annotations

from typing import Any

import pytest

from offline.engine import Evaluation, RecordedResource
from offline.layers import Layer, evaluate_layer
from shared.catalogue import CATALOGUE, ServiceSpec
from tests.conftest import CERTIFICATE_ARN
from tests.helpers import ancestors

# A services stack that differs from the example in every knob it has.
SERVICES_ALT_CONFIG: dict[str, Any] = {
    "environmentSuffix": "qa-7",
    "imageTag": "2026.11.24",
    "images": {"fraud-detector": "public.ecr.aws/example/fraud-detector:1.4.2"},
    "taskCpu": 2048,
    "taskMemory": 5120,
    "cpuArchitecture": "ARM64",
    "fargateSpotWeight": 3,
    "logRetentionDays": 90,
    "stopTimeoutSeconds": 45,
    "healthCheckIntervalSeconds": 20,
    "healthCheckTimeoutSeconds": 4,
    "healthCheckRetries": 5,
    "healthCheckStartPeriodSeconds": 40,
    "untaggedImageExpiryDays": 3,
    "taggedImagesKept": 12,
    "desiredCount": 4,
    "minCapacity": 3,
    "maxCapacity": 6,
    "cpuTargetPercent": 60,
    "memoryTargetPercent": 80,
    "scaleInCooldownSeconds": 120,
    "scaleOutCooldownSeconds": 30,
    "certificateArn": CERTIFICATE_ARN,
    "deregistrationDelaySeconds": 10,
    "healthCheckGracePeriodSeconds": 90,
    "targetHealthIntervalSeconds": 10,
    "targetHealthTimeoutSeconds": 3,
    "targetHealthyThreshold": 3,
    "targetUnhealthyThreshold": 2,
    "target5xxThreshold": 20,
    "gatewayLatencyThresholdMs": 750,
    "alarmEvaluationMinutes": 3,
    "deploymentConfig": "CodeDeployDefault.ECSCanary10Percent5Minutes",
    "terminationWaitMinutes": 15,
}


@pytest.fixture(scope="session")
def services(network: Evaluation, platform: Evaluation) -> Evaluation:
    """The services layer's example dev stack on the example network and platform."""
    return evaluate_layer(
        "services",
        upstream={
            Layer("network").stack_name("dev"): network.exports,
            Layer("platform").stack_name("dev"): platform.exports,
        },
    )


@pytest.fixture(scope="session")
def services_alt(network_ha: Evaluation, platform_alt: Evaluation) -> Evaluation:
    """The services layer with every knob changed, on the changed network and platform."""
    return evaluate_layer(
        "services",
        config=SERVICES_ALT_CONFIG,
        upstream={
            Layer("network").stack_name("dev"): network_ha.exports,
            Layer("platform").stack_name("dev"): platform_alt.exports,
        },
    )


# Both stacks with their suffix: parametrize a test over (fixture name, suffix).
STACKS = [("services", "dev"), ("services_alt", "qa-7")]
SPECS = [pytest.param(spec, id=spec.name) for spec in CATALOGUE]


def owned_by(evaluation: Evaluation, spec: ServiceSpec, type_: str) -> list[RecordedResource]:
    """Resources of `type_` inside `spec`'s FargateService (or tagged with its name)."""
    component = evaluation.one("payments:services:FargateService", spec.name)
    return [r for r in evaluation.all(type_) if component in ancestors(evaluation, r)]


def one_owned(evaluation: Evaluation, spec: ServiceSpec, type_: str, contains: str = "") -> RecordedResource:
    found = [r for r in owned_by(evaluation, spec, type_) if contains in r.name]
    assert len(found) == 1, [r.name for r in found]
    return found[0]
