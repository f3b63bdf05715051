"""Typed configuration of notifications and of the on-call alarms' thresholds, per layer.

Each layer owns the alarms on what it creates, so each reads its own thresholds: the network its NAT
gateways', the platform its load balancers' (and the optional WAF's), the services layer each
service's. The topic every alarm notifies belongs to the network layer, with its subscriptions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.config.reader import ConfigReader
from shared.errors import ConfigError

# Loose on purpose: SNS sends a confirmation to the address, which is the real check.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_HTTPS_URL = re.compile(r"https://[^\s/]+(/\S*)?")


# Each topic's subscriptions are read from `<prefix>Emails` and `<prefix>HttpsEndpoints`.
PAGING_PREFIX = "alarm"  # alarmEmails, alarmHttpsEndpoints: the paging topic (the original keys)
TICKET_PREFIX = "ticket"  # ticketEmails, ticketHttpsEndpoints: the ticket topic
# EventBridge schedule expressions (EventBridge user guide, "Creating a rule that runs on a schedule").
_SCHEDULE = re.compile(r"rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\([^()]+\)")


@dataclass(frozen=True)
class NotificationConfig:
    """Who hears about one severity: the subscriptions of one of the environment's two topics (network
    layer). `prefix` "alarm" is the paging topic, "ticket" the ticket topic."""

    emails: tuple[str, ...]  # `<prefix>Emails`: each address confirms by email first
    https_endpoints: tuple[str, ...]  # `<prefix>HttpsEndpoints`: e.g. a paging webhook
    prefix: str = PAGING_PREFIX

    @property
    def keys(self) -> tuple[str, str]:
        return f"{self.prefix}Emails", f"{self.prefix}HttpsEndpoints"

    @property
    def subscribed(self) -> bool:
        return bool(self.emails or self.https_endpoints)

    @classmethod
    def load(cls, reader: ConfigReader, prefix: str = PAGING_PREFIX) -> NotificationConfig:
        emails_key, endpoints_key = f"{prefix}Emails", f"{prefix}HttpsEndpoints"
        emails = reader.string_list(emails_key)
        for email in emails:
            if not _EMAIL.fullmatch(email):
                raise ConfigError(
                    emails_key,
                    email,
                    "must be an email address",
                    f"pulumi config set --path '{emails_key}[0]' oncall@example.com",
                )
        endpoints = reader.string_list(endpoints_key)
        for endpoint in endpoints:
            if not _HTTPS_URL.fullmatch(endpoint):
                raise ConfigError(
                    endpoints_key,
                    endpoint,
                    "must be an https:// URL (SNS delivers to HTTPS endpoints only over TLS here)",
                    f"pulumi config set --path '{endpoints_key}[0]' https://events.example.com/sns",
                )
        for key, values in ((emails_key, emails), (endpoints_key, endpoints)):
            if len(set(values)) != len(values):
                raise ConfigError(key, list(values), "must not repeat an entry")
        return cls(emails=emails, https_endpoints=endpoints, prefix=prefix)


def heartbeat_schedule(reader: ConfigReader) -> str:
    """`alarmHeartbeatSchedule`: when both topics get their heartbeat message."""
    value = reader.string("alarmHeartbeatSchedule")
    if not _SCHEDULE.fullmatch(value):
        raise ConfigError(
            "alarmHeartbeatSchedule",
            value,
            "must be an EventBridge schedule expression, rate(N days|hours|minutes) or cron(...)",
            "pulumi config set alarmHeartbeatSchedule 'cron(0 9 ? * MON-FRI *)'",
        )
    return value


@dataclass(frozen=True)
class NatAlarmConfig:
    """The NAT gateways' alarms (network layer)."""

    packet_drop_percent: float  # `natPacketDropPercent`: dropped share of packets
    evaluation_minutes: int  # `natAlarmEvaluationMinutes`

    @classmethod
    def load(cls, reader: ConfigReader) -> NatAlarmConfig:
        return cls(
            packet_drop_percent=_percent(reader, "natPacketDropPercent"),
            evaluation_minutes=reader.integer("natAlarmEvaluationMinutes"),
        )


