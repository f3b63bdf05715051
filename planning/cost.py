"""Monthly cost at the minimum and the maximum task count, from what the layers would create.

Every line is derived from resource inputs (task sizes, scaling bounds, capacity provider strategies,
gateway and load balancer counts, endpoint subnets, secrets, keys, alarms) and priced with the dated
table in `planning/prices/<region>.json`. Usage that the code cannot know (traffic, log volume) comes
from the table's stated `usage` assumptions, so every number can be traced to a rate and a count.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from planning.pricing import SCALES, PriceTable, RdsDeployment, Scale
from policy.model import Resource

ECS_SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
SCALABLE_TARGET = "aws:appautoscaling/target:Target"
CLUSTER = "aws:ecs/cluster:Cluster"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
KMS_KEY = "aws:kms/key:Key"
SECRET = "aws:secretsmanager/secret:Secret"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WAF_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
RDS_INSTANCE = "aws:rds/instance:Instance"
FIREHOSE_STREAM = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
BACKUP_SELECTION = "aws:backup/selection:Selection"
MONTH_DAYS = 30

MIB_PER_GIB = 1024
FARGATE_UNITS_PER_VCPU = 1024


@dataclass(frozen=True)
class CostLine:
    layer: str
    item: str
    basis: str  # the counts and assumptions behind the figure, for a reader to check
    monthly: Mapping[Scale, float]

    def as_json(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "item": self.item,
            "basis": self.basis,
            **{scale: round(self.monthly[scale], 2) for scale in SCALES},
        }


@dataclass(frozen=True)
class CostEstimate:
    table: PriceTable
    lines: tuple[CostLine, ...]
    caveats: tuple[str, ...] = field(default=())

    def total(self, scale: Scale, layer: str | None = None) -> float:
        return sum(line.monthly[scale] for line in self.lines if layer is None or line.layer == layer)

    def as_json(self) -> dict[str, Any]:
        return {
            "region": self.table.region,
            "currency": self.table.currency,
            "pricesAsOf": self.table.prices_as_of,
            "priceTable": self.table.source.name,
            "hoursPerMonth": self.table.hours_per_month,
            "lines": [line.as_json() for line in self.lines],
            "totals": {scale: round(self.total(scale), 2) for scale in SCALES},
            "caveats": list(self.caveats),
        }


@dataclass(frozen=True)
class _Line:
    item: str
    basis: str
    monthly: Mapping[Scale, float]


def _flat(amount: float) -> dict[Scale, float]:
    """A cost that does not move with the task count."""
    return dict.fromkeys(SCALES, amount)


# --- Fargate -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Strategy:
    """How ECS places N tasks: `base` on the base provider first, the rest split by weight."""

    entries: tuple[tuple[str, int, float], ...]  # (provider, base, weight)

    @classmethod
    def of(cls, service: Resource) -> _Strategy:
        raw = service.get("capacityProviderStrategies") or []
        entries = tuple(
            (str(e["capacityProvider"]), int(e.get("base") or 0), float(e.get("weight") or 0)) for e in raw
        )
        return cls(entries or (("FARGATE", 0, 1.0),))

    def spot_tasks(self, tasks: float) -> float:
        based = sum(min(base, tasks) for _, base, _ in self.entries)
        spot_base = sum(min(base, tasks) for provider, base, _ in self.entries if provider == "FARGATE_SPOT")
        weights = sum(weight for _, _, weight in self.entries)
        spot_weight = sum(weight for provider, _, weight in self.entries if provider == "FARGATE_SPOT")
        remainder = max(tasks - based, 0.0)
        return spot_base + (remainder * spot_weight / weights if weights else 0.0)


def _scalable_targets(resources: Sequence[Resource]) -> dict[str, Resource]:
    """ECS scalable targets by service name (`service/<cluster>/<service>`)."""
    return {
        str(r.get("resourceId")).rsplit("/", 1)[-1]: r
        for r in resources
        if r.type == SCALABLE_TARGET and r.get("scalableDimension") == "ecs:service:DesiredCount"
    }


def _task_counts(service: Resource, targets: Mapping[str, Resource]) -> dict[Scale, float]:
    """The scalable target's bounds; a service without one runs its desired count at both ends."""
    target = targets.get(str(service.get("name")))
    if target is None:
        desired = float(service.get("desiredCount") or 0)
        return _flat(desired)
    return {"min": float(target.get("minCapacity")), "max": float(target.get("maxCapacity"))}


