"""Typed configuration: the required defaults, and one test per validation error with its message."""

from __future__ import annotations

import ipaddress

import pytest

from shared.config import ConfigReader, NetworkConfig, PlatformConfig, ServicesConfig
from shared.config.aws_limits import FARGATE_CPU_MEMORY, LOG_RETENTION_DAYS
from shared.config.common import CommonConfig
from shared.errors import ConfigError


def reader(**values):
    return ConfigReader.from_mapping({"environmentSuffix": "dev", **values})


def network(**values) -> NetworkConfig:
    return NetworkConfig.load(reader(**values))


def services(**values) -> ServicesConfig:
    values.setdefault("networkStack", "org/payments-network/dev")
    values.setdefault("platformStack", "org/payments-platform/dev")
    if "certificateArn" not in values:
        values.setdefault("allowPlaintextHttp", "true")  # the refusal has its own tests
    return ServicesConfig.load(reader(**values))


def platform(**values) -> PlatformConfig:
    values.setdefault("networkStack", "org/payments-network/dev")
    return PlatformConfig.load(reader(**values))


def error_of(load, **values) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(**values)
    return caught.value


def test_defaults_are_the_required_ones():
    net = network()
    assert net.common == CommonConfig("dev", "dev", "payments", "us-east-1")
    assert net.vpc_cidr == ipaddress.ip_network("10.0.0.0/16")
    assert net.az_count == 3
    assert net.nat_gateways == "perAz"
    assert net.flow_log_retention_days == 30
    assert net.interface_endpoints is False

    svc = services()
    assert (svc.task.cpu, svc.task.memory) == (1024, 2048)
    assert svc.task.architecture == "X86_64"
    assert svc.task.log_retention_days == 30
    assert (svc.scaling.min_capacity, svc.scaling.max_capacity) == (2, 10)
    assert svc.scaling.desired_count == 2
    assert (svc.scaling.cpu_target_percent, svc.scaling.memory_target_percent) == (70, 70)
    assert svc.release.deployment_config == "CodeDeployDefault.ECSAllAtOnce"
    assert svc.release.termination_wait_minutes == 5


def test_common_values_are_read_from_config():
    common = network(environment="staging", costCenter="cc-1234", region="eu-west-1").common
    assert common == CommonConfig("dev", "staging", "cc-1234", "eu-west-1")
    assert common.provider_default_tags == {"Environment": "staging", "CostCenter": "cc-1234"}


