"""Typed configuration of `stacks/services`: sizing, scaling and release settings of the services."""

from __future__ import annotations

from dataclasses import dataclass

from shared.config.common import CommonConfig
from shared.config.reader import ConfigReader
from shared.config.validators import capacity_range, fargate_size, log_retention, target_percent
from shared.contracts import NETWORK_PROJECT, PLATFORM_PROJECT, upstream_stack_name

ARCHITECTURES = ("X86_64", "ARM64")
# The predefined ECS deployment configurations (CodeDeploy user guide, "Deployment configurations on
# an Amazon ECS compute platform"). Terraform's default OneAtATime is an EC2 one, hence always explicit.
ECS_DEPLOYMENT_CONFIGS = (
    "CodeDeployDefault.ECSAllAtOnce",
    "CodeDeployDefault.ECSCanary10Percent5Minutes",
    "CodeDeployDefault.ECSCanary10Percent15Minutes",
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
)


@dataclass(frozen=True)
class ScalingConfig:
    """Task count bounds and target-tracking settings, the same for every service."""

    desired_count: int  # `desiredCount`, default 2: tasks at first deployment
    min_capacity: int  # `minCapacity`, default 2
    max_capacity: int  # `maxCapacity`, default 10
    cpu_target_percent: int  # `cpuTargetPercent`, default 70
    memory_target_percent: int  # `memoryTargetPercent`, default 70
    scale_in_cooldown_seconds: int  # `scaleInCooldownSeconds`, default 300
    scale_out_cooldown_seconds: int  # `scaleOutCooldownSeconds`, default 60

    @classmethod
    def load(cls, reader: ConfigReader) -> ScalingConfig:
        minimum, maximum = capacity_range(
            reader.integer("minCapacity", 2),
            reader.integer("maxCapacity", 10),
            min_key="minCapacity",
            max_key="maxCapacity",
        )
        desired = reader.integer("desiredCount", minimum, minimum=minimum, maximum=maximum)
        return cls(
            desired_count=desired,
            min_capacity=minimum,
            max_capacity=maximum,
            cpu_target_percent=target_percent(reader, "cpuTargetPercent", 70),
            memory_target_percent=target_percent(reader, "memoryTargetPercent", 70),
            scale_in_cooldown_seconds=reader.integer("scaleInCooldownSeconds", 300, minimum=0),
            scale_out_cooldown_seconds=reader.integer("scaleOutCooldownSeconds", 60, minimum=0),
        )


@dataclass(frozen=True)
class TaskConfig:
    """The Fargate task size and platform, the same for every service."""

    cpu: int  # `taskCpu`, default 1024 CPU units (1 vCPU)
    memory: int  # `taskMemory`, default 2048 MiB
    architecture: str  # `cpuArchitecture`, X86_64 (default) or ARM64
    log_retention_days: int  # `logRetentionDays`, default 30

    @classmethod
    def load(cls, reader: ConfigReader) -> TaskConfig:
        cpu, memory = fargate_size(
            reader.integer("taskCpu", 1024),
            reader.integer("taskMemory", 2048),
            cpu_key="taskCpu",
            memory_key="taskMemory",
        )
        return cls(
            cpu=cpu,
            memory=memory,
            architecture=reader.choice("cpuArchitecture", "X86_64", ARCHITECTURES),
            log_retention_days=log_retention(reader, "logRetentionDays"),
        )


@dataclass(frozen=True)
class ReleaseConfig:
    """How CodeDeploy shifts traffic to a new task set."""

    deployment_config: str  # `deploymentConfig`, default CodeDeployDefault.ECSAllAtOnce
    termination_wait_minutes: int  # `terminationWaitMinutes`, default 5: old tasks kept for rollback

    @classmethod
    def load(cls, reader: ConfigReader) -> ReleaseConfig:
        return cls(
            deployment_config=reader.choice(
                "deploymentConfig", ECS_DEPLOYMENT_CONFIGS[0], ECS_DEPLOYMENT_CONFIGS
            ),
            termination_wait_minutes=reader.integer("terminationWaitMinutes", 5, minimum=0, maximum=2880),
        )


@dataclass(frozen=True)
class ServicesConfig:
    """Every knob of the services layer."""

    common: CommonConfig
    network_stack: str  # `networkStack`, default <org>/payments-network/<this stack>
    platform_stack: str  # `platformStack`, default <org>/payments-platform/<this stack>
    task: TaskConfig
    scaling: ScalingConfig
    release: ReleaseConfig

    @classmethod
    def load(cls, reader: ConfigReader | None = None) -> ServicesConfig:
        reader = reader or ConfigReader.from_pulumi()
        return cls(
            common=CommonConfig.load(reader),
            network_stack=upstream_stack_name(
                "networkStack", reader.optional_string("networkStack"), NETWORK_PROJECT
            ),
            platform_stack=upstream_stack_name(
                "platformStack", reader.optional_string("platformStack"), PLATFORM_PROJECT
            ),
            task=TaskConfig.load(reader),
            scaling=ScalingConfig.load(reader),
            release=ReleaseConfig.load(reader),
        )
