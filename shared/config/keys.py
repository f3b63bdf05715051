"""Every config key of every layer, declared once: type, default, limits and description.

The layers' readers take defaults and limits from here, `python3 dev.py docs` writes the `config:` block of
each `stacks/<layer>/Pulumi.yaml` and the config table of each layer's README from here, and a key
not declared here is refused. Limits that are AWS's own cite it; limits that depend on another key
(desiredCount between minCapacity and maxCapacity) are checked by the layer's config class.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, TypeVar, get_args

from shared.config.aws_limits import KMS_DELETION_WINDOW_DAYS
from shared.container_settings import CONTAINER_SETTINGS, DATABASE_TLS_MODES
from shared.layers import LAYERS, Layer

KeyType = Literal["string", "integer", "boolean", "array", "map"]
Value = str | int | bool | tuple[str, ...] | None
Example = str | int | bool | tuple[str, ...] | Mapping[str, str] | None


@dataclass(frozen=True, kw_only=True)
class Key:
    """One config key.

    Fields:
        name: the key as set with `pulumi config set <name>`.
        type: string, integer, boolean, array (of strings) or map (a JSON object; Pulumi.yaml cannot
            declare it, so it is documented but not written there).
        description: one line for the docs and Pulumi.yaml.
        default: the value when unset; None when there is none (required keys, optional values such as
            certificateArn, and defaults that follow another key, see `default_from`).
        required: the stack must set it (only environmentSuffix).
        choices: the only values allowed, the first being the default's place in the docs.
        minimum, maximum: inclusive bounds of an integer.
        secret: a credential, set only with `--secret`.
        default_from: for a default that follows another key, what it follows ("the suffix").
        example: a value that passes validation on its own, for the fix of a refusal. Leave it out
            where it follows from the rest (`example_value`): the default, else the minimum. Give
            it for a key without a default, or whose default is an empty list.
    """

    name: str
    type: KeyType
    description: str
    default: Value = None
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    secret: bool = False
    default_from: str | None = None
    example: Example = None

    @property
    def example_value(self) -> Example:
        """A valid value of this key: the declared example, else the default, else the minimum."""
        if self.example is not None:
            return self.example
        if self.default is not None and self.default != ():
            return self.default
        if self.type == "integer" and self.minimum is not None:
            return self.minimum
        return None

    @property
    def example_raw(self) -> str | None:
        """`example_value` as the stack stores it: lists and maps as JSON, booleans in lowercase."""
        return None if self.example_value is None else raw_value(self.example_value)

    def set_command(self, raw: str) -> str:
        """The `pulumi config set` command(s) that store `raw` (a stored value) for this key.

        A list is set item by item with `--path`: Pulumi refuses a JSON string for a declared array
        key (see `shared/config/declared.py`, `refuse_values_pulumi_would_reject`).
        """
        secret = " --secret" if self.secret else ""
        if self.type in ("array", "map"):
            try:
                parsed = json.loads(raw)
            except json.JSONDecodeError:
                parsed = None
            if isinstance(parsed, list) and parsed:
                return " && ".join(
                    f"pulumi config set{secret} --path '{self.name}[{i}]' {shlex.quote(str(v))}"
                    for i, v in enumerate(parsed)
                )
            if isinstance(parsed, dict) and parsed:
                return " && ".join(
                    f"pulumi config set{secret} --path '{self.name}.{k}' {shlex.quote(str(v))}"
                    for k, v in parsed.items()
                )
        return f"pulumi config set{secret} {self.name} {shlex.quote(raw)}"

    def __post_init__(self) -> None:
        if self.choices and self.default is not None and self.default not in self.choices:
            raise ValueError(f"{self.name}: default {self.default!r} is not one of its choices")
        if isinstance(self.default, int) and not isinstance(self.default, bool):
            low_ok = self.minimum is None or self.default >= self.minimum
            high_ok = self.maximum is None or self.default <= self.maximum
            if not (low_ok and high_ok):
                raise ValueError(f"{self.name}: default {self.default} is outside its bounds")


def raw_value(value: Example) -> str:
    """A value as a stack stores it: what `pulumi config get` prints and `--config` takes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return json.dumps(list(value))
    if isinstance(value, Mapping):
        return json.dumps(dict(value))
    return str(value)