def _family(task_definition_arn: str) -> str:
    """`arn:...:task-definition/<family>:<revision>` -> family."""
    return task_definition_arn.rsplit("/", 1)[-1].split(":", 1)[0]


def _fargate(resources: Sequence[Resource], table: PriceTable) -> list[_Line]:
    definitions = {str(r.get("family")): r for r in resources if r.type == TASK_DEFINITION}
    targets = _scalable_targets(resources)
    hours = table.hours_per_month
    lines = []
    for service in sorted((r for r in resources if r.type == ECS_SERVICE), key=lambda r: r.name):
        definition = definitions[_family(str(service.get("taskDefinition")))]
        vcpu = float(definition.get("cpu")) / FARGATE_UNITS_PER_VCPU
        memory_gb = float(definition.get("memory")) / MIB_PER_GIB
        architecture = str(definition.get("runtimePlatform.cpuArchitecture") or "X86_64")
        strategy = _Strategy.of(service)
        on_demand = table.fargate_rate(architecture, spot=False)
        spot = table.fargate_rate(architecture, spot=True)
        counts = _task_counts(service, targets)
        monthly: dict[Scale, float] = {}
        for scale in SCALES:
            spot_tasks = strategy.spot_tasks(counts[scale])
            on_demand_tasks = counts[scale] - spot_tasks
            monthly[scale] = hours * (
                on_demand_tasks * (vcpu * on_demand.vcpu_hour + memory_gb * on_demand.gb_hour)
                + spot_tasks * (vcpu * spot.vcpu_hour + memory_gb * spot.gb_hour)
            )
        spot_share = strategy.spot_tasks(counts["max"]) / counts["max"] if counts["max"] else 0.0
        lines.append(
            _Line(
                f"Fargate {service.get('name')}",
                f"{counts['min']:g}-{counts['max']:g} tasks x {vcpu:g} vCPU / {memory_gb:g} GB "
                f"{architecture}, {spot_share:.0%} Spot",
                monthly,
            )
        )
    return lines


# --- Network -----------------------------------------------------------------------------------


def _nat_gateways(resources: Sequence[Resource], table: PriceTable) -> list[_Line]:
    gateways = [
        r for r in resources if r.type == NAT_GATEWAY and r.get("connectivityType", "public") == "public"
    ]
    if not gateways:
        return []
    hourly = len(gateways) * table.rate("natGateway", "hour") * table.hours_per_month
    data = {s: table.assumed("natGbPerMonth", s) * table.rate("natGateway", "gbProcessed") for s in SCALES}
    gb = table.usage["natGbPerMonth"]
    return [
        _Line(
            "NAT gateways",
            f"{len(gateways)} gateway(s) + {gb['min']:g}-{gb['max']:g} GB processed",
            {s: hourly + data[s] for s in SCALES},
        )
    ]


def _public_ipv4(resources: Sequence[Resource], table: PriceTable) -> list[_Line]:
    """Elastic IPs, and one address per subnet (AZ) of each internet-facing load balancer."""
    elastic = sum(1 for r in resources if r.type == EIP)
    balancers = sum(
        len(r.get("subnets") or r.get("subnetMappings") or [])
        for r in resources
        if r.type == LOAD_BALANCER and not r.get("internal")
    )
    addresses = elastic + balancers
    if not addresses:
        return []
    return [
        _Line(
            "Public IPv4 addresses",
            f"{elastic} Elastic IP(s) + {balancers} load balancer address(es)",
            _flat(addresses * table.rate("publicIpv4", "hour") * table.hours_per_month),
        )
    ]


def _interface_endpoints(resources: Sequence[Resource], table: PriceTable) -> list[_Line]:
    endpoints = [r for r in resources if r.type == VPC_ENDPOINT and r.get("vpcEndpointType") == "Interface"]
    if not endpoints:
        return []
    az_hours = sum(len(r.get("subnetIds") or []) for r in endpoints) * table.hours_per_month
    fixed = az_hours * table.rate("interfaceEndpoint", "azHour")
    gb = table.usage["interfaceEndpointGbPerMonth"]
    return [
        _Line(
            "Interface endpoints",
            f"{len(endpoints)} endpoint(s), {az_hours / table.hours_per_month:g} AZ attachments "
            f"+ {gb['min']:g}-{gb['max']:g} GB",
            {s: fixed + gb[s] * table.rate("interfaceEndpoint", "gbProcessed") for s in SCALES},
        )
    ]


