"""One CloudWatch dashboard per environment, generated from the service catalogue.

Per service: request rate, target 5xx (count and share of requests), p50/p99 latency, healthy targets,
CPU and memory, task count. Platform-wide: the NAT gateways, both load balancers and, when a web ACL is
named, WAF. With a managed database, a database row: connections, CPU and credits, memory and storage,
latency, load, transaction IDs (the metrics of its alarms, stacks/platform/database_alarms.py). It
lives in the services layer, the only one that sees every layer's identifiers (the network's NAT
gateways and the platform's load balancers arrive through StackReferences).

The body follows CloudWatch's "Dashboard body structure and syntax" (CloudWatch API reference,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html):
a grid 24 units wide, metric widgets whose `metrics` rows are
`[namespace, metricName, dimensionName, dimensionValue, ..., {rendering options}]`, and metric-math rows
`[{"expression": ..., "id": ...}]`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from shared import naming

ALB = "AWS/ApplicationELB"
ECS = "AWS/ECS"
CONTAINER_INSIGHTS = "ECS/ContainerInsights"
NAT = "AWS/NATGateway"
WAF = "AWS/WAFV2"
RDS = "AWS/RDS"
GRID_WIDTH = 24
WIDGET_WIDTH = 8
WIDGET_HEIGHT = 6
PERIOD_SECONDS = 60

Widget = dict[str, Any]
MetricRow = list[Any]


@dataclass(frozen=True)
class ServicePanel:
    """What the dashboard shows of one service, with every identifier resolved."""

    name: str  # the catalogue name, the row's heading
    ecs_service_name: str
    load_balancer: str  # the LoadBalancer dimension, app/<name>/<id>
    target_groups: tuple[str, str]  # the TargetGroup dimensions, blue and green


@dataclass(frozen=True)
class DashboardInputs:
    """Everything the body is made of, resolved (the body is rendered inside an apply)."""

    region: str
    cluster_name: str
    services: tuple[ServicePanel, ...]
    nat_gateway_ids: tuple[str, ...]
    load_balancers: tuple[tuple[str, str], ...]  # (role, LoadBalancer dimension)
    waf_web_acl_name: str  # "" without a web ACL: no WAF widget
    database_identifier: str = ""  # the managed DB instance; "" (external database): no database row


def _metric(namespace: str, name: str, dimensions: Sequence[tuple[str, str]], **options: Any) -> MetricRow:
    row: MetricRow = [namespace, name]
    for key, value in dimensions:
        row += [key, value]
    return [*row, options] if options else row


def _widget(title: str, metrics: list[MetricRow], region: str, stat: str, **extra: Any) -> Widget:
    return {
        "type": "metric",
        "properties": {
            "title": title,
            "view": "timeSeries",
            "stacked": False,
            "region": region,
            "period": PERIOD_SECONDS,
            "stat": stat,
            "metrics": metrics,
            **extra,
        },
    }


def _per_group(panel: ServicePanel, name: str, prefix: str, **options: Any) -> list[MetricRow]:
    return [
        _metric(
            ALB,
            name,
            (("LoadBalancer", panel.load_balancer), ("TargetGroup", group)),
            id=f"{prefix}{index}",
            visible=False,
            **options,
        )
        for index, group in enumerate(panel.target_groups)
    ]


def service_widgets(panel: ServicePanel, inputs: DashboardInputs) -> list[Widget]:
    """The six widgets of one service."""
    region = inputs.region
    service = (("ClusterName", inputs.cluster_name), ("ServiceName", panel.ecs_service_name))
    return [
        _widget(
            f"{panel.name}: requests a minute",
            [
                *_per_group(panel, "RequestCount", "r", stat="Sum"),
                [{"expression": "FILL(r0, 0) + FILL(r1, 0)", "label": "requests", "id": "requests"}],
            ],
            region,
            "Sum",
        ),
        _widget(
            f"{panel.name}: target 5xx",
            [
                *_per_group(panel, "HTTPCode_Target_5XX_Count", "e", stat="Sum"),
                *_per_group(panel, "RequestCount", "r", stat="Sum"),
                [{"expression": "FILL(e0, 0) + FILL(e1, 0)", "label": "5xx", "id": "errors"}],
                [{"expression": "FILL(r0, 0) + FILL(r1, 0)", "id": "requests", "visible": False}],
                [
                    {
                        "expression": "IF(requests > 0, 100 * errors / requests, 0)",
                        "label": "5xx % of requests",
                        "id": "rate",
                        "yAxis": "right",
                    }
                ],
            ],
            region,
            "Sum",
        ),
        _widget(
            f"{panel.name}: latency (s)",
            [
                *_per_group(panel, "TargetResponseTime", "p50_", stat="p50"),
                *_per_group(panel, "TargetResponseTime", "p99_", stat="p99"),
                [{"expression": "MAX([p50_0, p50_1])", "label": "p50", "id": "p50"}],
                [{"expression": "MAX([p99_0, p99_1])", "label": "p99", "id": "p99"}],
            ],
            region,
            "p99",
        ),
        _widget(
            f"{panel.name}: healthy targets",
            [
                *_per_group(panel, "HealthyHostCount", "h", stat="Minimum"),
                *_per_group(panel, "UnHealthyHostCount", "u", stat="Maximum"),
                [{"expression": "FILL(h0, 0) + FILL(h1, 0)", "label": "healthy", "id": "healthy"}],
                [{"expression": "FILL(u0, 0) + FILL(u1, 0)", "label": "unhealthy", "id": "unhealthy"}],
            ],
            region,
            "Minimum",
        ),
        _widget(
            f"{panel.name}: CPU and memory (%)",
            [
                _metric(ECS, "CPUUtilization", service, label="CPU"),
                _metric(ECS, "MemoryUtilization", service, label="memory"),
            ],
            region,
            "Average",
            yAxis={"left": {"min": 0, "max": 100}},
        ),
        _widget(
            f"{panel.name}: tasks",
            [
                _metric(CONTAINER_INSIGHTS, "RunningTaskCount", service, label="running"),
                _metric(CONTAINER_INSIGHTS, "DesiredTaskCount", service, label="desired"),
                _metric(CONTAINER_INSIGHTS, "PendingTaskCount", service, label="pending"),
            ],
            region,
            "Maximum",
        ),
    ]


def platform_widgets(inputs: DashboardInputs) -> list[Widget]:
    """NAT gateways, load balancers and, with a web ACL, WAF."""
    region = inputs.region
    nats = [("NatGatewayId", gateway) for gateway in inputs.nat_gateway_ids]
    widgets = [
        _widget(
            "NAT gateways: port allocation errors and dropped packets",
            [
                *(_metric(NAT, "ErrorPortAllocation", [nat], label=f"port errors {nat[1]}") for nat in nats),
                *(_metric(NAT, "PacketsDropCount", [nat], label=f"dropped {nat[1]}") for nat in nats),
            ],
            region,
            "Sum",
        ),
        _widget(
            "NAT gateways: active connections",
            [_metric(NAT, "ActiveConnectionCount", [nat], label=nat[1]) for nat in nats],
            region,
            "Maximum",
        ),
        _widget(
            "Load balancers: requests and load-balancer 5xx",
            [
                metric
                for role, dimension in inputs.load_balancers
                for metric in (
                    _metric(ALB, "RequestCount", [("LoadBalancer", dimension)], label=f"{role} requests"),
                    _metric(
                        ALB,
                        "HTTPCode_ELB_5XX_Count",
                        [("LoadBalancer", dimension)],
                        label=f"{role} 5xx",
                        yAxis="right",
                    ),
                )
            ],
            region,
            "Sum",
        ),
    ]
    if inputs.waf_web_acl_name:
        acl = [("WebACL", inputs.waf_web_acl_name), ("Region", region), ("Rule", "ALL")]
        widgets.append(
            _widget(
                "WAF: blocked and allowed requests",
                [
                    _metric(WAF, "BlockedRequests", acl, label="blocked"),
                    _metric(WAF, "AllowedRequests", acl, label="allowed"),
                ],
                region,
                "Sum",
            )
        )
    return widgets


def database_widgets(inputs: DashboardInputs) -> list[Widget]:
    """The managed database's six widgets: what its alarms read."""
    region = inputs.region
    instance = [("DBInstanceIdentifier", inputs.database_identifier)]
    return [
        _widget(
            "Database: connections",
            [_metric(RDS, "DatabaseConnections", instance, label="connections")],
            region,
            "Maximum",
        ),
        _widget(
            "Database: CPU (%) and CPU credits",
            [
                _metric(RDS, "CPUUtilization", instance, label="CPU", stat="Average"),
                _metric(RDS, "CPUCreditBalance", instance, label="credits", yAxis="right"),
            ],
            region,
            "Minimum",
        ),
        _widget(
            "Database: freeable memory and free storage (bytes)",
            [
                _metric(RDS, "FreeableMemory", instance, label="freeable memory"),
                _metric(RDS, "FreeStorageSpace", instance, label="free storage", yAxis="right"),
            ],
            region,
            "Minimum",
        ),
        _widget(
            "Database: read and write latency (s)",
            [
                _metric(RDS, "ReadLatency", instance, label="read"),
                _metric(RDS, "WriteLatency", instance, label="write"),
            ],
            region,
            "Average",
        ),
        _widget(
            "Database: load (average active sessions)",
            [_metric(RDS, "DBLoad", instance, label="DB load")],
            region,
            "Average",
        ),
        _widget(
            "Database: transaction IDs used (wraparound at 2.1 billion)",
            [_metric(RDS, "MaximumUsedTransactionIDs", instance, label="oldest unfrozen")],
            region,
            "Maximum",
        ),
    ]


