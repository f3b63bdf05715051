"""Typed configuration of `stacks/platform`: cluster, load balancers, Cloud Map, KMS, secrets."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi

from shared.config.alerting import PlatformAlarmConfig
from shared.config.aws_limits import KMS_DELETION_WINDOW_DAYS
from shared.config.common import CommonConfig
from shared.config.reader import ConfigReader, parse_cidr
from shared.config.validators import log_retention
from shared.contracts import NETWORK_PROJECT, upstream_stack_name
from shared.errors import ConfigError

CONTAINER_INSIGHTS = ("enabled", "enhanced")  # "disabled" is not offered: the brief requires it on
# Secrets Manager RotationRules.ScheduleExpression: rate(N days|hours) or a 6-field cron().
_RATE = re.compile(r"rate\((\d+) (day|days|hour|hours)\)")
_CRON = re.compile(r"cron\((\S+ ){5}\S+\)")
_HOSTNAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
_PG_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")  # an unquoted PostgreSQL name
DATABASE_TLS_MODES = ("verify-full", "require", "disable")
DATABASE_PASSWORD_KEY = "databasePassword"
PAYMENT_PROVIDER_API_KEY_KEY = "paymentProviderApiKey"
FRAUD_SCORING_API_KEY_KEY = "fraudScoringApiKey"
# Every key that holds a credential: read only with `ConfigReader.secret`, set only with `--secret`.
CREDENTIAL_KEYS = (DATABASE_PASSWORD_KEY, PAYMENT_PROVIDER_API_KEY_KEY, FRAUD_SCORING_API_KEY_KEY)


@dataclass(frozen=True)
class DatabaseConfig:
    """The PostgreSQL database whose connection the platform's database secret holds.

    The platform does not run the database. With `databaseHost` unset the secret holds a generated
    placeholder so tasks can start, and its rotation is not attached: Secrets Manager runs the
    function's testSecret step as soon as rotation is configured, which needs a reachable database.
    """

    host: str | None  # `databaseHost`, default none
    port: int  # `databasePort`, default 5432
    name: str  # `databaseName`, default "payments"
    username: str  # `databaseUsername`, default "payments_app"
    password: pulumi.Output[str] | None  # `databasePassword` (secret), required with databaseHost
    tls: str  # `databaseTls`, default "require": how rotation connects (verify-full, require, disable)

    @property
    def rotated(self) -> bool:
        return self.host is not None

    @classmethod
    def load(cls, reader: ConfigReader) -> DatabaseConfig:
        host = reader.optional_string("databaseHost")
        if host is not None and not _HOSTNAME.fullmatch(host):
            raise ConfigError(
                "databaseHost",
                host,
                "must be a DNS name or IPv4 address",
                "pulumi config set databaseHost <endpoint>",
            )
        password = reader.secret(DATABASE_PASSWORD_KEY)
        if host is not None and password is None:
            raise ConfigError(
                "databasePassword",
                None,
                "is required when databaseHost is set: rotation logs in with it to change it, and a "
                "generated password would not match the database",
                "pulumi config set --secret databasePassword <the role's current password>",
            )
        return cls(
            host=host,
            port=reader.integer("databasePort", 5432, minimum=1, maximum=65535),
            name=_pg_identifier(reader, "databaseName", "payments"),
            username=_pg_identifier(reader, "databaseUsername", "payments_app"),
            password=password,
            tls=reader.choice("databaseTls", "require", DATABASE_TLS_MODES),
        )


def _pg_identifier(reader: ConfigReader, key: str, default: str) -> str:
    value = reader.string(key, default)
    if not _PG_IDENTIFIER.fullmatch(value):
        raise ConfigError(
            key,
            value,
            "must be a PostgreSQL name: lowercase letters, digits and _, not starting with a digit",
        )
    return value


@dataclass(frozen=True)
class PlatformConfig:
    """Every knob of the platform layer, with the default a dev stack gets."""

    common: CommonConfig
    network_stack: str  # `networkStack`, default <org>/payments-network/<this stack>
    container_insights: str  # `containerInsights`, "enabled" (default) or "enhanced"
    fargate_spot_weight: int  # `fargateSpotWeight`, default 0: share of FARGATE_SPOT vs FARGATE (100)
    ecs_exec: bool  # `ecsExec`, default false: ECS Exec with encrypted, logged sessions
    namespace_base: str  # `namespaceName`, default "payments": namespace is <name>-<suffix>.<domain>
    namespace_domain: str  # `namespaceDomain`, default "local"
    allowed_ingress_cidrs: tuple[str, ...]  # `allowedIngressCidrs`, default ["0.0.0.0/0"]
    access_log_expiration_days: int  # `accessLogExpirationDays`, default 90
    secret_rotation_schedule: str  # `secretRotationSchedule`, default rate(30 days)
    log_retention_days: int  # `logRetentionDays`, default 30 (rotation Lambda, ECS Exec)
    kms_deletion_window_days: int  # `kmsDeletionWindowDays`, default 7
    rotation_reserved_concurrency: int  # `rotationReservedConcurrency`, default 2 concurrent rotations
    database: DatabaseConfig
    payment_provider_api_key: pulumi.Output[str] | None  # `paymentProviderApiKey` (secret), else random
    fraud_scoring_api_key: pulumi.Output[str] | None  # `fraudScoringApiKey` (secret), else random
    alarms: PlatformAlarmConfig  # load balancer and WAF alarm thresholds, the optional web ACL

    @property
    def namespace_name(self) -> str:
        return self.common.namer.namespace(self.namespace_base, self.namespace_domain)

    @classmethod
    def load(cls, reader: ConfigReader | None = None) -> PlatformConfig:
        reader = reader or ConfigReader.from_pulumi()
        config = cls(
            common=CommonConfig.load(reader),
            network_stack=upstream_stack_name(
                "networkStack", reader.optional_string("networkStack"), NETWORK_PROJECT
            ),
            container_insights=reader.choice("containerInsights", "enabled", CONTAINER_INSIGHTS),
            fargate_spot_weight=reader.integer("fargateSpotWeight", 0, minimum=0, maximum=1000),
            ecs_exec=reader.boolean("ecsExec", False),
            namespace_base=reader.string("namespaceName", "payments"),
            namespace_domain=reader.string("namespaceDomain", "local"),
            allowed_ingress_cidrs=_cidrs(reader),
            access_log_expiration_days=reader.integer("accessLogExpirationDays", 90, minimum=1),
            secret_rotation_schedule=_rotation_schedule(reader),
            log_retention_days=log_retention(reader, "logRetentionDays"),
            kms_deletion_window_days=reader.integer(
                "kmsDeletionWindowDays",
                7,
                minimum=KMS_DELETION_WINDOW_DAYS.start,
                maximum=KMS_DELETION_WINDOW_DAYS.stop - 1,
            ),
            rotation_reserved_concurrency=reader.integer("rotationReservedConcurrency", 2, minimum=1),
            database=DatabaseConfig.load(reader),
            payment_provider_api_key=reader.secret(PAYMENT_PROVIDER_API_KEY_KEY),
            fraud_scoring_api_key=reader.secret(FRAUD_SCORING_API_KEY_KEY),
            alarms=PlatformAlarmConfig.load(reader),
        )
        _ = config.namespace_name  # validated now, before any resource exists
        return config


def _cidrs(reader: ConfigReader) -> tuple[str, ...]:
    cidrs = reader.string_list("allowedIngressCidrs", ["0.0.0.0/0"])
    if not cidrs:
        raise ConfigError(
            "allowedIngressCidrs",
            [],
            "must list at least one CIDR block allowed to reach the public load balancer",
            "pulumi config set --path 'allowedIngressCidrs[0]' 203.0.113.0/24",
        )
    return tuple(str(parse_cidr("allowedIngressCidrs", cidr)) for cidr in cidrs)


def _rotation_schedule(reader: ConfigReader) -> str:
    key = "secretRotationSchedule"
    schedule = reader.string(key, "rate(30 days)")
    fix = f"pulumi config set {key} 'rate(30 days)'"
    rate = _RATE.fullmatch(schedule)
    if rate:
        amount, unit = int(rate.group(1)), rate.group(2)
        if unit.startswith("day") and not 1 <= amount <= 1000:
            raise ConfigError(key, schedule, "a rotation rate in days must be 1-1000", fix)
        if unit.startswith("hour") and not 4 <= amount <= 23:
            raise ConfigError(key, schedule, "a rotation rate in hours must be 4-23", fix)
        return schedule
    if _CRON.fullmatch(schedule):
        return schedule
    raise ConfigError(
        key, schedule, "must be rate(<n> days), rate(<n> hours) or a 6-field cron(...) expression", fix
    )
