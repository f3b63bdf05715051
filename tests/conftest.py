from __future__ import annotations

from typing import Any

import pytest

from offline.engine import Evaluation
from offline.host import reuse_evaluations
from offline.layer_projects import Layer, evaluate_layer
from offline.live import after_release

pytest_plugins = ["tests.aws_fakes"]  # the moto fixtures `aws` and `hook_answers`

# Each distinct layer evaluation runs once per test process in its own interpreter, as the CLI runs it;
# a repeat (same config, same program files) is served from memory (offline/host.py).
reuse_evaluations()


@pytest.fixture(scope="session")
def network() -> Evaluation:
    """The network layer with its example dev stack (single NAT)."""
    return evaluate_layer("network")


@pytest.fixture(scope="session")
def network_ha() -> Evaluation:
    """The network layer with the HA defaults, another suffix and interface endpoints on."""
    return evaluate_layer(
        "network",
        config={"environmentSuffix": "qa-7", "natGateways": "perAz", "interfaceEndpoints": True},
    )


CERTIFICATE_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
# A platform stack that differs from the example in every knob, with credentials given as secrets.
PLATFORM_ALT_CONFIG = {
    "environmentSuffix": "qa-7",
    "containerInsights": "enhanced",
    "fargateSpotWeight": 0,
    "ecsExec": True,
    "namespaceName": "pay",
    "namespaceDomain": "internal",
    "allowedIngressCidrs": ["203.0.113.0/24", "198.51.100.0/24"],
    "accessLogExpirationDays": 30,
    "secretRotationSchedule": "rate(7 days)",
    "logRetentionDays": 90,
    "kmsDeletionWindowDays": 10,
    "rotationReservedConcurrency": 4,
    "database": "external",
    "databaseHost": "payments.cluster-abc.us-east-1.rds.amazonaws.com",
    "databasePort": 6432,
    "databaseName": "ledger",
    "databaseUsername": "ledger_app",
    "databaseTls": "verify-full",
    "databasePassword": "current-db-password-0001",
    "paymentProviderApiKey": "sk_live_provided_key_0001",
    "fraudScoringApiKey": "fraud-provided-key-0001",
    "paymentProviderApiKeyRotation": "http-key-api",
    "paymentProviderKeyApiUrl": "https://keys.payments-provider.example/api",
    "wafOptionalRuleGroups": ["sqlDatabase", "anonymousIpList"],
    "wafCountOnly": ["coreRuleSet", "rateLimit"],
    "wafRateLimit": 500,
    "wafRateLimitWindowSeconds": 60,
    "wafLogRetentionDays": 90,
}
PLATFORM_ALT_SECRETS = ("databasePassword", "paymentProviderApiKey", "fraudScoringApiKey")


@pytest.fixture(scope="session")
def platform(network: Evaluation) -> Evaluation:
    """The platform layer's example dev stack on top of the example network."""
    return evaluate_layer("platform", upstream={Layer("network").stack_name("dev"): network.exports})


@pytest.fixture(scope="session")
def platform_alt(network_ha: Evaluation) -> Evaluation:
    """The platform layer with every knob changed, an external database and given credentials."""
    return evaluate_layer(
        "platform",
        config=PLATFORM_ALT_CONFIG,
        secret_keys=PLATFORM_ALT_SECRETS,
        upstream={Layer("network").stack_name("dev"): network_ha.exports},
    )


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
    "secretCacheTtlSeconds": 120,
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
    "scanSeverityThreshold": "CRITICAL",
    "scanWaitSeconds": 120,
    "smokeTimeoutSeconds": 3,
    "hookReservedConcurrency": 1,
    "target5xxPercent": "2.5",
    "latencyP99ThresholdMs": 400,
    "atMaxCapacityPercent": 90,
    "onCallEvaluationMinutes": 4,
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


# Config changes a live stack may take: every services knob the alt stack turns, on the dev suffix,
# plus the settings only a release can carry (an extra task security group, a pinned platform version).
EXTRA_TASK_GROUP = "sg-0a1b2c3d4e5f60718"
SERVICES_CHANGED_CONFIG: dict[str, Any] = {
    **{k: v for k, v in SERVICES_ALT_CONFIG.items() if k != "environmentSuffix"},
    "taskSecurityGroupIds": [EXTRA_TASK_GROUP],
    "platformVersion": "1.4.0",
}


@pytest.fixture(scope="session")
def services_released(services: Evaluation) -> dict[str, dict[str, Any]]:
    """The dev services stack as AWS holds it after one release of every service (traffic on green)."""
    return after_release(services)


@pytest.fixture(scope="session")
def services_changed(
    network: Evaluation, platform: Evaluation, services_released: dict[str, dict[str, Any]]
) -> Evaluation:
    """A second `up` of the released dev stack with SERVICES_CHANGED_CONFIG."""
    return evaluate_layer(
        "services",
        config=SERVICES_CHANGED_CONFIG,
        upstream={
            Layer("network").stack_name("dev"): network.exports,
            Layer("platform").stack_name("dev"): platform.exports,
        },
        live=services_released,
    )


PCI = {"complianceProfile": "pci"}


@pytest.fixture(scope="session")
def network_pci() -> Evaluation:
    """The example network with `complianceProfile: pci`."""
    return evaluate_layer("network", config=PCI)


@pytest.fixture(scope="session")
def platform_pci(network_pci: Evaluation) -> Evaluation:
    """The example platform with `complianceProfile: pci`, on the pci network."""
    return evaluate_layer(
        "platform", config=PCI, upstream={Layer("network").stack_name("dev"): network_pci.exports}
    )


@pytest.fixture(scope="session")
def services_pci(network_pci: Evaluation, platform_pci: Evaluation) -> Evaluation:
    """The example services with `complianceProfile: pci`, on the pci network and platform."""
    return evaluate_layer(
        "services",
        config=PCI,
        upstream={
            Layer("network").stack_name("dev"): network_pci.exports,
            Layer("platform").stack_name("dev"): platform_pci.exports,
        },
    )