def _flow_logs(resources: Sequence[Resource], table: PriceTable) -> list[_Line]:
    to_logs = [
        r for r in resources if r.type == FLOW_LOG and r.get("logDestinationType") == "cloud-watch-logs"
    ]
    if not to_logs:
        return []
    gb = table.usage["flowLogGbPerMonth"]
    rate = table.rate("cloudwatchLogs", "vendedGbIngested") + table.rate("cloudwatchLogs", "gbMonthStored")
    return [
        _Line(
            "VPC flow logs",
            f"{len(to_logs)} flow log(s), {gb['min']:g}-{gb['max']:g} GB vended and stored",
            {s: len(to_logs) * gb[s] * rate for s in SCALES},
        )
    ]


# --- Platform ----------------------------------------------------------------------------------


def _load_balancers(resources: Sequence[Resource], table: PriceTable) -> list[_Line]:
    balancers = [
        r for r in resources if r.type == LOAD_BALANCER and r.get("loadBalancerType") == "application"
    ]
    if not balancers:
        return []
    hours = table.hours_per_month
    lcu = table.usage["lcuPerLoadBalancer"]
    return [
        _Line(
            "Application load balancers",
            f"{len(balancers)} ALB(s) x ({lcu['min']:g}-{lcu['max']:g} LCU)",
            {
                s: len(balancers)
                * hours
                * (table.rate("loadBalancer", "hour") + lcu[s] * table.rate("loadBalancer", "lcuHour"))
                for s in SCALES
            },
        )
    ]


def _web_acls(resources: Sequence[Resource], table: PriceTable) -> list[_Line]:
    """Per web ACL and per rule (a managed rule group is one rule) a month, plus inspected requests."""
    acls = [r for r in resources if r.type == WEB_ACL]
    if not acls:
        return []
    rules = sum(len(r.get("rules") or []) for r in acls)
    requests = table.usage["wafMillionRequestsPerMonth"]
    fixed = len(acls) * table.rate("waf", "webAclMonth") + rules * table.rate("waf", "ruleMonth")
    lines = [
        _Line(
            "AWS WAF web ACLs",
            f"{len(acls)} web ACL(s), {rules} rule(s), {requests['min']:g}-{requests['max']:g} M requests",
            {s: fixed + len(acls) * requests[s] * table.rate("waf", "millionRequests") for s in SCALES},
        )
    ]
    logged = sum(1 for r in resources if r.type == WAF_LOGGING)
    if logged:
        gb = table.usage["wafLogGbPerMonth"]
        rate = table.rate("cloudwatchLogs", "vendedGbIngested") + table.rate(
            "cloudwatchLogs", "gbMonthStored"
        )
        lines.append(
            _Line(
                "AWS WAF logs",
                f"{logged} web ACL log(s), {gb['min']:g}-{gb['max']:g} GB vended and stored",
                {s: logged * gb[s] * rate for s in SCALES},
            )
        )
    return lines


def _databases(resources: Sequence[Resource], table: PriceTable) -> list[_Line]:
    """RDS instance-hours by class and deployment, and gp3 storage at the allocated size (autoscaling
    may grow it up to the ceiling); the RDS-managed master secret is one more Secrets Manager secret."""
    lines = []
    for instance in (r for r in resources if r.type == RDS_INSTANCE):
        deployment: RdsDeployment = "multiAz" if instance.get("multiAz") else "singleAz"
        instance_class = str(instance.get("instanceClass"))
        storage_gb = float(instance.get("allocatedStorage") or 0)
        hourly = table.rds_rate(instance_class, deployment)
        storage = table.rds_gp3_gb_month[deployment]
        lines += [
            _Line(
                f"RDS for PostgreSQL {instance.get('identifier')}",
                f"{instance_class} {deployment} x {table.hours_per_month:g} h + {storage_gb:g} GB gp3",
                _flat(hourly * table.hours_per_month + storage_gb * storage),
            ),
            _Line(
                "RDS-managed master secret",
                "1 secret in Secrets Manager (the database's master credentials)",
                _flat(table.rate("secretsManager", "secretMonth")),
            ),
        ]
    return lines


