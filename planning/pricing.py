"""The dated price tables under `planning/prices/`, loaded and checked before any arithmetic uses them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

PRICES_DIR = Path(__file__).resolve().parent / "prices"
SCALES: tuple[Scale, ...] = ("min", "max")

Scale = Literal["min", "max"]

# Every rate the estimate reads, as (section, key) paths into "prices"; a table missing one is refused.
REQUIRED_RATES = (
    ("natGateway", "hour"),
    ("natGateway", "gbProcessed"),
    ("publicIpv4", "hour"),
    ("loadBalancer", "hour"),
    ("loadBalancer", "lcuHour"),
    ("interfaceEndpoint", "azHour"),
    ("interfaceEndpoint", "gbProcessed"),
    ("kms", "keyMonth"),
    ("secretsManager", "secretMonth"),
    ("cloudwatchLogs", "gbIngested"),
    ("cloudwatchLogs", "gbMonthStored"),
    ("cloudwatchLogs", "vendedGbIngested"),
    ("cloudwatchMetrics", "metricMonth"),
    ("cloudwatchMetrics", "alarmMetricMonth"),
    ("containerInsights", "metricsPerCluster"),
    ("containerInsights", "metricsPerService"),
    ("containerInsights", "metricsPerTaskFamily"),
    ("waf", "webAclMonth"),
    ("waf", "ruleMonth"),
    ("waf", "millionRequests"),
    ("firehose", "gbIngested"),
    ("s3", "standardGbMonth"),
    ("s3", "glacierIrGbMonth"),
    ("backup", "rdsSnapshotGbMonth"),
    ("networkFirewall", "endpointHour"),
    ("networkFirewall", "gbProcessed"),
)
FARGATE_ARCHITECTURES = ("X86_64", "ARM64")
RdsDeployment = Literal["singleAz", "multiAz"]
RDS_DEPLOYMENTS: tuple[RdsDeployment, ...] = ("singleAz", "multiAz")
FARGATE_MARKETS = ("onDemand", "spot")
USAGE_KEYS = (
    "natGbPerMonth",
    "lcuPerLoadBalancer",
    "interfaceEndpointGbPerMonth",
    "logGbPerTaskMonth",
    "flowLogGbPerMonth",
    "containerInsightsGbPerTaskMonth",
    "wafMillionRequestsPerMonth",
    "wafLogGbPerMonth",
    "archiveGbPerMonth",
    "backupGbPerAllocatedGb",
)


class PriceTableError(ValueError):
    """A price table that is missing, or missing a rate the estimate needs."""


@dataclass(frozen=True)
class FargateRate:
    vcpu_hour: float
    gb_hour: float


@dataclass(frozen=True)
class PriceTable:
    region: str
    currency: str
    prices_as_of: str
    hours_per_month: float
    source: Path
    rates: Mapping[str, Mapping[str, float]]
    fargate: Mapping[tuple[str, str], FargateRate]  # (architecture, market) -> rate
    usage: Mapping[str, Mapping[Scale, float]]
    # RDS for PostgreSQL: (instance class, deployment) -> instance-hour; deployment -> gp3 GB-month.
    rds_instance_hour: Mapping[tuple[str, RdsDeployment], float]
    rds_gp3_gb_month: Mapping[RdsDeployment, float]

    def rate(self, section: str, key: str) -> float:
        return self.rates[section][key]

    def rds_rate(self, instance_class: str, deployment: RdsDeployment) -> float:
        try:
            return self.rds_instance_hour[(instance_class, deployment)]
        except KeyError:
            known = ", ".join(sorted({c for c, _ in self.rds_instance_hour}))
            raise PriceTableError(
                f"{self.source.name}: no RDS for PostgreSQL rate for {instance_class} ({deployment}); add it "
                f"under prices.rdsPostgres.instanceHour from https://aws.amazon.com/rds/postgresql/pricing/ "
                f"(the table has {known})"
            ) from None

    def fargate_rate(self, architecture: str, spot: bool) -> FargateRate:
        market = "spot" if spot else "onDemand"
        try:
            return self.fargate[(architecture, market)]
        except KeyError:
            raise PriceTableError(
                f"{self.source.name}: no Fargate {market} rate for {architecture}"
            ) from None

    def assumed(self, key: str, scale: Scale) -> float:
        return self.usage[key][scale]


def table_path(region: str) -> Path:
    return PRICES_DIR / f"{region}.json"


def load(region: str, path: Path | None = None) -> PriceTable:
    """The region's table, every required rate present and a non-negative number."""
    path = path or table_path(region)
    if not path.exists():
        known = sorted(p.stem for p in PRICES_DIR.glob("*.json"))
        raise PriceTableError(
            f"no price table for {region}: add {path.relative_to(path.parents[1])} "
            f"(tables exist for {', '.join(known) or 'no region'})"
        )
    raw = json.loads(path.read_text())
    if raw.get("region") != region:
        raise PriceTableError(f"{path.name} is for region {raw.get('region')!r}, not {region}")
    prices = _mapping(raw, "prices", path)
    rates: dict[str, dict[str, float]] = {}
    for section, key in REQUIRED_RATES:
        rates.setdefault(section, {})[key] = _amount(
            _mapping(prices, section, path).get(key), f"{section}.{key}", path
        )
    fargate = {
        (arch, market): FargateRate(
            vcpu_hour=_amount(
                _fargate(prices, arch, market, path).get("vcpuHour"),
                f"fargate.{arch}.{market}.vcpuHour",
                path,
            ),
            gb_hour=_amount(
                _fargate(prices, arch, market, path).get("gbHour"), f"fargate.{arch}.{market}.gbHour", path
            ),
        )
        for arch in FARGATE_ARCHITECTURES
        for market in FARGATE_MARKETS
    }
    usage_raw = _mapping(raw, "usage", path)
    usage: dict[str, dict[Scale, float]] = {}
    for key in USAGE_KEYS:
        entry = _mapping(usage_raw, key, path)
        usage[key] = {scale: _amount(entry.get(scale), f"usage.{key}.{scale}", path) for scale in SCALES}
    rds = _mapping(prices, "rdsPostgres", path)
    rds_instance_hour = {
        (instance_class, deployment): _amount(
            _mapping(_mapping(rds, "instanceHour", path), instance_class, path).get(deployment),
            f"rdsPostgres.instanceHour.{instance_class}.{deployment}",
            path,
        )
        for instance_class in _mapping(rds, "instanceHour", path)
        for deployment in RDS_DEPLOYMENTS
    }
    rds_gp3_gb_month = {
        deployment: _amount(
            _mapping(rds, "gp3GbMonth", path).get(deployment), f"rdsPostgres.gp3GbMonth.{deployment}", path
        )
        for deployment in RDS_DEPLOYMENTS
    }
    return PriceTable(
        region=region,
        currency=str(raw.get("currency", "USD")),
        prices_as_of=_text(raw, "pricesAsOf", path),
        hours_per_month=_amount(raw.get("hoursPerMonth"), "hoursPerMonth", path),
        source=path,
        rates=rates,
        fargate=fargate,
        usage=usage,
        rds_instance_hour=rds_instance_hour,
        rds_gp3_gb_month=rds_gp3_gb_month,
    )


def _fargate(prices: Mapping[str, Any], arch: str, market: str, path: Path) -> Mapping[str, Any]:
    return _mapping(_mapping(_mapping(prices, "fargate", path), arch, path), market, path)


def _mapping(parent: Mapping[str, Any], key: str, path: Path) -> Mapping[str, Any]:
    value = parent.get(key)
    if not isinstance(value, Mapping):
        raise PriceTableError(f"{path.name}: {key!r} is missing or not an object")
    return value


def _amount(value: Any, where: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise PriceTableError(f"{path.name}: {where} must be a non-negative number, got {value!r}")
    return float(value)


def _text(raw: Mapping[str, Any], key: str, path: Path) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise PriceTableError(f"{path.name}: {key!r} must say when the prices were taken")
    return value
