"""Typed configuration of `stacks/services`: images, sizing, scaling, traffic and release settings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from shared import catalogue
from shared.config.alerting import ServiceAlarmConfig
from shared.config.common import CommonConfig
from shared.config.reader import ConfigReader
from shared.config.validators import capacity_range, fargate_size, log_retention, probe_timing, target_percent
from shared.contracts import NETWORK_PROJECT, PLATFORM_PROJECT, upstream_stack_name
from shared.errors import ConfigError
from shared.release_timeline import check_rollback_window

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
_CERTIFICATE_ARN = re.compile(r"arn:aws[a-z-]*:acm:[a-z]{2}(-[a-z]+)+-\d:\d{12}:certificate/[0-9a-f-]{36}")
# Docker's reference grammar (distribution/reference): [host[:port]/]path[:tag][@sha256:digest].
_TAG = r"[\w][\w.-]{0,127}"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = (
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::\d+)?/)"
)
_IMAGE_REFERENCE = re.compile(
    rf"{_HOST}?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*(?::{_TAG})?(?:@sha256:[0-9a-f]{{64}})?"
)
_IMAGE_TAG = re.compile(_TAG)


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
class HealthCheckConfig:
    """The container health check; ECS's limits (ContainerDefinition.healthCheck) are enforced."""

    interval_seconds: int  # `healthCheckIntervalSeconds`, default 15 (5-300)
    timeout_seconds: int  # `healthCheckTimeoutSeconds`, default 5 (2-60)
    retries: int  # `healthCheckRetries`, default 3 (1-10)
    start_period_seconds: int  # `healthCheckStartPeriodSeconds`, default 30 (0-300)

    @classmethod
    def load(cls, reader: ConfigReader) -> HealthCheckConfig:
        # ECS's ContainerDefinition.healthCheck limits.
        interval, timeout = probe_timing(
            reader,
            interval_key="healthCheckIntervalSeconds",
            timeout_key="healthCheckTimeoutSeconds",
            interval=(15, 5, 300),
            timeout=(5, 2, 60),
        )
        return cls(
            interval_seconds=interval,
            timeout_seconds=timeout,
            retries=reader.integer("healthCheckRetries", 3, minimum=1, maximum=10),
            start_period_seconds=reader.integer("healthCheckStartPeriodSeconds", 30, minimum=0, maximum=300),
        )


@dataclass(frozen=True)
class TaskConfig:
    """The Fargate task size, platform and container settings, the same for every service."""

    cpu: int  # `taskCpu`, default 1024 CPU units (1 vCPU)
    memory: int  # `taskMemory`, default 2048 MiB
    architecture: str  # `cpuArchitecture`, X86_64 (default) or ARM64
    log_retention_days: int  # `logRetentionDays`, default 30
    stop_timeout_seconds: int  # `stopTimeoutSeconds`, default 30: SIGTERM to SIGKILL (Fargate max 120)
    health_check: HealthCheckConfig

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
            stop_timeout_seconds=reader.integer("stopTimeoutSeconds", 30, minimum=2, maximum=120),
            health_check=HealthCheckConfig.load(reader),
        )


@dataclass(frozen=True)
class ImageConfig:
    """Which image each service runs at creation; releases replace it afterwards (CodeDeploy)."""

    default_tag: str  # `imageTag`, default "v1": a tag in the service's own ECR repository
    overrides: Mapping[str, str] = field(default_factory=dict)  # `images`: {service: tag or reference}

    def source(self, service: str) -> ImageSource:
        value = self.overrides.get(service, self.default_tag)
        return ImageSource(reference=value) if "/" in value else ImageSource(tag=value)

    @classmethod
    def load(cls, reader: ConfigReader) -> ImageConfig:
        default_tag = reader.string("imageTag", "v1")
        if not _IMAGE_TAG.fullmatch(default_tag):
            raise ConfigError(
                "imageTag",
                default_tag,
                "must be an image tag: a letter, digit or _ then up to 127 of those or .-",
                "pulumi config set imageTag v1",
            )
        overrides: object = reader.json_value("images", {})
        if not isinstance(overrides, dict) or not all(isinstance(v, str) for v in overrides.values()):
            raise ConfigError(
                "images",
                overrides,
                "must map service names to an image tag or a full image reference",
                "pulumi config set --path 'images.api-gateway' v2",
            )
        names = [spec.name for spec in catalogue.CATALOGUE]
        for service, value in overrides.items():
            if service not in names:
                raise ConfigError(
                    f"images.{service}",
                    service,
                    "is not a service in the catalogue",
                    f"use one of {', '.join(names)}",
                )
            _check_image(f"images.{service}", value)
        return cls(default_tag, MappingProxyType(dict(overrides)))