@pytest.mark.parametrize(
    ("values", "key", "message"),
    [
        ({"environmentSuffix": ""}, "environmentSuffix", "the environment suffix is required"),
        ({"environmentSuffix": "DEV"}, "environmentSuffix", "only lowercase letters"),
        ({"region": "moon-1"}, "region", "must be an AWS region code such as us-east-1"),
        ({"costCenter": "a<b"}, "costCenter", "must be 1-256 letters, digits, spaces"),
        ({"vpcCidr": "10.0.0.0/33"}, "vpcCidr", "must be an IPv4 CIDR block"),
        ({"vpcCidr": "banana"}, "vpcCidr", "must be an IPv4 CIDR block"),
        ({"vpcCidr": "10.0.0.1/16"}, "vpcCidr", "has host bits set"),
        ({"vpcCidr": "fd00::/56"}, "vpcCidr", "must be an IPv4 CIDR block"),
        ({"vpcCidr": "10.0.0.0/8"}, "vpcCidr", "must be between /16 and /28"),
        ({"azCount": "2"}, "azCount", "must be at least 3"),
        ({"azCount": "three"}, "azCount", "must be a whole number"),
        (
            {"availabilityZones": ["us-east-1a", "us-east-1b"]},
            "availabilityZones",
            "must name at least 3 distinct availability zones",
        ),
        (
            {"availabilityZones": ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1a"]},
            "availabilityZones",
            "must not repeat a zone",
        ),
        (
            {"availabilityZones": ["us-east-1a", "us-east-1b", "eu-west-1a"]},
            "availabilityZones",
            "must all be zones of us-east-1",
        ),
        ({"availabilityZones": "us-east-1a"}, "availabilityZones", "must be a list written as JSON"),
        ({"availabilityZones": {"a": 1}}, "availabilityZones", "must be a list of strings"),
        ({"natGateways": "two"}, "natGateways", 'must be one of "perAz", "single"'),
        ({"flowLogRetentionDays": "31"}, "flowLogRetentionDays", "must be a CloudWatch Logs"),
        ({"flowLogTrafficType": "SOME"}, "flowLogTrafficType", 'must be one of "ALL"'),
        ({"interfaceEndpoints": "yes"}, "interfaceEndpoints", "must be true or false"),
        (
            {"kmsDeletionWindowDays": "3"},
            "kmsDeletionWindowDays",
            "must be at least 7 and at most 30",
        ),
        ({"publicSubnetPrefix": "30"}, "publicSubnetPrefix", "at most 28"),
    ],
)
def test_network_config_errors_name_the_key(values, key, message):
    error = error_of(network, **values)
    assert error.key == key
    assert str(error).startswith(f"{key}: ")
    assert message in str(error)
    assert "Fix: " in str(error)


def test_unknown_nat_layout_says_how_to_fix_it():
    error = error_of(network, natGateways="two")
    assert str(error) == (
        'natGateways: must be one of "perAz", "single", got "two". Fix: in stacks/network: '
        "pulumi config set natGateways perAz; with plan: --config network:natGateways=perAz"
    )


@pytest.mark.parametrize(
    ("values", "key", "message"),
    [
        ({"taskCpu": "1000"}, "taskCpu", "must be a Fargate CPU size: 256, 512, 1024"),
        ({"taskMemory": "1024"}, "taskMemory", "not a Fargate memory size for 1024 CPU units"),
        ({"taskCpu": "256", "taskMemory": "4096"}, "taskMemory", "allowed: 512-2048 MiB"),
        (
            {"minCapacity": "5", "maxCapacity": "4"},
            "maxCapacity",
            "must be at least minCapacity (5)",
        ),
        ({"minCapacity": "0"}, "minCapacity", "must be at least 1"),
        ({"desiredCount": "11"}, "desiredCount", "must be at least 2 and at most 10"),
        ({"cpuTargetPercent": "0"}, "cpuTargetPercent", "must be at least 1 and at most 100"),
        ({"memoryTargetPercent": "101"}, "memoryTargetPercent", "at most 100"),
        ({"logRetentionDays": "45"}, "logRetentionDays", "must be a CloudWatch Logs retention"),
        ({"cpuArchitecture": "ARM"}, "cpuArchitecture", 'must be one of "X86_64", "ARM64"'),
        (
            {"deploymentConfig": "CodeDeployDefault.OneAtATime"},
            "deploymentConfig",
            'must be one of "CodeDeployDefault.ECSAllAtOnce"',
        ),
        ({"terminationWaitMinutes": "-1"}, "terminationWaitMinutes", "must be at least 0"),
        ({"networkStack": "payments-network"}, "networkStack", "<org>/<project>/<stack>"),
    ],
)
def test_services_config_errors_name_the_key(values, key, message):
    error = error_of(services, **values)
    assert error.key == key
    assert str(error).startswith(f"{key}: ")
    assert message in str(error)


def test_min_above_max_names_both_keys_and_the_fix():
    error = error_of(services, minCapacity="5", maxCapacity="4")
    assert str(error) == (
        "maxCapacity: must be at least minCapacity (5), got 4. "
        "Fix: in stacks/services: raise maxCapacity or lower minCapacity: pulumi config set maxCapacity 10; "
        "with plan: --config services:maxCapacity=10"
    )


@pytest.mark.parametrize(("cpu", "memories"), sorted(FARGATE_CPU_MEMORY.items()))
def test_every_fargate_pair_is_accepted(cpu, memories):
    for memory in memories:
        loaded = services(taskCpu=str(cpu), taskMemory=str(memory))
        assert (loaded.task.cpu, loaded.task.memory) == (cpu, memory)


@pytest.mark.parametrize("days", LOG_RETENTION_DAYS)
def test_every_cloudwatch_retention_is_accepted(days):
    assert services(logRetentionDays=str(days)).task.log_retention_days == days


def test_explicit_zones_set_the_zone_count():
    loaded = network(availabilityZones=["us-east-1d", "us-east-1e", "us-east-1f", "us-east-1a"])
    assert loaded.az_count == 4
    assert loaded.availability_zones == ("us-east-1d", "us-east-1e", "us-east-1f", "us-east-1a")


def test_platform_defaults():
    loaded = platform()
    assert loaded.container_insights == "enabled"
    assert loaded.fargate_spot_weight == 0
    assert loaded.ecs_exec is False
    assert loaded.namespace_name == "payments-dev.local"
    assert loaded.allowed_ingress_cidrs == ("0.0.0.0/0",)
    assert loaded.secret_rotation_schedule == "rate(30 days)"
    assert loaded.log_retention_days == 30
    assert loaded.kms_deletion_window_days == 7


def test_platform_accepts_cidrs_and_a_cron_schedule():
    loaded = platform(
        allowedIngressCidrs=["203.0.113.0/24", "198.51.100.0/24"],
        secretRotationSchedule="cron(0 4 ? * SUN *)",
        containerInsights="enhanced",
        namespaceName="pay",
        namespaceDomain="internal",
    )
    assert loaded.allowed_ingress_cidrs == ("203.0.113.0/24", "198.51.100.0/24")
    assert loaded.secret_rotation_schedule == "cron(0 4 ? * SUN *)"
    assert loaded.container_insights == "enhanced"
    assert loaded.namespace_name == "pay-dev.internal"


@pytest.mark.parametrize(
    ("values", "key", "message"),
    [
        ({"containerInsights": "disabled"}, "containerInsights", 'must be one of "enabled", "enhanced"'),
        ({"containerInsights": "on"}, "containerInsights", 'must be one of "enabled", "enhanced"'),
        ({"allowedIngressCidrs": ["10.0.0.0/33"]}, "allowedIngressCidrs", "must be an IPv4 CIDR block"),
        ({"allowedIngressCidrs": []}, "allowedIngressCidrs", "at least one CIDR block"),
        ({"allowedIngressCidrs": "0.0.0.0/0"}, "allowedIngressCidrs", "must be a list written as JSON"),
        ({"secretRotationSchedule": "every month"}, "secretRotationSchedule", "must be rate(<n> days)"),
        ({"secretRotationSchedule": "rate(0 days)"}, "secretRotationSchedule", "in days must be 1-1000"),
        ({"secretRotationSchedule": "rate(2 hours)"}, "secretRotationSchedule", "in hours must be 4-23"),
        ({"secretRotationSchedule": "cron(0 4 * *)"}, "secretRotationSchedule", "6-field cron"),
        ({"fargateSpotWeight": "-1"}, "fargateSpotWeight", "must be at least 0"),
        ({"ecsExec": "maybe"}, "ecsExec", "must be true or false"),
        ({"namespaceName": "Pay_Ments"}, "namespaceName", "a private DNS namespace"),
        ({"accessLogExpirationDays": "0"}, "accessLogExpirationDays", "must be at least 1"),
        ({"logRetentionDays": "10"}, "logRetentionDays", "must be a CloudWatch Logs retention"),
    ],
)
def test_platform_config_errors_name_the_key(values, key, message):
    error = error_of(platform, **values)
    assert error.key == key
    assert str(error).startswith(f"{key}: ")
    assert message in str(error)