def dashboard_body(inputs: DashboardInputs) -> dict[str, Any]:
    """The dashboard: a heading and six widgets per service, the platform, and the database when it is
    managed here, laid out on the grid."""
    rows: list[tuple[str, list[Widget]]] = [
        (f"## {panel.name}", service_widgets(panel, inputs)) for panel in inputs.services
    ]
    rows.append(("## Platform: NAT gateways, load balancers, WAF", platform_widgets(inputs)))
    if inputs.database_identifier:
        rows.append((f"## Database: {inputs.database_identifier}", database_widgets(inputs)))
    widgets: list[Widget] = []
    y = 0
    for heading, row in rows:
        widgets.append(
            {
                "type": "text",
                "x": 0,
                "y": y,
                "width": GRID_WIDTH,
                "height": 1,
                "properties": {"markdown": heading},
            }
        )
        y += 1
        per_line = GRID_WIDTH // WIDGET_WIDTH
        for index, widget in enumerate(row):
            line, column = divmod(index, per_line)
            widgets.append(
                {
                    **widget,
                    "x": column * WIDGET_WIDTH,
                    "y": y + line * WIDGET_HEIGHT,
                    "width": WIDGET_WIDTH,
                    "height": WIDGET_HEIGHT,
                }
            )
        y += -(-len(row) // per_line) * WIDGET_HEIGHT
    return {"widgets": widgets}


@dataclass(frozen=True, kw_only=True)
class ServiceDashboardSource:
    """One service's identifiers as Outputs, before they resolve."""

    name: str
    ecs_service_name: pulumi.Input[str]
    load_balancer_arn: pulumi.Input[str]
    target_group_arn_suffixes: tuple[pulumi.Input[str], pulumi.Input[str]]


@dataclass(frozen=True, kw_only=True)
class OperationsDashboardArgs:
    """The environment's dashboard. No field has a default.

    namer: names the dashboard with the stack's suffix.
    region: the region every widget reads its metrics from.
    cluster_name: the ClusterName dimension of the ECS widgets.
    services: one source per catalogue entry, in catalogue order.
    load_balancers: role -> ALB ARN (the platform's exports).
    nat_gateway_ids: the network's `natGatewayIds` export.
    waf_web_acl_name: the platform's `wafWebAclName` export, "" for none.
    database_identifier: the platform's `databaseIdentifier` export, "" for none (no database row).
    """

    namer: naming.Namer
    region: str
    cluster_name: pulumi.Input[str]
    services: Sequence[ServiceDashboardSource]
    load_balancers: Sequence[tuple[str, pulumi.Input[str]]]
    nat_gateway_ids: pulumi.Input[Sequence[str]]
    waf_web_acl_name: pulumi.Input[str]
    database_identifier: pulumi.Input[str]


class OperationsDashboard(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: OperationsDashboardArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:services:OperationsDashboard", name, None, opts)
        dashboard_name = args.namer.name(naming.DASHBOARD_NAME, "payments")
        count = len(args.services)
        resolved = pulumi.Output.all(
            args.cluster_name,
            args.nat_gateway_ids,
            args.waf_web_acl_name,
            pulumi.Output.all(*[s.ecs_service_name for s in args.services]),
            pulumi.Output.all(*[s.load_balancer_arn for s in args.services]),
            pulumi.Output.all(*[s.target_group_arn_suffixes[0] for s in args.services]),
            pulumi.Output.all(*[s.target_group_arn_suffixes[1] for s in args.services]),
            pulumi.Output.all(*[arn for _, arn in args.load_balancers]),
            args.database_identifier,
        )

        def render(values: list[Any]) -> str:
            cluster, nats, acl, ecs_names, lb_arns, blues, greens, platform_lbs, database = values
            inputs = DashboardInputs(
                region=args.region,
                cluster_name=cluster,
                services=tuple(
                    ServicePanel(
                        name=args.services[i].name,
                        ecs_service_name=ecs_names[i],
                        load_balancer=_arn_suffix(lb_arns[i]),
                        target_groups=(blues[i], greens[i]),
                    )
                    for i in range(count)
                ),
                nat_gateway_ids=tuple(nats),
                load_balancers=tuple(
                    (role, _arn_suffix(arn))
                    for (role, _), arn in zip(args.load_balancers, platform_lbs, strict=True)
                ),
                waf_web_acl_name=acl or "",
                database_identifier=database or "",
            )
            return json.dumps(dashboard_body(inputs), separators=(",", ":"))

        self.dashboard = aws.cloudwatch.Dashboard(
            dashboard_name,
            dashboard_name=dashboard_name,
            dashboard_body=resolved.apply(render),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.dashboard_name = self.dashboard.dashboard_name
        self.register_outputs({"dashboardName": self.dashboard_name})


def _arn_suffix(load_balancer_arn: str) -> str:
    return load_balancer_arn.split(":loadbalancer/", 1)[-1]
