"""Typed configuration of `stacks/services`: images, sizing, scaling, traffic and release settings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from shared import catalogue
from shared.config.alerting import ServiceAlarmConfig
from shared.config.common import CommonConfig
from shared.config.declared import load_layer
from shared.config.reader import ConfigReader
from shared.config.validators import capacity_range, fargate_size, log_retention, probe_timing
from shared.container_settings import CONTAINER_SETTINGS, DATABASE_POOL_SIZE
from shared.contracts import NETWORK_PROJECT, PLATFORM_PROJECT, upstream_stack_name
from shared.errors import ConfigError
from shared.release_timeline import check_rollback_window

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
_SECURITY_GROUP_ID = re.compile(r"sg-(?:[0-9a-f]{8}|[0-9a-f]{17})")
# Fargate platform versions (ECS developer guide, "Fargate Linux platform versions"): LATEST or x.y.z.
_PLATFORM_VERSION = re.compile(r"LATEST|\d+\.\d+\.\d+")


@dataclass(frozen=True)
class ScalingConfig:
    """Task count bounds and target-tracking settings, the same for every service."""

    desired_count: int  # `desiredCount`: tasks at first deployment
    min_capacity: int  # `minCapacity`
    max_capacity: int  # `maxCapacity`
    cpu_target_percent: int  # `cpuTargetPercent`
    memory_target_percent: int  # `memoryTargetPercent`
    scale_in_cooldown_seconds: int  # `scaleInCooldownSeconds`
    scale_out_cooldown_seconds: int  # `scaleOutCooldownSeconds`

    @classmethod
    def load(cls, reader: ConfigReader) -> ScalingConfig:
        minimum, maximum = capacity_range(
            reader.integer("minCapacity"),
            reader.integer("maxCapacity"),
            min_key="minCapacity",
            max_key="maxCapacity",
        )
        desired = reader.integer("desiredCount", default=minimum, minimum=minimum, maximum=maximum)
        return cls(
            desired_count=desired,
            min_capacity=minimum,
            max_capacity=maximum,
            cpu_target_percent=reader.integer("cpuTargetPercent"),
            memory_target_percent=reader.integer("memoryTargetPercent"),
            scale_in_cooldown_seconds=reader.integer("scaleInCooldownSeconds"),
            scale_out_cooldown_seconds=reader.integer("scaleOutCooldownSeconds"),
        )


@dataclass(frozen=True)
class HealthCheckConfig:
    """The container health check; ECS's limits (ContainerDefinition.healthCheck) are enforced."""

    interval_seconds: int  # `healthCheckIntervalSeconds`
    timeout_seconds: int  # `healthCheckTimeoutSeconds`
    retries: int  # `healthCheckRetries`
    start_period_seconds: int  # `healthCheckStartPeriodSeconds`

    @classmethod
    def load(cls, reader: ConfigReader) -> HealthCheckConfig:
        # ECS's ContainerDefinition.healthCheck limits.
        interval, timeout = probe_timing(
            reader,
            interval_key="healthCheckIntervalSeconds",
            timeout_key="healthCheckTimeoutSeconds",
        )
        return cls(
            interval_seconds=interval,
            timeout_seconds=timeout,
            retries=reader.integer("healthCheckRetries"),
            start_period_seconds=reader.integer("healthCheckStartPeriodSeconds"),
        )


@dataclass(frozen=True)
class TaskConfig:
    """The Fargate task size, platform and container settings, the same for every service."""

    cpu: int  # `taskCpu`
    memory: int  # `taskMemory`
    architecture: str  # `cpuArchitecture`
    log_retention_days: int  # `logRetentionDays`
    stop_timeout_seconds: int  # `stopTimeoutSeconds`: SIGTERM to SIGKILL (Fargate max 120)
    health_check: HealthCheckConfig
    # Each declared container setting's value, by config key (`shared/container_settings.py`).
    container_settings: Mapping[str, int] = field(default_factory=dict)

    @property
    def database_pool_size(self) -> int:
        """`databasePoolSize`: the most connections one task of a database client opens."""
        return self.container_settings.get(DATABASE_POOL_SIZE.key, DATABASE_POOL_SIZE.default)

    @classmethod
    def load(cls, reader: ConfigReader) -> TaskConfig:
        cpu, memory = fargate_size(
            reader.integer("taskCpu"),
            reader.integer("taskMemory"),
            cpu_key="taskCpu",
            memory_key="taskMemory",
        )
        return cls(
            cpu=cpu,
            memory=memory,
            architecture=reader.choice("cpuArchitecture"),
            log_retention_days=log_retention(reader, "logRetentionDays"),
            stop_timeout_seconds=reader.integer("stopTimeoutSeconds"),
            health_check=HealthCheckConfig.load(reader),
            container_settings={setting.key: reader.integer(setting.key) for setting in CONTAINER_SETTINGS},
        )


