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
# AWS WAF's web ACL names: 1-128 letters, digits, _ and - (wafv2 CreateWebACL, Name).
_WEB_ACL_NAME = re.compile(r"[\w-]{1,128}")


def _evaluation_minutes(reader: ConfigReader, key: str, default: int) -> int:
    # PutMetricAlarm: EvaluationPeriods x Period must be at most one day; periods here are 60 s.
    return reader.integer(key, default, minimum=1, maximum=60)


@dataclass(frozen=True)
class NotificationConfig:
    """Who hears about alarms: the subscriptions of the environment's alarm topic (network layer)."""

    emails: tuple[str, ...]  # `alarmEmails`, default none: each address confirms by email first
    https_endpoints: tuple[str, ...]  # `alarmHttpsEndpoints`, default none: e.g. a paging webhook

    @classmethod
    def load(cls, reader: ConfigReader) -> NotificationConfig:
        emails = reader.string_list("alarmEmails", ())
        for email in emails:
            if not _EMAIL.fullmatch(email):
                raise ConfigError(
                    "alarmEmails",
                    email,
                    "must be an email address",
                    "pulumi config set --path 'alarmEmails[0]' oncall@example.com",
                )
        endpoints = reader.string_list("alarmHttpsEndpoints", ())
        for endpoint in endpoints:
            if not _HTTPS_URL.fullmatch(endpoint):
                raise ConfigError(
                    "alarmHttpsEndpoints",
                    endpoint,
                    "must be an https:// URL (SNS delivers to HTTPS endpoints only over TLS here)",
                    "pulumi config set --path 'alarmHttpsEndpoints[0]' https://events.example.com/sns",
                )
        for key, values in (("alarmEmails", emails), ("alarmHttpsEndpoints", endpoints)):
            if len(set(values)) != len(values):
                raise ConfigError(key, list(values), "must not repeat an entry")
        return cls(emails=emails, https_endpoints=endpoints)


@dataclass(frozen=True)
class NatAlarmConfig:
    """The NAT gateways' alarms (network layer)."""

    packet_drop_percent: float  # `natPacketDropPercent`, default 0.01: dropped share of packets
    evaluation_minutes: int  # `natAlarmEvaluationMinutes`, default 5 consecutive minutes

    @classmethod
    def load(cls, reader: ConfigReader) -> NatAlarmConfig:
        return cls(
            packet_drop_percent=_percent(reader, "natPacketDropPercent", "0.01"),
            evaluation_minutes=_evaluation_minutes(reader, "natAlarmEvaluationMinutes", 5),
        )


@dataclass(frozen=True)
class PlatformAlarmConfig:
    """The load balancers' and the web ACL's alarms (platform layer).

    waf_web_acl_name: switches the WAF blocked-requests alarm and dashboard widget on; the web ACL
    itself is not created here.
    """

    load_balancer_5xx_percent: float  # `loadBalancer5xxPercent`, default 5: ELB-made 5xx per request
    evaluation_minutes: int  # `platformAlarmEvaluationMinutes`, default 5 consecutive minutes
    waf_web_acl_name: str | None  # `wafWebAclName`, default none: no WAF alarm
    waf_blocked_requests_per_minute: int  # `wafBlockedRequestsPerMinute`, default 100

    @classmethod
    def load(cls, reader: ConfigReader) -> PlatformAlarmConfig:
        acl = reader.optional_string("wafWebAclName")
        if acl is not None and not _WEB_ACL_NAME.fullmatch(acl):
            raise ConfigError(
                "wafWebAclName",
                acl,
                "must be a web ACL name: 1-128 letters, digits, _ and -",
                "pulumi config set wafWebAclName <name>, or pulumi config rm wafWebAclName",
            )
        return cls(
            load_balancer_5xx_percent=_percent(reader, "loadBalancer5xxPercent", "5"),
            evaluation_minutes=_evaluation_minutes(reader, "platformAlarmEvaluationMinutes", 5),
            waf_web_acl_name=acl,
            waf_blocked_requests_per_minute=reader.integer("wafBlockedRequestsPerMinute", 100, minimum=1),
        )


@dataclass(frozen=True)
class ServiceAlarmConfig:
    """The on-call alarms of every service (services layer); the release alarms are in TrafficConfig."""

    target_5xx_percent: float  # `target5xxPercent`, default 5: target 5xx per request
    latency_p99_ms: int  # `latencyP99ThresholdMs`, default 1000
    at_max_capacity_percent: int  # `atMaxCapacityPercent`, default 85: CPU or memory at max tasks
    evaluation_minutes: int  # `onCallEvaluationMinutes`, default 5 consecutive minutes

    @classmethod
    def load(cls, reader: ConfigReader) -> ServiceAlarmConfig:
        return cls(
            target_5xx_percent=_percent(reader, "target5xxPercent", "5"),
            latency_p99_ms=reader.integer("latencyP99ThresholdMs", 1000, minimum=10),
            at_max_capacity_percent=reader.integer("atMaxCapacityPercent", 85, minimum=1, maximum=100),
            evaluation_minutes=_evaluation_minutes(reader, "onCallEvaluationMinutes", 5),
        )


def _percent(reader: ConfigReader, key: str, default: str) -> float:
    raw = reader.string(key, default)
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(key, raw, "must be a number of percent, e.g. 5 or 0.01") from None
    if not 0 < value <= 100:
        raise ConfigError(key, raw, "must be more than 0 and at most 100 (percent)")
    return value
