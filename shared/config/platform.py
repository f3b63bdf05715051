"""Typed configuration of `stacks/platform`: cluster, load balancers, Cloud Map, KMS, secrets."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pulumi

from shared.config.alerting import DatabaseAlarmConfig, PlatformAlarmConfig
from shared.config.common import CommonConfig
from shared.config.declared import load_layer
from shared.config.keys import (
    CONTAINER_INSIGHTS,
    DATABASE_SOURCES,
    EGRESS_PROXY_IMAGE,
    KEY_ROTATIONS,
    ContainerInsights,
    DatabaseSource,
    KeyRotation,
    typed_choice,
)
from shared.config.reader import HIDDEN, ConfigReader, parse_cidr
from shared.config.validators import log_retention
from shared.container_settings import DATABASE_TLS_MODES, DatabaseTls
from shared.contracts import NETWORK_PROJECT, SecretPurposes, upstream_stack_name
from shared.errors import ConfigError
from shared.naming import dns_label

# Secrets Manager RotationRules.ScheduleExpression: rate(N days|hours) or a 6-field cron().
_RATE = re.compile(r"rate\((\d+) (day|days|hour|hours)\)")
_CRON = re.compile(r"cron\((\S+ ){5}\S+\)")
_HOSTNAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
_PG_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")  # an unquoted PostgreSQL name
DATABASE_PASSWORD_KEY = "databasePassword"
PAYMENT_PROVIDER_API_KEY_KEY = "paymentProviderApiKey"
FRAUD_SCORING_API_KEY_KEY = "fraudScoringApiKey"
# Every key that holds a credential: read only with `ConfigReader.secret`, set only with `--secret`.
CREDENTIAL_KEYS = (DATABASE_PASSWORD_KEY, PAYMENT_PROVIDER_API_KEY_KEY, FRAUD_SCORING_API_KEY_KEY)


# RDS for PostgreSQL major version 16 (a bare "16" lets RDS pick the newest minor; with automatic minor
# upgrades a pinned minor is a floor). The parameter group family follows the major version.
_ENGINE_VERSION = re.compile(r"16(\.\d{1,2})?")
# db.<family>.<size>, e.g. db.t4g.medium, db.m7g.large (RDS user guide, "DB instance class types").
_INSTANCE_CLASS = re.compile(r"db\.[a-z][a-z0-9-]*\.[a-z0-9]+")
_CLONE_SUFFIX = "_clone"  # the alternating-users rotation's second login role: <databaseUsername>_clone
_PG_NAME_MAX = 63
EXTERNAL_ONLY_KEYS = ("databaseHost", DATABASE_PASSWORD_KEY)


@dataclass(frozen=True, kw_only=True)
class ManagedDatabaseConfig:
    """The RDS for PostgreSQL instance of `database: managed` (docs/database.md).

    Fields (each one key of shared/config/keys.py, where its default and limits are declared):
        instance_class: `databaseInstanceClass`, e.g. db.t4g.medium.
        engine_version: `databaseEngineVersion`, 16 or 16.<minor>.
        allocated_storage_gb: `databaseAllocatedStorageGb`, gp3 at creation.
        max_allocated_storage_gb: `databaseMaxAllocatedStorageGb`, the storage autoscaling ceiling.
        multi_az: `databaseMultiAz`, a synchronous standby in another zone.
        backup_retention_days: `databaseBackupRetentionDays`, 1-35.
        skip_final_snapshot: `databaseSkipFinalSnapshot`; false keeps a final snapshot on destroy.
    """

    instance_class: str
    engine_version: str
    allocated_storage_gb: int
    max_allocated_storage_gb: int
    multi_az: bool
    backup_retention_days: int
    skip_final_snapshot: bool

    @property
    def engine_major(self) -> str:
        return self.engine_version.split(".")[0]

    @classmethod
    def load(cls, reader: ConfigReader, *, pci: bool = False) -> ManagedDatabaseConfig:
        instance_class = reader.string("databaseInstanceClass")
        if not _INSTANCE_CLASS.fullmatch(instance_class):
            raise ConfigError(
                "databaseInstanceClass",
                instance_class,
                "must be an RDS DB instance class such as db.t4g.medium or db.m7g.large",
                example="db.t4g.medium",
            )
        version = reader.string("databaseEngineVersion")
        if not _ENGINE_VERSION.fullmatch(version):
            raise ConfigError(
                "databaseEngineVersion",
                version,
                "must be PostgreSQL 16 or a 16.<minor> version: the parameter group is built for 16, and "
                "a major upgrade is a planned change, not a config edit",
                example="16",
            )
        allocated = reader.integer("databaseAllocatedStorageGb")
        ceiling = reader.integer("databaseMaxAllocatedStorageGb")
        if ceiling < allocated:
            raise ConfigError(
                "databaseMaxAllocatedStorageGb",
                ceiling,
                f"must be at least databaseAllocatedStorageGb ({allocated}): it is the autoscaling ceiling",
                f"pulumi config set databaseMaxAllocatedStorageGb {max(allocated, 100)}",
            )
        return cls(
            instance_class=instance_class,
            engine_version=version,
            allocated_storage_gb=allocated,
            max_allocated_storage_gb=ceiling,
            multi_az=reader.boolean("databaseMultiAz"),
            backup_retention_days=reader.integer("databaseBackupRetentionDays"),
            skip_final_snapshot=_skip_final_snapshot(reader, pci),
        )


def _skip_final_snapshot(reader: ConfigReader, pci: bool) -> bool:
    """`databaseSkipFinalSnapshot`; complianceProfile pci always keeps a final snapshot, whatever the key
    says (Pulumi fills in the key's declared default, so an explicit `true` cannot be told from it)."""
    return not pci and reader.boolean("databaseSkipFinalSnapshot")


@dataclass(frozen=True)
class DatabaseConfig:
    """The PostgreSQL database whose connection the platform's database secret holds.

    `database: managed` (the default): the platform runs an RDS for PostgreSQL instance (`managed`)
    and the secret's host is its endpoint. `database: external`: `databaseHost` and `databasePassword`
    name a database the platform does not run. Either way the secret's rotation is attached.
    """

    source: DatabaseSource  # `database`
    host: str | None  # `databaseHost` (external only)
    port: int  # `databasePort`
    name: str  # `databaseName`
    username: str  # `databaseUsername`
    password: pulumi.Output[str] | None  # `databasePassword` (secret, external only)
    tls: DatabaseTls  # `databaseTls`: how rotation connects (verify-full, require, disable)
    managed: ManagedDatabaseConfig | None  # the RDS instance, with `database: managed` only

    @property
    def rotated(self) -> bool:
        """Rotation is attached in every stack: a managed database and an external one alike."""
        return True

    @classmethod
    def load(cls, reader: ConfigReader, *, pci: bool = False) -> DatabaseConfig:
        source = typed_choice(DATABASE_SOURCES, reader.choice("database"))
        username = _pg_identifier(reader, "databaseUsername")
        port = reader.integer("databasePort")
        name = _pg_identifier(reader, "databaseName")
        tls = typed_choice(DATABASE_TLS_MODES, reader.choice("databaseTls"))
        if source == "managed":
            given = [key for key in EXTERNAL_ONLY_KEYS if reader.raw(key) is not None]
            if given:
                raise ConfigError(
                    given[0],
                    HIDDEN if given[0] in CREDENTIAL_KEYS else reader.shown_value(given[0]),
                    "applies only to database: external; with database: managed the platform runs the "
                    "database and writes its endpoint and a generated password into the secret",
                    f"pulumi config rm {given[0]}, or pulumi config set database external",
                )
            if len(username) + len(_CLONE_SUFFIX) > _PG_NAME_MAX:
                raise ConfigError(
                    "databaseUsername",
                    username,
                    f"must be at most {_PG_NAME_MAX - len(_CLONE_SUFFIX)} characters: rotation also "
                    f"creates {username}{_CLONE_SUFFIX}, and PostgreSQL names end at {_PG_NAME_MAX}",
                )
            managed = ManagedDatabaseConfig.load(reader, pci=pci)
            return cls(source, None, port, name, username, None, tls, managed)
        host = reader.optional_string("databaseHost")
        if host is None:
            raise ConfigError(
                "databaseHost",
                None,
                "is required with database: external: the connection secret and its rotation need the "
                "database's address",
                "pulumi config set databaseHost <endpoint>, or pulumi config set database managed",
            )
        if not _HOSTNAME.fullmatch(host):
            raise ConfigError(
                "databaseHost",
                host,
                "must be a DNS name or IPv4 address",
            )
        password = reader.secret(DATABASE_PASSWORD_KEY)
        if password is None:
            raise ConfigError(
                "databasePassword",
                None,
                "is required with database: external: rotation logs in with it to change it, and a "
                "generated password would not match the database",
                "pulumi config set --secret databasePassword <the role's current password>",
            )
        return cls(source, host, port, name, username, password, tls, None)


def _pg_identifier(reader: ConfigReader, key: str) -> str:
    value = reader.string(key)
    if not _PG_IDENTIFIER.fullmatch(value):
        raise ConfigError(
            key,
            value,
            "must be a PostgreSQL name: lowercase letters, digits and _, not starting with a digit",
        )
    return value


# The API-key secrets and the prefix of their `<prefix>ApiKeyRotation` / `<prefix>KeyApiUrl` keys.
API_KEY_ROTATION_PREFIXES = {
    SecretPurposes.PAYMENT_PROVIDER_API_KEY: "paymentProvider",
    SecretPurposes.FRAUD_SCORING_API_KEY: "fraudScoring",
}
# An https base URL: a host name, an optional port and path; no user info, query or fragment. Its
# characters stay within what a URL needs, so the value is safe in the function's environment.
_HTTPS_URL = re.compile(r"https://[A-Za-z0-9.-]+(?::\d{1,5})?(?:/[A-Za-z0-9._~/-]*)?")


@dataclass(frozen=True, kw_only=True)
class ApiKeyRotationConfig:
    """How one API key rotates (docs/secrets.md).

    Fields:
        strategy: `<prefix>ApiKeyRotation`: "notify" (default; operators rotate the key, the function
            tells them when it is due) or "http-key-api" (the function rotates it at the provider).
        key_api_url: `<prefix>KeyApiUrl`: the provider's key API, https; only with http-key-api,
            where it is required.
    """

    strategy: KeyRotation
    key_api_url: str | None

    @classmethod
    def load(cls, reader: ConfigReader, prefix: str) -> ApiKeyRotationConfig:
        strategy_key, url_key = f"{prefix}ApiKeyRotation", f"{prefix}KeyApiUrl"
        strategy = typed_choice(KEY_ROTATIONS, reader.choice(strategy_key))
        url = reader.optional_string(url_key)
        if strategy == "http-key-api" and url is None:
            raise ConfigError(
                url_key,
                None,
                f"is required with {strategy_key} http-key-api: the rotation function calls that key API",
                example="https://api.provider.example/",
            )
        if strategy == "notify" and url is not None:
            raise ConfigError(
                url_key,
                url,
                f"is used only with {strategy_key} http-key-api; with notify nothing calls it",
                f"pulumi config set {strategy_key} http-key-api (or pulumi config rm {url_key})",
            )
        if url is not None and not _HTTPS_URL.fullmatch(url):
            raise ConfigError(
                url_key,
                url,
                "must be an https URL: https://<host>[:<port>][/<path>], no credentials, query or fragment",
                example="https://api.provider.example/",
            )
        return cls(strategy=strategy, key_api_url=url)


# An image reference ECS can pull: <registry>/<repository>:<tag>, optionally pinned with @sha256:<digest>.
_IMAGE = re.compile(
    r"[a-z0-9.-]+(?::\d+)?/[a-z0-9._/-]+:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(?:@sha256:[0-9a-f]{64})?"
)
# A host name the proxy may allow: two or more DNS labels, a name and not an address (the proxy matches
# the CONNECT host by name: an IP literal would bypass the allowlist's meaning), no wildcard.
_DNS_NAME = re.compile(
    r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?"
)


@dataclass(frozen=True, kw_only=True)
class EgressProxyConfig:
    """The egress proxy of `complianceProfile: pci` (stacks/platform/egress_proxy.py, docs/security.md).

    Fields:
        image: `egressProxyImage`, a Squid image with a tag (and optionally a digest); not `latest`.
        tasks: `egressProxyTasks`, 1-10, spread over the private subnets' zones.
        allowed_hosts: the hosts it lets clients reach on 443: `egressAllowedHosts` plus the host of each
            `<prefix>KeyApiUrl` (the rotation function calls them), sorted, each once.
    """

    image: str
    tasks: int
    allowed_hosts: tuple[str, ...]

    @classmethod
    def load(cls, reader: ConfigReader, rotations: dict[str, ApiKeyRotationConfig]) -> EgressProxyConfig:
        image = reader.string("egressProxyImage")
        if not _IMAGE.fullmatch(image) or image.split("@")[0].endswith(":latest"):
            raise ConfigError(
                "egressProxyImage",
                image,
                "must be an image reference with a fixed tag, <registry>/<repository>:<tag>"
                "[@sha256:<digest>], not latest: every task must run the proxy that was reviewed",
                example=EGRESS_PROXY_IMAGE,
            )
        listed = reader.string_list("egressAllowedHosts")
        for host in listed:
            if not _DNS_NAME.fullmatch(host):
                raise ConfigError(
                    "egressAllowedHosts",
                    host,
                    "must list DNS names such as api.provider.example: lowercase labels of letters, digits "
                    "and inner hyphens, at least two, no wildcard, scheme, port, path or IP address (the "
                    "proxy allows HTTPS on 443 to exactly these names)",
                    example=json.dumps([_suggested_host(host)]),
                )
        if len(set(listed)) != len(listed):
            raise ConfigError("egressAllowedHosts", list(listed), "lists a host twice")
        key_api_hosts = {
            urlsplit(rotation.key_api_url).hostname or ""
            for rotation in rotations.values()
            if rotation.strategy == "http-key-api" and rotation.key_api_url
        }
        return cls(
            image=image,
            tasks=reader.integer("egressProxyTasks"),
            allowed_hosts=tuple(sorted(set(listed) | {h.lower() for h in key_api_hosts if h})),
        )


def _suggested_host(value: str) -> str:
    """The host name inside `value` (a URL, a wildcard, upper case), or an example when there is none."""
    host = (urlsplit(value).hostname if "://" in value else value.split("/")[0].split(":")[0]) or ""
    host = host.lower().removeprefix("*.").rstrip(".")
    return host if _DNS_NAME.fullmatch(host) else "api.provider.example"


# AWS managed rule groups the web ACL can run, by config name. The first three always run.
WAF_BASELINE_RULE_GROUPS = ("amazonIpReputation", "coreRuleSet", "knownBadInputs")
WAF_OPTIONAL_RULE_GROUPS = ("sqlDatabase", "anonymousIpList")
WAF_RATE_LIMIT_RULE = "rateLimit"
# RateBasedStatement.EvaluationWindowSec accepts only these (botocore wafv2 model documentation).
WAF_EVALUATION_WINDOWS = (60, 120, 300, 600)


@dataclass(frozen=True, kw_only=True)
class WafConfig:
    """AWS WAF in front of the public load balancer.

    Each field is one key of shared/config/keys.py, where its default and limits are declared:
    enabled: `waf`; false is a deliberate opt-out (the policy pack flags it).
    optional_rule_groups: `wafOptionalRuleGroups`: any of sqlDatabase, anonymousIpList.
    count_only: `wafCountOnly`: rule groups (or rateLimit) that only count, for a first rollout; any of
        the baseline groups, the optional groups or rateLimit.
    rate_limit: `wafRateLimit`: requests per client IP per evaluation window.
    rate_limit_window_seconds: `wafRateLimitWindowSeconds`: 60, 120, 300 or 600.
    log_retention_days: `wafLogRetentionDays`: the WAF log group's retention.
    """

    enabled: bool
    optional_rule_groups: tuple[str, ...]
    count_only: tuple[str, ...]
    rate_limit: int
    rate_limit_window_seconds: int
    log_retention_days: int

    @property
    def rule_groups(self) -> tuple[str, ...]:
        return (*WAF_BASELINE_RULE_GROUPS, *self.optional_rule_groups)

    @classmethod
    def load(cls, reader: ConfigReader) -> WafConfig:
        optional = _subset(reader, "wafOptionalRuleGroups", WAF_OPTIONAL_RULE_GROUPS)
        countable = (*WAF_BASELINE_RULE_GROUPS, *optional, WAF_RATE_LIMIT_RULE)
        count_only = _subset(
            reader, "wafCountOnly", countable, " (an optional group must be in wafOptionalRuleGroups)"
        )
        window = reader.integer("wafRateLimitWindowSeconds")
        if window not in WAF_EVALUATION_WINDOWS:
            raise ConfigError(
                "wafRateLimitWindowSeconds",
                window,
                "must be one of " + ", ".join(str(w) for w in WAF_EVALUATION_WINDOWS),
                example="300",
            )
        return cls(
            enabled=reader.boolean("waf"),
            optional_rule_groups=optional,
            count_only=count_only,
            # RateBasedStatement.Limit: 10 to 2,000,000,000 (botocore wafv2 model, shape RateLimit).
            rate_limit=reader.integer("wafRateLimit"),
            rate_limit_window_seconds=window,
            log_retention_days=log_retention(reader, "wafLogRetentionDays"),
        )


def _subset(reader: ConfigReader, key: str, allowed: tuple[str, ...], hint: str = "") -> tuple[str, ...]:
    values = reader.string_list(key)
    for value in values:
        if value not in allowed:
            raise ConfigError(
                key,
                value,
                "must list only " + ", ".join(allowed) + hint,
                f"pulumi config set --path '{key}[0]' {allowed[0]}",
            )
    if len(set(values)) != len(values):
        raise ConfigError(key, list(values), "lists a name twice")
    return tuple(values)


@dataclass(frozen=True)
class PlatformConfig:
    """Every knob of the platform layer, with the default a dev stack gets."""

    common: CommonConfig
    network_stack: str  # `networkStack`
    container_insights: ContainerInsights  # `containerInsights`
    fargate_spot_weight: int  # `fargateSpotWeight`: share of FARGATE_SPOT vs FARGATE (100)
    ecs_exec: bool  # `ecsExec`: ECS Exec with encrypted, logged sessions
    namespace_base: str  # `namespaceName`: namespace is <name>-<suffix>.<domain>
    namespace_domain: str  # `namespaceDomain`
    allowed_ingress_cidrs: tuple[str, ...]  # `allowedIngressCidrs`
    access_log_expiration_days: int  # `accessLogExpirationDays`
    secret_rotation_schedule: str  # `secretRotationSchedule`
    log_retention_days: int  # `logRetentionDays`
    kms_deletion_window_days: int  # `kmsDeletionWindowDays`
    rotation_reserved_concurrency: int  # `rotationReservedConcurrency`
    database: DatabaseConfig
    waf: WafConfig
    payment_provider_api_key: pulumi.Output[str] | None  # `paymentProviderApiKey` (secret), else random
    fraud_scoring_api_key: pulumi.Output[str] | None  # `fraudScoringApiKey` (secret), else random
    api_key_rotations: dict[str, ApiKeyRotationConfig]  # by SecretPurposes value, for each API key
    alarms: PlatformAlarmConfig  # load balancer and WAF alarm thresholds, the optional web ACL
    database_alarms: DatabaseAlarmConfig  # the managed database's alarm thresholds
    # complianceProfile pci: the egress proxy third-party calls go through; None in baseline
    egress_proxy: EgressProxyConfig | None = None

    @property
    def namespace_name(self) -> str:
        return self.common.namer.namespace(self.namespace_base, self.namespace_domain)

    @classmethod
    def load(cls, reader: ConfigReader | None = None) -> PlatformConfig:
        """The layer's config, validated; a refusal names stacks/platform and a valid example."""
        return load_layer("platform", reader or ConfigReader.from_pulumi(), cls._build)

    @classmethod
    def _build(cls, reader: ConfigReader) -> PlatformConfig:
        common = CommonConfig.load(reader)
        api_key_rotations = {
            purpose: ApiKeyRotationConfig.load(reader, prefix)
            for purpose, prefix in API_KEY_ROTATION_PREFIXES.items()
        }
        egress_proxy = EgressProxyConfig.load(reader, api_key_rotations)
        config = cls(
            common=common,
            network_stack=upstream_stack_name(
                "networkStack", reader.optional_string("networkStack"), NETWORK_PROJECT
            ),
            container_insights=_insights(reader.choice("containerInsights")),
            fargate_spot_weight=reader.integer("fargateSpotWeight"),
            ecs_exec=reader.boolean("ecsExec"),
            namespace_base=reader.string("namespaceName"),
            namespace_domain=_namespace_domain(reader),
            allowed_ingress_cidrs=_cidrs(reader),
            access_log_expiration_days=reader.integer("accessLogExpirationDays"),
            secret_rotation_schedule=_rotation_schedule(reader),
            log_retention_days=log_retention(reader, "logRetentionDays"),
            kms_deletion_window_days=reader.integer("kmsDeletionWindowDays"),
            rotation_reserved_concurrency=reader.integer("rotationReservedConcurrency"),
            database=DatabaseConfig.load(reader, pci=common.pci),
            waf=WafConfig.load(reader),
            payment_provider_api_key=reader.secret(PAYMENT_PROVIDER_API_KEY_KEY),
            fraud_scoring_api_key=reader.secret(FRAUD_SCORING_API_KEY_KEY),
            api_key_rotations=api_key_rotations,
            alarms=PlatformAlarmConfig.load(reader),
            database_alarms=DatabaseAlarmConfig.load(reader),
            # Checked in every profile, so a bad value fails before pci is switched on; built with pci only.
            egress_proxy=egress_proxy if common.pci else None,
        )
        _ = config.namespace_name  # validated now, before any resource exists
        return config


def _namespace_domain(reader: ConfigReader) -> str:
    """Dot-separated DNS labels; checked alone so that a bad domain is blamed on its own key (the
    whole namespace name is checked with `namespaceName`)."""
    domain = reader.string("namespaceDomain")
    for label in domain.split("."):
        dns_label(label, key="namespaceDomain")
    return domain


def _insights(level: str) -> ContainerInsights:
    """The level `choice` has already checked, typed as the closed set it belongs to."""
    return next(known for known in CONTAINER_INSIGHTS if known == level)


def _cidrs(reader: ConfigReader) -> tuple[str, ...]:
    cidrs = reader.string_list("allowedIngressCidrs")
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
    schedule = reader.string(key)
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