def _audit_archive(resources: Sequence[Resource], table: PriceTable) -> list[_Line]:
    """complianceProfile pci: Firehose ingestion, and the archive's steady state: the months before the
    lifecycle transition in S3 Standard, the rest of the Object Lock retention in Glacier IR."""
    streams = [r for r in resources if r.type == FIREHOSE_STREAM]
    locks = [r for r in resources if r.type == OBJECT_LOCK]
    if not streams or not locks:
        return []
    retention_days = float(locks[0].get("rule.defaultRetention.days") or 0)
    transitions = [
        float(t.get("days") or 0)
        for r in resources
        if r.type == LIFECYCLE
        for rule in r.get("rules") or []
        for t in rule.get("transitions") or []
    ]
    warm_days = min(transitions) if transitions else retention_days
    warm_months, cold_months = warm_days / MONTH_DAYS, max(retention_days - warm_days, 0) / MONTH_DAYS
    gb = table.usage["archiveGbPerMonth"]
    per_gb = (
        table.rate("firehose", "gbIngested")
        + warm_months * table.rate("s3", "standardGbMonth")
        + cold_months * table.rate("s3", "glacierIrGbMonth")
    )
    return [
        _Line(
            "Audit archive (Firehose, S3, Glacier IR)",
            f"{gb['min']:g}-{gb['max']:g} GB a month, kept {retention_days:g} days "
            f"({warm_days:g} in Standard)",
            {s: gb[s] * per_gb for s in SCALES},
        )
    ]


def _database_backups(resources: Sequence[Resource], table: PriceTable) -> list[_Line]:
    """AWS Backup's RDS snapshots of each selected instance, at its allocated storage."""
    if not any(r.type == BACKUP_SELECTION for r in resources):
        return []
    storage = sum(float(r.get("allocatedStorage") or 0) for r in resources if r.type == RDS_INSTANCE)
    copies = table.usage["backupGbPerAllocatedGb"]
    return [
        _Line(
            "AWS Backup (database snapshots)",
            f"{storage:g} GB allocated x {copies['min']:g}-{copies['max']:g} in snapshots",
            {s: storage * copies[s] * table.rate("backup", "rdsSnapshotGbMonth") for s in SCALES},
        )
    ]


def _count_priced(
    type_: str, item: str, section: str, key: str
) -> Callable[[Sequence[Resource], PriceTable], list[_Line]]:
    def price(resources: Sequence[Resource], table: PriceTable) -> list[_Line]:
        count = sum(1 for r in resources if r.type == type_)
        if not count:
            return []
        rate = table.rate(section, key)
        return [
            _Line(
                item,
                f"{count} x {rate:.2f} a month",
                _flat(count * rate),
            )
        ]

    return price


def _container_insights_mode(resources: Sequence[Resource]) -> str | None:
    for cluster in (r for r in resources if r.type == CLUSTER):
        for setting in cluster.get("settings") or []:
            if setting.get("name") == "containerInsights" and setting.get("value") in ("enabled", "enhanced"):
                return str(setting["value"])
    return None


def _cluster_insights(resources: Sequence[Resource], table: PriceTable) -> list[_Line]:
    clusters = sum(1 for r in resources if r.type == CLUSTER and _container_insights_mode([r]))
    if not clusters:
        return []
    metrics = clusters * table.rate("containerInsights", "metricsPerCluster")
    return [
        _Line(
            "Container Insights (cluster)",
            f"{metrics:g} cluster metrics",
            _flat(metrics * table.rate("cloudwatchMetrics", "metricMonth")),
        )
    ]


# --- Services ----------------------------------------------------------------------------------


def _tasks(resources: Sequence[Resource]) -> dict[Scale, float]:
    """Running tasks across all services."""
    targets = _scalable_targets(resources)
    totals: dict[Scale, float] = _flat(0.0)
    for service in (r for r in resources if r.type == ECS_SERVICE):
        counts = _task_counts(service, targets)
        for scale in SCALES:
            totals[scale] += counts[scale]
    return totals