# The Fargate, CloudWatch Logs and ECS values each key is checked against live in aws_limits.py.
ARCHITECTURES = ("X86_64", "ARM64")
ContainerInsights = Literal["enabled", "enhanced"]  # "disabled" is not offered: the platform requires it on
CONTAINER_INSIGHTS: tuple[ContainerInsights, ...] = get_args(ContainerInsights)
NatGateways = Literal["perAz", "single"]
NAT_GATEWAYS: tuple[NatGateways, ...] = get_args(NatGateways)
FlowLogTrafficType = Literal["ALL", "ACCEPT", "REJECT"]
FLOW_LOG_TRAFFIC_TYPES: tuple[FlowLogTrafficType, ...] = get_args(FlowLogTrafficType)
# What a stack must prove beyond the baseline (docs/security.md, "PCI DSS v4.0.1"): baseline is the platform
# as first specified; pci adds the audit archive, database audit, egress to declared destinations only.
ComplianceProfile = Literal["baseline", "pci"]
COMPLIANCE_PROFILES: tuple[ComplianceProfile, ...] = get_args(ComplianceProfile)
DatabaseSource = Literal["managed", "external"]
DATABASE_SOURCES: tuple[DatabaseSource, ...] = get_args(DatabaseSource)
# RDS for PostgreSQL limits (RDS user guide, "Amazon RDS DB instance storage": gp3 is 20-65,536 GiB;
# CreateDBInstance BackupRetentionPeriod: 0-35 days, 0 turns automated backups off, refused here).
RDS_GP3_STORAGE_GB = range(20, 65_536 + 1)
RDS_BACKUP_RETENTION_DAYS = range(1, 35 + 1)
# How an API key rotates (docs/secrets.md); functions/secret_rotation/api_keys.py has the same names.
KeyRotation = Literal["notify", "http-key-api"]
KEY_ROTATIONS: tuple[KeyRotation, ...] = get_args(KeyRotation)

SCAN_SEVERITIES = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")  # ECR's, lowest first
# The predefined ECS deployment configurations (CodeDeploy user guide, "Deployment configurations on
# an Amazon ECS compute platform"). Terraform's default OneAtATime is an EC2 one, hence always explicit.
ECS_DEPLOYMENT_CONFIGS = (
    "CodeDeployDefault.ECSAllAtOnce",
    "CodeDeployDefault.ECSCanary10Percent5Minutes",
    "CodeDeployDefault.ECSCanary10Percent15Minutes",
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
)
EGRESS_PROXY_IMAGE = "public.ecr.aws/ubuntu/squid:6.6-24.04_beta"  # stacks/platform/egress_proxy.py
MAX_SCAN_WAIT_SECONDS = 780  # the gate's timeout is this plus 60 s, under Lambda's 900 s limit


def _common() -> tuple[Key, ...]:
    return (
        Key(
            name="environmentSuffix",
            type="string",
            required=True,
            example="dev",
            description="Ends every resource name: 1-8 lowercase letters, digits, inner hyphens (dev)",
        ),
        Key(
            name="environment",
            type="string",
            default_from="the suffix",
            example="production",
            description="Environment tag value",
        ),
        Key(name="costCenter", type="string", default="payments", description="CostCenter tag value"),
        Key(name="region", type="string", default="us-east-1", description="AWS region"),
        Key(
            name="complianceProfile",
            type="string",
            default=COMPLIANCE_PROFILES[0],
            choices=COMPLIANCE_PROFILES,
            description="baseline, or pci: 12-month write-once log archive, database audit, declared egress "
            "only (set it identically in every layer)",
        ),
    )


def _upstream(layer: str) -> Key:
    return Key(
        name=f"{layer}Stack",
        type="string",
        default_from=f"<org>/payments-{layer}/<this stack>",
        example=f"organization/payments-{layer}/dev",
        description=f"The {layer} stack to read (org/payments-{layer}/stack)",
    )


def _kms_deletion_window(what: str) -> Key:
    return Key(
        name="kmsDeletionWindowDays",
        type="integer",
        default=KMS_DELETION_WINDOW_DAYS.start,  # the shortest AWS allows: stacks are destroyable
        minimum=KMS_DELETION_WINDOW_DAYS.start,
        maximum=KMS_DELETION_WINDOW_DAYS.stop - 1,
        description=f"Days KMS waits before deleting {what} after destroy",
    )