@dataclass(frozen=True)
class ImageConfig:
    """Which image each service runs at creation; releases replace it afterwards (CodeDeploy)."""

    default_tag: str  # `imageTag`: a tag in the service's own ECR repository
    overrides: Mapping[str, str] = field(default_factory=dict)  # `images`: {service: tag or reference}

    def source(self, service: str) -> ImageSource:
        value = self.overrides.get(service, self.default_tag)
        return ImageSource(reference=value) if "/" in value else ImageSource(tag=value)

    @classmethod
    def load(cls, reader: ConfigReader) -> ImageConfig:
        default_tag = reader.string("imageTag")
        if not _IMAGE_TAG.fullmatch(default_tag):
            raise ConfigError(
                "imageTag",
                default_tag,
                "must be an image tag: a letter, digit or _ then up to 127 of those or .-",
                example="v1",
            )
        overrides: object = reader.json_value("images")
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

    untagged_expiry_days: int  # `untaggedImageExpiryDays`
    tagged_images_kept: int  # `taggedImagesKept`: the most recent images kept

    @classmethod
    def load(cls, reader: ConfigReader) -> RepositoryConfig:
        return cls(
            untagged_expiry_days=reader.integer("untaggedImageExpiryDays"),
            tagged_images_kept=reader.integer("taggedImagesKept"),
        )


@dataclass(frozen=True)
class TargetHealthConfig:
    """The ALB's health check of each target; ELB's limits (CreateTargetGroup) are enforced."""

    interval_seconds: int  # `targetHealthIntervalSeconds`
    timeout_seconds: int  # `targetHealthTimeoutSeconds`
    healthy_threshold: int  # `targetHealthyThreshold`
    unhealthy_threshold: int  # `targetUnhealthyThreshold`

    @classmethod
    def load(cls, reader: ConfigReader) -> TargetHealthConfig:
        # ELB's CreateTargetGroup limits; ELB itself rejects a timeout that is not below the interval.
        interval, timeout = probe_timing(
            reader,
            interval_key="targetHealthIntervalSeconds",
            timeout_key="targetHealthTimeoutSeconds",
        )
        return cls(
            interval_seconds=interval,
            timeout_seconds=timeout,
            healthy_threshold=reader.integer("targetHealthyThreshold"),
            unhealthy_threshold=reader.integer("targetUnhealthyThreshold"),
        )


@dataclass(frozen=True)
class TrafficConfig:
    """Listeners, target groups and the alarms that stop a bad deployment."""

    certificate_arn: str | None  # `certificateArn`: required unless allowPlaintextHttp
    allow_plaintext_http: bool  # `allowPlaintextHttp`: serve HTTP without a certificate
    deregistration_delay_seconds: int  # `deregistrationDelaySeconds`
    health_check_grace_period_seconds: int  # `healthCheckGracePeriodSeconds`
    target_5xx_threshold: int  # `target5xxThreshold`
    gateway_latency_threshold_ms: int  # `gatewayLatencyThresholdMs`: p99 at the ALB
    alarm_evaluation_minutes: int  # `alarmEvaluationMinutes`
    target_health: TargetHealthConfig

    @property
    def tls(self) -> bool:
        return self.certificate_arn is not None

    @property
    def serves_plaintext(self) -> bool:
        """The public API answers over plain HTTP: no certificate, chosen with allowPlaintextHttp."""
        return not self.tls

    @classmethod
    def load(cls, reader: ConfigReader) -> TrafficConfig:
        certificate_arn = _certificate(reader)
        allow_plaintext_http = reader.boolean("allowPlaintextHttp")
        if certificate_arn is None and not allow_plaintext_http:
            raise ConfigError(
                "certificateArn",
                None,
                "is required: without a certificate the public payment API would serve plain HTTP to "
                "the internet",
                "pulumi config set certificateArn <ACM certificate ARN>, or, for a stack that may serve "
                "plaintext on purpose (a throwaway dev stack), pulumi config set allowPlaintextHttp true",
            )
        return cls(
            certificate_arn=certificate_arn,
            allow_plaintext_http=allow_plaintext_http,
            deregistration_delay_seconds=reader.integer("deregistrationDelaySeconds"),
            health_check_grace_period_seconds=reader.integer("healthCheckGracePeriodSeconds"),
            target_5xx_threshold=reader.integer("target5xxThreshold"),
            gateway_latency_threshold_ms=reader.integer("gatewayLatencyThresholdMs"),
            alarm_evaluation_minutes=reader.integer("alarmEvaluationMinutes"),
            target_health=TargetHealthConfig.load(reader),
        )


def _certificate_in_region(arn: str | None, region: str) -> None:
    """An ALB takes certificates only from ACM in its own region (CreateListener answers
    CertificateNotFound otherwise, after other resources have changed)."""
    if arn is not None and arn.split(":")[3] != region:
        raise ConfigError(
            "certificateArn",
            arn,
            f"must be an ACM certificate in the stack's region {region}, where the load balancer is",
            f"request or import it in ACM in {region}, then pulumi config set certificateArn <arn>",
        )