@dataclass(frozen=True)
class ImageSource:
    """Exactly one of: a tag in the service's ECR repository, or a full image reference."""

    tag: str | None = None
    reference: str | None = None


def _check_image(key: str, value: str) -> None:
    pattern = _IMAGE_REFERENCE if "/" in value else _IMAGE_TAG
    if not pattern.fullmatch(value):
        raise ConfigError(
            key,
            value,
            "must be an image tag (v2) or a full reference (<registry>/<repository>[:tag][@sha256:<digest>])",
            f"pulumi config set --path '{key}' v2",
        )


@dataclass(frozen=True)
class RepositoryConfig:
    """ECR image retention."""

    untagged_expiry_days: int  # `untaggedImageExpiryDays`, default 7
    tagged_images_kept: int  # `taggedImagesKept`, default 30: the most recent images kept

    @classmethod
    def load(cls, reader: ConfigReader) -> RepositoryConfig:
        return cls(
            untagged_expiry_days=reader.integer("untaggedImageExpiryDays", 7, minimum=1, maximum=3650),
            tagged_images_kept=reader.integer("taggedImagesKept", 30, minimum=1, maximum=10000),
        )


@dataclass(frozen=True)
class TargetHealthConfig:
    """The ALB's health check of each target; ELB's limits (CreateTargetGroup) are enforced."""

    interval_seconds: int  # `targetHealthIntervalSeconds`, default 15 (5-300)
    timeout_seconds: int  # `targetHealthTimeoutSeconds`, default 5 (2-120, below the interval)
    healthy_threshold: int  # `targetHealthyThreshold`, default 2 (2-10) passes to take traffic
    unhealthy_threshold: int  # `targetUnhealthyThreshold`, default 3 (2-10) failures to lose it

    @classmethod
    def load(cls, reader: ConfigReader) -> TargetHealthConfig:
        # ELB's CreateTargetGroup limits; ELB itself rejects a timeout that is not below the interval.
        interval, timeout = probe_timing(
            reader,
            interval_key="targetHealthIntervalSeconds",
            timeout_key="targetHealthTimeoutSeconds",
            interval=(15, 5, 300),
            timeout=(5, 2, 120),
        )
        return cls(
            interval_seconds=interval,
            timeout_seconds=timeout,
            healthy_threshold=reader.integer("targetHealthyThreshold", 2, minimum=2, maximum=10),
            unhealthy_threshold=reader.integer("targetUnhealthyThreshold", 3, minimum=2, maximum=10),
        )


@dataclass(frozen=True)
class TrafficConfig:
    """Listeners, target groups and the alarms that stop a bad deployment."""

    certificate_arn: str | None  # `certificateArn`, default none: HTTP; with it HTTPS and 80 -> 443
    deregistration_delay_seconds: int  # `deregistrationDelaySeconds`, default 30 (0-30)
    health_check_grace_period_seconds: int  # `healthCheckGracePeriodSeconds`, default 60
    target_5xx_threshold: int  # `target5xxThreshold`, default 5 errors a minute
    gateway_latency_threshold_ms: int  # `gatewayLatencyThresholdMs`, default 1000: p99 at the ALB
    alarm_evaluation_minutes: int  # `alarmEvaluationMinutes`, default 2 consecutive breaching minutes
    target_health: TargetHealthConfig

    @property
    def tls(self) -> bool:
        return self.certificate_arn is not None

    @classmethod
    def load(cls, reader: ConfigReader) -> TrafficConfig:
        return cls(
            certificate_arn=_certificate(reader),
            # Short, so a release's old task set drains fast; payment requests take well under 30 s.
            deregistration_delay_seconds=reader.integer(
                "deregistrationDelaySeconds", 30, minimum=0, maximum=30
            ),
            health_check_grace_period_seconds=reader.integer(
                "healthCheckGracePeriodSeconds", 60, minimum=0, maximum=1800
            ),
            target_5xx_threshold=reader.integer("target5xxThreshold", 5, minimum=1),
            gateway_latency_threshold_ms=reader.integer("gatewayLatencyThresholdMs", 1000, minimum=10),
            alarm_evaluation_minutes=reader.integer("alarmEvaluationMinutes", 2, minimum=1, maximum=60),
            target_health=TargetHealthConfig.load(reader),
        )