def _evaluation_minutes(name: str, description: str, default: int = 5) -> Key:
    # PutMetricAlarm: EvaluationPeriods x Period (60 s) must stay within a day; kept to an hour.
    return Key(name=name, type="integer", default=default, minimum=1, maximum=60, description=description)


def _key_rotation(prefix: str, provider: str) -> tuple[Key, Key]:
    return (
        Key(
            name=f"{prefix}ApiKeyRotation",
            type="string",
            default="notify",
            choices=KEY_ROTATIONS,
            description=f"How the {provider} key rotates: notify (operators rotate it) or http-key-api",
        ),
        Key(
            name=f"{prefix}KeyApiUrl",
            type="string",
            example="https://api.provider.example/keys",
            description=f"https base URL of the {provider}'s key API; required with http-key-api",
        ),
    )


def _percent(name: str, default: str, description: str) -> Key:
    # A number of percent as a string: Pulumi.yaml's config schema has no float type.
    return Key(name=name, type="string", default=default, description=description)


NETWORK_KEYS = (
    *_common(),
    Key(name="vpcCidr", type="string", default="10.0.0.0/16", description="VPC CIDR block (/16 to /28)"),
    Key(
        name="availabilityZones",
        type="array",
        default=(),
        example=("us-east-1a", "us-east-1b", "us-east-1c"),
        description="Explicit zones (at least 3); unset to use the first azCount available zones",
    ),
    Key(
        name="azCount",
        type="integer",
        default=3,
        minimum=3,
        description="Zones to use when availabilityZones is unset (the platform spreads tasks over 3)",
    ),
    Key(
        name="publicSubnetPrefix",
        type="integer",
        default=24,
        minimum=16,
        maximum=28,
        description="Prefix length of each public subnet (ALBs, NAT gateways)",
    ),
    Key(
        name="privateSubnetPrefix",
        type="integer",
        default=20,
        minimum=16,
        maximum=28,
        description="Prefix length of each private subnet (tasks, internal ALB, Lambdas)",
    ),
    Key(
        name="natGateways",
        type="string",
        default="perAz",
        choices=NAT_GATEWAYS,
        description="perAz (one NAT per AZ, survives an AZ outage) or single (one NAT, cheap dev stacks)",
    ),
    Key(
        name="flowLogRetentionDays",
        type="integer",
        default=30,
        description="Flow log retention in days (a CloudWatch Logs retention value)",
    ),
    Key(
        name="flowLogTrafficType",
        type="string",
        default="ALL",
        choices=FLOW_LOG_TRAFFIC_TYPES,
        description="Traffic the flow logs record",
    ),
    Key(
        name="interfaceEndpoints",
        type="boolean",
        default=False,
        description="Interface endpoints for ecr.api, ecr.dkr, logs, secretsmanager, kms (priced hourly); "
        "always on, with more services, under complianceProfile pci",
    ),
    Key(
        name="ecsExecEndpoint",
        type="boolean",
        default=False,
        description="An ssmmessages interface endpoint for ECS Exec sessions (priced hourly); a pci platform "
        "with ecsExec needs it",
    ),
    Key(
        name="alarmEmails",
        type="array",
        default=(),
        example=("oncall@example.com",),
        description="Email addresses subscribed to the alarm topic (each confirms by email first)",
    ),
    Key(
        name="alarmHttpsEndpoints",
        type="array",
        default=(),
        example=("https://events.example.com/sns",),
        description="https:// endpoints subscribed to the alarm topic, e.g. a paging webhook",
    ),
    Key(
        name="ticketEmails",
        type="array",
        default=(),
        example=("payments-team@example.com",),
        description="Email addresses subscribed to the ticket topic (alarms for the next working day)",
    ),
    Key(
        name="ticketHttpsEndpoints",
        type="array",
        default=(),
        example=("https://tickets.example.com/sns",),
        description="https:// endpoints subscribed to the ticket topic, e.g. a ticketing webhook",
    ),
    Key(
        name="alarmHeartbeatSchedule",
        type="string",
        default="cron(0 9 ? * MON-FRI *)",  # 09:00 UTC on working days: a missing one is noticed
        description="EventBridge schedule of the heartbeat both topics receive (a dead-man's switch)",
    ),
    _percent(
        "natPacketDropPercent",
        "0.01",
        "NAT gateway dropped packets, in percent of packets, that raise an alarm",
    ),
    _evaluation_minutes(
        "natAlarmEvaluationMinutes", "Consecutive breaching minutes before a NAT gateway alarm fires"
    ),
    _kms_deletion_window("the flow-log key"),
)