def _certificate(reader: ConfigReader) -> str | None:
    arn = reader.optional_string("certificateArn")
    if arn is not None and not _CERTIFICATE_ARN.fullmatch(arn):
        raise ConfigError(
            "certificateArn",
            arn,
            "must be an ACM certificate ARN: arn:aws:acm:<region>:<account>:certificate/<uuid>",
        )
    return arn


@dataclass(frozen=True)
class ReleaseConfig:
    """How CodeDeploy shifts traffic to a new task set, and how the release hooks judge it."""

    deployment_config: str  # `deploymentConfig`
    termination_wait_minutes: int  # `terminationWaitMinutes`: old tasks kept for rollback
    scan_severity_threshold: str  # `scanSeverityThreshold`: findings at or above fail
    scan_wait_seconds: int  # `scanWaitSeconds`: how long the gate waits for a running scan
    smoke_timeout_seconds: int  # `smokeTimeoutSeconds`: per smoke-test request
    hook_reserved_concurrency: int  # `hookReservedConcurrency`

    @classmethod
    def load(cls, reader: ConfigReader) -> ReleaseConfig:
        return cls(
            deployment_config=reader.choice("deploymentConfig"),
            termination_wait_minutes=reader.integer("terminationWaitMinutes"),
            scan_severity_threshold=reader.choice("scanSeverityThreshold"),
            scan_wait_seconds=reader.integer("scanWaitSeconds"),
            smoke_timeout_seconds=reader.integer("smokeTimeoutSeconds"),
            hook_reserved_concurrency=reader.integer("hookReservedConcurrency"),
        )


@dataclass(frozen=True)
class ServicesConfig:
    """Every knob of the services layer."""

    common: CommonConfig
    network_stack: str  # `networkStack`
    platform_stack: str  # `platformStack`
    fargate_spot_weight: int  # `fargateSpotWeight`: FARGATE_SPOT share against FARGATE's 1
    platform_version: str  # `platformVersion`: the Fargate platform version
    task_security_group_ids: tuple[str, ...]  # `taskSecurityGroupIds`: extra task groups
    task: TaskConfig
    images: ImageConfig
    repository: RepositoryConfig
    scaling: ScalingConfig
    traffic: TrafficConfig
    release: ReleaseConfig
    alarms: ServiceAlarmConfig  # the on-call alarms' thresholds

    @classmethod
    def load(cls, reader: ConfigReader | None = None) -> ServicesConfig:
        """The layer's config, validated; a refusal names stacks/services and a valid example."""
        catalogue.validate()  # the catalogue is code, not stack config: checked apart
        return load_layer("services", reader or ConfigReader.from_pulumi(), cls._build)

    @classmethod
    def _build(cls, reader: ConfigReader) -> ServicesConfig:
        config = cls(
            common=CommonConfig.load(reader),
            network_stack=upstream_stack_name(
                "networkStack", reader.optional_string("networkStack"), NETWORK_PROJECT
            ),
            platform_stack=upstream_stack_name(
                "platformStack", reader.optional_string("platformStack"), PLATFORM_PROJECT
            ),
            fargate_spot_weight=reader.integer("fargateSpotWeight"),
            platform_version=_platform_version(reader),
            task_security_group_ids=_task_security_groups(reader),
            task=TaskConfig.load(reader),
            images=ImageConfig.load(reader),
            repository=RepositoryConfig.load(reader),
            scaling=ScalingConfig.load(reader),
            traffic=TrafficConfig.load(reader),
            release=ReleaseConfig.load(reader),
            alarms=ServiceAlarmConfig.load(reader),
        )
        check_rollback_window(config.traffic, config.release)
        _certificate_in_region(config.traffic.certificate_arn, config.common.region)
        return config


def _platform_version(reader: ConfigReader) -> str:
    value = reader.string("platformVersion")
    if not _PLATFORM_VERSION.fullmatch(value):
        raise ConfigError(
            "platformVersion",
            value,
            "must be LATEST or a Fargate platform version such as 1.4.0",
            example="LATEST",
        )
    return value


# A task ENI takes at most 5 security groups (ECS API reference, AwsVpcConfiguration); the chain adds one.
MAX_EXTRA_TASK_SECURITY_GROUPS = 4


def _task_security_groups(reader: ConfigReader) -> tuple[str, ...]:
    """Groups every service's tasks join besides their own chain group (e.g. one a database admits)."""
    groups = reader.string_list("taskSecurityGroupIds")
    fix = "pulumi config set --path 'taskSecurityGroupIds[0]' sg-0123456789abcdef0"
    for group in groups:
        if not _SECURITY_GROUP_ID.fullmatch(group):
            raise ConfigError("taskSecurityGroupIds", group, "must be security group ids (sg-...)", fix)
    if len(groups) > MAX_EXTRA_TASK_SECURITY_GROUPS or len(set(groups)) != len(groups):
        raise ConfigError(
            "taskSecurityGroupIds",
            list(groups),
            f"must be at most {MAX_EXTRA_TASK_SECURITY_GROUPS} distinct groups (a task takes 5, "
            "its own chain group included)",
            fix,
        )
    return groups