def _certificate(reader: ConfigReader) -> str | None:
    arn = reader.optional_string("certificateArn")
    if arn is not None and not _CERTIFICATE_ARN.fullmatch(arn):
        raise ConfigError(
            "certificateArn",
            arn,
            "must be an ACM certificate ARN: arn:aws:acm:<region>:<account>:certificate/<uuid>",
            "pulumi config set certificateArn <arn>, or pulumi config rm certificateArn for HTTP only",
        )
    return arn


SCAN_SEVERITIES = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")  # ECR's, lowest first
MAX_SCAN_WAIT_SECONDS = 780  # the gate's timeout is this plus 60 s, under Lambda's 900 s limit


@dataclass(frozen=True)
class ReleaseConfig:
    """How CodeDeploy shifts traffic to a new task set, and how the release hooks judge it."""

    deployment_config: str  # `deploymentConfig`, default CodeDeployDefault.ECSAllAtOnce
    termination_wait_minutes: int  # `terminationWaitMinutes`, default 5: old tasks kept for rollback
    scan_severity_threshold: str  # `scanSeverityThreshold`, default HIGH: findings at or above fail
    scan_wait_seconds: int  # `scanWaitSeconds`, default 300: how long the gate waits for a running scan
    smoke_timeout_seconds: int  # `smokeTimeoutSeconds`, default 5: per smoke-test request
    hook_reserved_concurrency: int  # `hookReservedConcurrency`, default 2 per hook function

    @classmethod
    def load(cls, reader: ConfigReader) -> ReleaseConfig:
        return cls(
            deployment_config=reader.choice(
                "deploymentConfig", ECS_DEPLOYMENT_CONFIGS[0], ECS_DEPLOYMENT_CONFIGS
            ),
            termination_wait_minutes=reader.integer("terminationWaitMinutes", 5, minimum=0, maximum=2880),
            scan_severity_threshold=reader.choice("scanSeverityThreshold", "HIGH", SCAN_SEVERITIES),
            # Lambda stops a function at 900 s; the gate needs time left to report its verdict.
            scan_wait_seconds=reader.integer(
                "scanWaitSeconds", 300, minimum=0, maximum=MAX_SCAN_WAIT_SECONDS
            ),
            smoke_timeout_seconds=reader.integer("smokeTimeoutSeconds", 5, minimum=1, maximum=60),
            hook_reserved_concurrency=reader.integer("hookReservedConcurrency", 2, minimum=1),
        )


@dataclass(frozen=True)
class ServicesConfig:
    """Every knob of the services layer."""

    common: CommonConfig
    network_stack: str  # `networkStack`, default <org>/payments-network/<this stack>
    platform_stack: str  # `platformStack`, default <org>/payments-platform/<this stack>
    fargate_spot_weight: int  # `fargateSpotWeight`, default 0: FARGATE_SPOT share against FARGATE's 1
    task: TaskConfig
    images: ImageConfig
    repository: RepositoryConfig
    scaling: ScalingConfig
    traffic: TrafficConfig
    release: ReleaseConfig
    alarms: ServiceAlarmConfig  # the on-call alarms' thresholds

    @classmethod
    def load(cls, reader: ConfigReader | None = None) -> ServicesConfig:
        reader = reader or ConfigReader.from_pulumi()
        catalogue.validate()
        config = cls(
            common=CommonConfig.load(reader),
            network_stack=upstream_stack_name(
                "networkStack", reader.optional_string("networkStack"), NETWORK_PROJECT
            ),
            platform_stack=upstream_stack_name(
                "platformStack", reader.optional_string("platformStack"), PLATFORM_PROJECT
            ),
            fargate_spot_weight=reader.integer("fargateSpotWeight", 0, minimum=0, maximum=1000),
            task=TaskConfig.load(reader),
            images=ImageConfig.load(reader),
            repository=RepositoryConfig.load(reader),
            scaling=ScalingConfig.load(reader),
            traffic=TrafficConfig.load(reader),
            release=ReleaseConfig.load(reader),
            alarms=ServiceAlarmConfig.load(reader),
        )
        check_rollback_window(config.traffic, config.release)
        return config