PLATFORM_KEYS = (
    *_common(),
    _upstream("network"),
    Key(
        name="containerInsights",
        type="string",
        default="enabled",
        choices=CONTAINER_INSIGHTS,
        description="Container Insights level",
    ),
    Key(
        name="fargateSpotWeight",
        type="integer",
        default=0,
        minimum=0,
        maximum=1000,
        description="FARGATE_SPOT weight in the cluster's default strategy, against FARGATE's 100",
    ),
    Key(
        name="ecsExec",
        type="boolean",
        default=False,
        description="Allow ECS Exec, with KMS-encrypted sessions logged to an encrypted log group",
    ),
    Key(
        name="namespaceName",
        type="string",
        default="payments",
        description="Cloud Map namespace base name: <namespaceName>-<suffix>.<namespaceDomain>",
    ),
    Key(name="namespaceDomain", type="string", default="local", description="Cloud Map namespace domain"),
    Key(
        name="allowedIngressCidrs",
        type="array",
        default=("0.0.0.0/0",),
        description="IPv4 blocks allowed to reach the public ALB on 80 and 443",
    ),
    Key(
        name="accessLogExpirationDays",
        type="integer",
        default=90,
        minimum=1,
        description="Days ALB access logs are kept in the bucket",
    ),
    Key(
        name="secretRotationSchedule",
        type="string",
        default="rate(30 days)",
        description="Rotation schedule: rate(N days), rate(N hours) (4-23) or a 6-field cron(...)",
    ),
    Key(
        name="logRetentionDays",
        type="integer",
        default=30,
        description="Retention of the rotation Lambda's and ECS Exec's log groups (a CloudWatch Logs value)",
    ),
    _kms_deletion_window("the platform key"),
    Key(
        name="rotationReservedConcurrency",
        type="integer",
        default=3,  # one per secret: their scheduled rotations may fall in the same hour
        minimum=1,
        description="Reserved concurrency of the rotation Lambda (default: one per secret)",
    ),
    Key(
        name="waf",
        type="boolean",
        default=True,
        description="AWS WAF web ACL on the public ALB; false is a deliberate opt-out",
    ),
    Key(
        name="wafOptionalRuleGroups",
        type="array",
        default=(),
        example=("sqlDatabase",),
        description="Extra AWS managed rule groups, any of sqlDatabase, anonymousIpList",
    ),
    Key(
        name="wafCountOnly",
        type="array",
        default=(),
        example=("rateLimit",),
        description="Rule groups (or rateLimit) that only count instead of blocking, for a first rollout",
    ),
    Key(
        name="wafRateLimit",
        type="integer",
        default=2000,
        minimum=10,
        maximum=2_000_000_000,  # RateBasedStatement.Limit (botocore wafv2 model, shape RateLimit)
        description="Requests one client IP may send per wafRateLimitWindowSeconds before WAF blocks it",
    ),
    Key(
        name="wafRateLimitWindowSeconds",
        type="integer",
        default=300,
        description="Rate-limit evaluation window: 60, 120, 300 or 600 seconds",
    ),
    Key(
        name="wafLogRetentionDays",
        type="integer",
        default=30,
        description="Retention of the WAF log group (a CloudWatch Logs value)",
    ),
    _percent(
        "loadBalancer5xxPercent",
        "5",
        "5xx a load balancer generates itself, in percent of requests, that raise an alarm",
    ),
    _evaluation_minutes(
        "platformAlarmEvaluationMinutes",
        "Consecutive breaching minutes before a load balancer or WAF alarm fires",
    ),
    Key(
        name="wafBlockedRequestsPerMinute",
        type="integer",
        default=100,
        minimum=1,
        description="Requests WAF blocks in a minute that raise an alarm",
    ),
    Key(
        name="databaseConnectionsPercent",
        type="integer",
        default=80,
        minimum=1,
        maximum=100,
        description="Database connections, in percent of the class's max_connections, that page on-call",
    ),
    Key(
        name="databaseCpuPercent",
        type="integer",
        default=90,  # CloudWatch's recommended alarm for RDS CPUUtilization
        minimum=1,
        maximum=100,
        description="Database CPU utilisation that pages on-call",
    ),
    Key(
        name="databaseCpuCreditBalance",
        type="integer",
        default=50,
        minimum=1,
        description="CPU credits below which a burstable database class opens a ticket",
    ),
    Key(
        name="databaseFreeableMemoryPercent",
        type="integer",
        default=25,  # CloudWatch's recommended alarm: available memory above 25 % of total
        minimum=1,
        maximum=100,
        description="Freeable memory, in percent of the class's memory, below which a ticket opens",
    ),
    Key(
        name="databaseFreeStoragePercent",
        type="integer",
        default=10,
        minimum=1,
        maximum=100,
        description="Free storage, in percent of databaseAllocatedStorageGb, below which on-call is paged",
    ),
    Key(
        name="databaseLatencyMs",
        type="integer",
        default=20,
        minimum=1,
        description="Average read or write latency of the database's storage (ms) that pages on-call",
    ),
    Key(
        name="database",
        type="string",
        default="managed",
        choices=DATABASE_SOURCES,
        description="managed (an RDS for PostgreSQL instance in this layer) or external (databaseHost)",
    ),
    Key(
        name="databaseInstanceClass",
        type="string",
        default="db.t4g.medium",
        description="RDS DB instance class of the managed database (docs/database.md)",
    ),
    Key(
        name="databaseEngineVersion",
        type="string",
        default="16",
        description="PostgreSQL version of the managed database: 16 or 16.<minor> (minor upgrades automatic)",
    ),
    Key(
        name="databaseAllocatedStorageGb",
        type="integer",
        default=20,
        minimum=RDS_GP3_STORAGE_GB.start,
        maximum=RDS_GP3_STORAGE_GB.stop - 1,
        description="gp3 storage of the managed database at creation, GiB",
    ),
    Key(
        name="databaseMaxAllocatedStorageGb",
        type="integer",
        default=100,
        minimum=RDS_GP3_STORAGE_GB.start,
        maximum=RDS_GP3_STORAGE_GB.stop - 1,
        description="Storage autoscaling ceiling of the managed database, GiB (at least the allocated size)",
    ),
    Key(
        name="databaseMultiAz",
        type="boolean",
        default=True,
        description="Managed database with a synchronous standby in another zone (false: cheap dev stacks)",
    ),
    Key(
        name="databaseBackupRetentionDays",
        type="integer",
        default=7,
        minimum=RDS_BACKUP_RETENTION_DAYS.start,
        maximum=RDS_BACKUP_RETENTION_DAYS.stop - 1,
        description="Days of automated backups (point-in-time recovery) of the managed database",
    ),
    Key(
        name="databaseSkipFinalSnapshot",
        type="boolean",
        default=True,
        description="Destroy deletes the managed database without a final snapshot (false: keep one; "
        "complianceProfile pci always keeps one)",
    ),
    Key(
        name="databaseHost",
        type="string",
        example="ledger.cluster-abc123.us-east-1.rds.amazonaws.com",
        description="PostgreSQL host of an external database (database: external only)",
    ),
    Key(
        name="databasePort",
        type="integer",
        default=5432,
        minimum=1,
        maximum=65535,
        description="PostgreSQL port",
    ),
    Key(name="databaseName", type="string", default="payments", description="PostgreSQL database name"),
    Key(
        name="databaseUsername",
        type="string",
        default="payments_app",
        description="PostgreSQL login role the services use (rotation alternates it with <name>_clone)",
    ),
    Key(
        name="databaseTls",
        type="string",
        default="verify-full",
        choices=DATABASE_TLS_MODES,
        description="How rotation connects to PostgreSQL (verify-full: against the packaged RDS CAs)",
    ),
    Key(
        name="databasePassword",
        type="string",
        secret=True,
        example="the-role-s-current-password",
        description="Current password of databaseUsername (database: external only, required there)",
    ),
    Key(
        name="paymentProviderApiKey",
        type="string",
        secret=True,
        default_from="a generated value",
        example="sk_live_your_provider_key",
        description="Initial payment provider API key",
    ),
    Key(
        name="fraudScoringApiKey",
        type="string",
        secret=True,
        default_from="a generated value",
        example="your-fraud-scoring-key",
        description="Initial fraud-scoring API key",
    ),
    *_key_rotation("paymentProvider", "payment provider"),
    *_key_rotation("fraudScoring", "fraud-scoring provider"),
    Key(
        name="egressProxyImage",
        type="string",
        # Canonical's Squid image on ECR Public (Ubuntu 24.04 LTS track); pulled through NAT by the
        # execution role, which needs no ECR permission for a public image.
        default=EGRESS_PROXY_IMAGE,
        description="complianceProfile pci: the egress proxy's Squid image, <registry>/<repo>:<tag>[@digest]",
    ),
    Key(
        name="egressProxyTasks",
        type="integer",
        default=2,  # two, so one zone's task can stop without cutting the third-party calls
        minimum=1,
        maximum=10,
        description="complianceProfile pci: egress proxy tasks, spread over the private subnets",
    ),
    Key(
        name="egressAllowedHosts",
        type="array",
        default=(),
        example=("api.payments-provider.example",),
        description="complianceProfile pci: hosts the egress proxy lets tasks reach on 443, besides the "
        "key API hosts (<prefix>KeyApiUrl), which it always allows",
    ),
)