@dataclass(frozen=True)
class PlatformAlarmConfig:
    """The load balancers' and the web ACL's alarms (platform layer); the WAF alarm exists only
    where the layer creates a web ACL (`waf`)."""

    load_balancer_5xx_percent: float  # `loadBalancer5xxPercent`: ELB-made 5xx per request
    evaluation_minutes: int  # `platformAlarmEvaluationMinutes`
    waf_blocked_requests_per_minute: int  # `wafBlockedRequestsPerMinute`

    @classmethod
    def load(cls, reader: ConfigReader) -> PlatformAlarmConfig:
        return cls(
            load_balancer_5xx_percent=_percent(reader, "loadBalancer5xxPercent"),
            evaluation_minutes=reader.integer("platformAlarmEvaluationMinutes"),
            waf_blocked_requests_per_minute=reader.integer("wafBlockedRequestsPerMinute"),
        )


@dataclass(frozen=True)
class DatabaseAlarmConfig:
    """The managed database's alarms (platform layer); evaluated over `platformAlarmEvaluationMinutes`."""

    connections_percent: int  # `databaseConnectionsPercent`: of the class's max_connections
    cpu_percent: int  # `databaseCpuPercent`
    cpu_credit_balance: int  # `databaseCpuCreditBalance`: burstable classes only
    freeable_memory_percent: int  # `databaseFreeableMemoryPercent`: of the class's memory
    free_storage_percent: int  # `databaseFreeStoragePercent`: of the allocated storage
    latency_ms: int  # `databaseLatencyMs`: read or write

    @classmethod
    def load(cls, reader: ConfigReader) -> DatabaseAlarmConfig:
        return cls(
            connections_percent=reader.integer("databaseConnectionsPercent"),
            cpu_percent=reader.integer("databaseCpuPercent"),
            cpu_credit_balance=reader.integer("databaseCpuCreditBalance"),
            freeable_memory_percent=reader.integer("databaseFreeableMemoryPercent"),
            free_storage_percent=reader.integer("databaseFreeStoragePercent"),
            latency_ms=reader.integer("databaseLatencyMs"),
        )


@dataclass(frozen=True)
class ServiceAlarmConfig:
    """The on-call alarms of every service (services layer); the release alarms are in TrafficConfig."""

    target_5xx_percent: float  # `target5xxPercent`: target 5xx per request
    latency_p99_ms: int  # `latencyP99ThresholdMs`
    at_max_capacity_percent: int  # `atMaxCapacityPercent`: CPU or memory at max tasks
    evaluation_minutes: int  # `onCallEvaluationMinutes`
    latency_min_requests: int  # `latencyMinRequestsPerMinute`: the p99 alarm's sample floor
    min_successful_requests: int  # `minSuccessfulRequestsPerMinute`: the edge's traffic floor, 0 = off
    traffic_loss_minutes: int  # `trafficLossMinutes`
    running_below_desired_minutes: int  # `runningBelowDesiredMinutes`
    certificate_expiry_days: int  # `certificateExpiryDays`

    @classmethod
    def load(cls, reader: ConfigReader) -> ServiceAlarmConfig:
        return cls(
            target_5xx_percent=_percent(reader, "target5xxPercent"),
            latency_p99_ms=reader.integer("latencyP99ThresholdMs"),
            at_max_capacity_percent=reader.integer("atMaxCapacityPercent"),
            evaluation_minutes=reader.integer("onCallEvaluationMinutes"),
            latency_min_requests=reader.integer("latencyMinRequestsPerMinute"),
            min_successful_requests=reader.integer("minSuccessfulRequestsPerMinute"),
            traffic_loss_minutes=reader.integer("trafficLossMinutes"),
            running_below_desired_minutes=reader.integer("runningBelowDesiredMinutes"),
            certificate_expiry_days=reader.integer("certificateExpiryDays"),
        )


def _percent(reader: ConfigReader, key: str) -> float:
    """A percentage, declared as a string: Pulumi.yaml's config schema has no number type."""
    raw = reader.string(key)
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(key, raw, "must be a number of percent, e.g. 5 or 0.01") from None
    if not 0 < value <= 100:
        raise ConfigError(key, raw, "must be more than 0 and at most 100 (percent)")
    return value