def _service_logs(resources: Sequence[Resource], table: PriceTable) -> list[_Line]:
    """Application logs: ingestion per running task, and what the retention period keeps stored."""
    groups = {
        str(container.get("logConfiguration", {}).get("options", {}).get("awslogs-group"))
        for definition in resources
        if definition.type == TASK_DEFINITION
        for container in (definition.json("containerDefinitions") or [])
    }
    retention = [
        float(r.get("retentionInDays") or 0) for r in resources if r.type == LOG_GROUP and r.name in groups
    ]
    if not retention:
        return []
    days = max(retention)
    tasks = _tasks(resources)
    gb = {s: tasks[s] * table.assumed("logGbPerTaskMonth", s) for s in SCALES}
    ingest = table.rate("cloudwatchLogs", "gbIngested")
    stored = table.rate("cloudwatchLogs", "gbMonthStored") * days / 30  # steady state: `days` of data kept
    return [
        _Line(
            "Service logs",
            f"{len(retention)} log group(s), {gb['min']:g}-{gb['max']:g} GB a month kept {days:g} days",
            {s: gb[s] * (ingest + stored) for s in SCALES},
        )
    ]


def _service_insights(resources: Sequence[Resource], table: PriceTable, mode: str | None) -> list[_Line]:
    if mode is None:
        return []
    services = sum(1 for r in resources if r.type == ECS_SERVICE)
    families = sum(1 for r in resources if r.type == TASK_DEFINITION)
    if not services:
        return []
    metrics = services * table.rate("containerInsights", "metricsPerService") + families * table.rate(
        "containerInsights", "metricsPerTaskFamily"
    )
    tasks = _tasks(resources)
    events = {s: tasks[s] * table.assumed("containerInsightsGbPerTaskMonth", s) for s in SCALES}
    return [
        _Line(
            "Container Insights (services)",
            f"{metrics:g} service and task-family metrics + performance events",
            {
                s: metrics * table.rate("cloudwatchMetrics", "metricMonth")
                + events[s] * table.rate("cloudwatchLogs", "gbIngested")
                for s in SCALES
            },
        )
    ]


def _alarms(resources: Sequence[Resource], table: PriceTable) -> list[_Line]:
    """Standard alarms bill per metric they read: a metric-math alarm pays for each metric query."""
    alarms = [r for r in resources if r.type == METRIC_ALARM]
    if not alarms:
        return []
    metrics = sum(sum(1 for q in r.get("metricQueries") or [] if q.get("metric")) or 1 for r in alarms)
    return [
        _Line(
            "CloudWatch alarms",
            f"{len(alarms)} alarm(s) reading {metrics} metric(s)",
            _flat(metrics * table.rate("cloudwatchMetrics", "alarmMetricMonth")),
        )
    ]


# --- The estimate ------------------------------------------------------------------------------

_ESTIMATORS: tuple[Callable[[Sequence[Resource], PriceTable], list[_Line]], ...] = (
    _fargate,
    _nat_gateways,
    _public_ipv4,
    _interface_endpoints,
    _flow_logs,
    _load_balancers,
    _web_acls,
    _databases,
    _audit_archive,
    _database_backups,
    _count_priced(KMS_KEY, "KMS keys", "kms", "keyMonth"),
    _count_priced(SECRET, "Secrets Manager secrets", "secretsManager", "secretMonth"),
    _cluster_insights,
    _service_logs,
    _alarms,
)

CAVEATS = (
    "Not priced: data transfer to the internet, cross-AZ traffic, ECR storage, S3 access logs, "
    "Lambda invocations and API requests to KMS and Secrets Manager; each is cents to a few dollars "
    "at these volumes.",
    "The database is priced at its allocated storage; storage autoscaling may grow it up to "
    "databaseMaxAllocatedStorageGb. Backups up to the provisioned storage are free; its exported "
    "logs are small next to the services' logs and are not priced.",
)


def estimate(layers: Mapping[str, Sequence[Resource]], table: PriceTable) -> CostEstimate:
    """The monthly cost of every layer's resources at min and max scale, line by line."""
    everything = [resource for resources in layers.values() for resource in resources]
    mode = _container_insights_mode(everything)
    lines: list[CostLine] = []
    for layer, resources in layers.items():
        found = [line for estimator in _ESTIMATORS for line in estimator(resources, table)]
        found += _service_insights(resources, table, mode)
        lines += [CostLine(layer, line.item, line.basis, line.monthly) for line in found]
    caveats = list(CAVEATS)
    if mode == "enhanced":
        caveats.append(
            "Container Insights with enhanced observability also bills task- and container-level "
            "observations; the estimate prices the standard metric set only."
        )
    return CostEstimate(table, tuple(lines), tuple(caveats))