SERVICES_KEYS = (
    *_common(),
    _upstream("network"),
    _upstream("platform"),
    Key(
        name="imageTag",
        type="string",
        default="v1",
        description="Image tag, in each service's own ECR repository, for services without an `images` entry",
    ),
    Key(
        name="images",
        type="map",
        example=MappingProxyType({"api-gateway": "v2"}),
        description="Per service, a tag or full image reference (`--path 'images.<service>'`)",
    ),
    Key(name="taskCpu", type="integer", default=1024, description="Fargate task CPU units (1024 = 1 vCPU)"),
    Key(
        name="taskMemory",
        type="integer",
        default=2048,
        description="Fargate task memory in MiB; must suit taskCpu",
    ),
    Key(
        name="cpuArchitecture",
        type="string",
        default="X86_64",
        choices=ARCHITECTURES,
        description="CPU architecture of the tasks (images must be built for it)",
    ),
    Key(
        name="fargateSpotWeight",
        type="integer",
        default=0,
        minimum=0,
        maximum=1000,
        description="FARGATE_SPOT weight against FARGATE's 1 (reaches tasks with the next release)",
    ),
    Key(
        name="platformVersion",
        type="string",
        default="LATEST",
        description="Fargate platform version, LATEST or x.y.z (reaches tasks with the next release)",
    ),
    Key(
        name="taskSecurityGroupIds",
        type="array",
        default=(),
        example=("sg-0123456789abcdef0",),
        description="Up to 4 extra security groups for every task (reach tasks with the next release)",
    ),
    Key(
        name="logRetentionDays",
        type="integer",
        default=30,
        description="Container log retention in days (a CloudWatch Logs value)",
    ),
    # secretCacheTtlSeconds, databasePoolSize: declared with their environment variable and readers
    *(
        Key(
            name=setting.key,
            type="integer",
            default=setting.default,
            minimum=setting.minimum,
            maximum=setting.maximum,
            description=setting.description,
        )
        for setting in CONTAINER_SETTINGS
    ),
    Key(
        name="stopTimeoutSeconds",
        type="integer",
        default=30,
        minimum=2,
        maximum=120,  # Fargate's limit (ContainerDefinition.stopTimeout)
        description="Seconds between SIGTERM and SIGKILL",
    ),
    Key(
        name="healthCheckIntervalSeconds",
        type="integer",
        default=15,
        minimum=5,
        maximum=300,  # ECS ContainerDefinition.healthCheck limits, here and below
        description="Container health check interval",
    ),
    Key(
        name="healthCheckTimeoutSeconds",
        type="integer",
        default=5,
        minimum=2,
        maximum=60,
        description="Container health check timeout (below the interval)",
    ),
    Key(
        name="healthCheckRetries",
        type="integer",
        default=3,
        minimum=1,
        maximum=10,
        description="Failed container health checks before the task is unhealthy",
    ),
    Key(
        name="healthCheckStartPeriodSeconds",
        type="integer",
        default=30,
        minimum=0,
        maximum=300,
        description="Grace after container start before failed checks count",
    ),
    Key(
        name="untaggedImageExpiryDays",
        type="integer",
        default=7,
        minimum=1,
        maximum=3650,
        description="Days after push an untagged image is expired",
    ),
    Key(
        name="taggedImagesKept",
        type="integer",
        default=30,
        minimum=1,
        maximum=10000,
        description="Most recent images each repository keeps",
    ),
    Key(
        name="desiredCount",
        type="integer",
        default_from="minCapacity",
        example=2,
        description="Tasks per service at creation (between minCapacity and maxCapacity)",
    ),
    Key(
        name="minCapacity",
        type="integer",
        default=2,
        minimum=1,
        description="Fewest tasks auto scaling keeps per service",
    ),
    Key(
        name="maxCapacity", type="integer", default=10, description="Most tasks auto scaling runs per service"
    ),
    Key(
        name="cpuTargetPercent",
        type="integer",
        default=70,
        minimum=1,
        maximum=100,
        description="Target average CPU utilisation",
    ),
    Key(
        name="memoryTargetPercent",
        type="integer",
        default=70,
        minimum=1,
        maximum=100,
        description="Target average memory utilisation",
    ),
    Key(
        name="scaleInCooldownSeconds",
        type="integer",
        default=300,
        minimum=0,
        description="Seconds between scale-in activities",
    ),
    Key(
        name="scaleOutCooldownSeconds",
        type="integer",
        default=60,
        minimum=0,
        description="Seconds between scale-out activities",
    ),
    Key(
        name="certificateArn",
        type="string",
        example="arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012",
        description="ACM certificate of the public listeners (HTTPS, 80 -> 443), unless allowPlaintextHttp",
    ),
    Key(
        name="allowPlaintextHttp",
        type="boolean",
        default=False,
        example=True,  # what the example stack sets; false needs certificateArn too
        description="Serve the public API over plain HTTP when certificateArn is unset (on purpose only)",
    ),
    Key(
        name="deregistrationDelaySeconds",
        type="integer",
        default=30,  # short, so a release's old task set drains fast; payments take well under 30 s
        minimum=0,
        maximum=30,
        description="Seconds a target drains before deregistration",
    ),
    Key(
        name="healthCheckGracePeriodSeconds",
        type="integer",
        default=60,
        minimum=0,
        maximum=1800,
        description="Seconds ECS ignores failing load balancer health checks after a task starts",
    ),
    Key(
        name="targetHealthIntervalSeconds",
        type="integer",
        default=15,
        minimum=5,
        maximum=300,  # ELB CreateTargetGroup limits, here and below
        description="ALB health check interval",
    ),
    Key(
        name="targetHealthTimeoutSeconds",
        type="integer",
        default=5,
        minimum=2,
        maximum=120,
        description="ALB health check timeout (below the interval)",
    ),
    Key(
        name="targetHealthyThreshold",
        type="integer",
        default=2,
        minimum=2,
        maximum=10,
        description="Passing ALB checks before a target takes traffic",
    ),
    Key(
        name="targetUnhealthyThreshold",
        type="integer",
        default=3,
        minimum=2,
        maximum=10,
        description="Failing ALB checks before a target loses traffic",
    ),
    Key(
        name="target5xxThreshold",
        type="integer",
        default=5,
        minimum=1,
        description="Target 5xx responses a minute that stop and roll back a release",
    ),
    Key(
        name="gatewayLatencyThresholdMs",
        type="integer",
        default=1000,
        minimum=10,
        description="api-gateway p99 target response time (ms) that stops and rolls back a release",
    ),
    Key(
        name="alarmEvaluationMinutes",
        type="integer",
        default=2,
        minimum=1,
        maximum=60,
        description="Consecutive breaching minutes before an alarm fires",
    ),
    # 1 %, not 5 %: a 99.9 % monthly objective spends its whole error budget in 72 hours at 1 % errors
    # (docs/operations.md, "Thresholds").
    _percent("target5xxPercent", "1", "Target 5xx responses, in percent of requests, that page on-call"),
    Key(
        name="latencyP99ThresholdMs",
        type="integer",
        default=1000,
        minimum=10,
        description="p99 target response time (ms) that pages on-call",
    ),
    Key(
        name="atMaxCapacityPercent",
        type="integer",
        default=85,
        minimum=1,
        maximum=100,
        description="CPU or memory utilisation that pages on-call while a service runs maxCapacity tasks",
    ),
    _evaluation_minutes(
        "onCallEvaluationMinutes", "Consecutive breaching minutes before an on-call alarm fires"
    ),
    Key(
        name="latencyMinRequestsPerMinute",
        type="integer",
        default=100,  # below 100 requests a p99 is the single slowest request
        minimum=1,
        description="Requests a minute below which the p99 alarm ignores that minute",
    ),
    Key(
        name="minSuccessfulRequestsPerMinute",
        type="integer",
        default=1,
        minimum=0,
        description="api-gateway 2xx a minute below which traffic counts as lost (pages); 0 turns it off",
    ),
    _evaluation_minutes(
        "trafficLossMinutes",
        "Consecutive minutes under minSuccessfulRequestsPerMinute before paging",
        default=15,  # a quiet quarter hour at night is rare enough on a payment platform's edge
    ),
    _evaluation_minutes(
        "runningBelowDesiredMinutes",
        "Consecutive minutes with fewer running than desired tasks before paging",
        default=10,  # a task starts and passes both health checks in about 7 minutes (release timeline)
    ),
    Key(
        name="certificateExpiryDays",
        type="integer",
        default=45,  # ACM starts managed renewal 60 days ahead; at 45 it has failed and needs a person
        minimum=1,
        maximum=365,
        description="Days before the HTTPS certificate expires that open a ticket (certificateArn set)",
    ),
    Key(
        name="deploymentConfig",
        type="string",
        default=ECS_DEPLOYMENT_CONFIGS[0],
        choices=ECS_DEPLOYMENT_CONFIGS,
        description="How CodeDeploy shifts traffic to a new task set",
    ),
    Key(
        name="terminationWaitMinutes",
        type="integer",
        default=5,
        minimum=0,
        maximum=2880,
        description="Minutes the old task set is kept after a successful release, for a quick rollback",
    ),
    Key(
        name="scanSeverityThreshold",
        type="string",
        default="HIGH",
        choices=SCAN_SEVERITIES,
        description="ECR scan findings at or above this severity fail a release",
    ),
    Key(
        name="scanWaitSeconds",
        type="integer",
        default=300,
        minimum=0,
        maximum=MAX_SCAN_WAIT_SECONDS,
        description="How long the scan gate waits for a scan still running",
    ),
    Key(
        name="smokeTimeoutSeconds",
        type="integer",
        default=5,
        minimum=1,
        maximum=60,
        description="Timeout of each smoke-test request to the green task set",
    ),
    Key(
        name="hookReservedConcurrency",
        type="integer",
        default=2,
        minimum=1,
        description="Reserved concurrency of each release hook Lambda",
    ),
)


def _by_name(keys: tuple[Key, ...]) -> Mapping[str, Key]:
    table = {key.name: key for key in keys}
    if len(table) != len(keys):
        raise ValueError("a key is declared twice")
    return MappingProxyType(table)


LAYER_KEYS: Mapping[Layer, Mapping[str, Key]] = MappingProxyType(
    {
        "network": _by_name(NETWORK_KEYS),
        "platform": _by_name(PLATFORM_KEYS),
        "services": _by_name(SERVICES_KEYS),
    }
)
assert set(LAYER_KEYS) == set(LAYERS)


Choice = TypeVar("Choice", bound=str)


def typed_choice(choices: tuple[Choice, ...], value: str) -> Choice:
    """`value`, which `ConfigReader.choice` has already checked, typed as the closed set it belongs to."""
    return next(known for known in choices if known == value)
