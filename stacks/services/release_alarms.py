"""The alarms that stop a release: target 5xx errors, unhealthy targets and, at the edge, latency.

During a blue/green release traffic moves from one target group to the other, so every alarm reads
both groups with metric math (`FILL(m, 0)` keeps a group that has no traffic from hiding the other).
CodeDeploy polls them and rolls back on DEPLOYMENT_STOP_ON_ALARM. They notify no one (severity "none"
in shared/alarm_routing.py): CodeDeploy acts on them, and the deployment-failed rule reports the stopped
release once; the on-call alarms (oncall_alarms.py) watch the same metrics between releases.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.alarm_routing import Runbook, describe, severity_of
from shared.config.services import TrafficConfig
from shared.tags import ServiceTags

ALB_NAMESPACE = "AWS/ApplicationELB"
PERIOD_SECONDS = 60


@dataclass(frozen=True)
class MetricCheck:
    """One alarm: a per-target-group ALB metric combined over blue and green."""

    purpose: str  # part of the alarm name
    metric: str
    stat: str
    combine: str  # metric math over the FILLed blue and green series
    threshold: float
    description: str
    runbook: str  # the Runbook section on-call opens


def checks(traffic: TrafficConfig, *, edge: bool) -> list[MetricCheck]:
    """The checks of one service; `edge` adds the latency check of the public entry point."""
    found = [
        MetricCheck(
            "5xx",
            "HTTPCode_Target_5XX_Count",
            "Sum",
            "blue + green",
            float(traffic.target_5xx_threshold),
            f"At least {traffic.target_5xx_threshold} target 5xx responses a minute",
            Runbook.RELEASE_5XX,
        ),
        MetricCheck(
            "unhealthy-hosts",
            "UnHealthyHostCount",
            "Maximum",
            "MAX([blue, green])",
            1.0,
            "A target failing its load balancer health check",
            Runbook.RELEASE_UNHEALTHY_HOSTS,
        ),
    ]
    if edge:
        found.append(
            MetricCheck(
                "latency",
                "TargetResponseTime",
                "p99",
                "MAX([blue, green])",
                traffic.gateway_latency_threshold_ms / 1000,
                f"p99 target response time above {traffic.gateway_latency_threshold_ms} ms",
                Runbook.RELEASE_LATENCY,
            )
        )
    return found


@dataclass(frozen=True, kw_only=True)
class DeploymentAlarmsArgs:
    """What the alarms that stop one service's release are made from. No field has a default.

    Fields:
        namer: names every alarm with the stack's suffix.
        tags: the Service tag (and the rest) for each alarm.
        service: the catalogue name, part of each alarm's name.
        load_balancer_arn: the ALB; its ARN suffix is the LoadBalancer dimension.
        blue_target_group_arn_suffix: the TargetGroup dimension of the blue group.
        green_target_group_arn_suffix: the TargetGroup dimension of the green group.
        traffic: thresholds (`release5xxPercent`, latency, unhealthy hosts) and evaluation periods.
        edge: the public entry point: latency is watched too.
    """

    namer: naming.Namer
    tags: ServiceTags
    service: str
    load_balancer_arn: pulumi.Input[str]
    blue_target_group_arn_suffix: pulumi.Input[str]
    green_target_group_arn_suffix: pulumi.Input[str]
    traffic: TrafficConfig
    edge: bool


class DeploymentAlarms(pulumi.ComponentResource):
    """CloudWatch alarms on one service's two target groups."""

    def __init__(
        self, name: str, args: DeploymentAlarmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:services:DeploymentAlarms", name, None, opts)
        # CloudWatch's LoadBalancer dimension is the ARN's suffix: app/<name>/<id>.
        load_balancer = pulumi.Output.from_input(args.load_balancer_arn).apply(
            lambda arn: arn.split(":loadbalancer/", 1)[-1]
        )
        self.alarms = [
            self._alarm(args, check, load_balancer) for check in checks(args.traffic, edge=args.edge)
        ]
        self.alarm_names = [alarm.name for alarm in self.alarms]
        self.register_outputs({"alarmNames": self.alarm_names})

    def _alarm(
        self, args: DeploymentAlarmsArgs, check: MetricCheck, load_balancer: pulumi.Output[str]
    ) -> aws.cloudwatch.MetricAlarm:
        alarm_name = args.namer.name(naming.ALARM, args.service, check.purpose)
        groups = {"blue": args.blue_target_group_arn_suffix, "green": args.green_target_group_arn_suffix}
        series = [
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=f"{colour}_raw",
                return_data=False,
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace=ALB_NAMESPACE,
                    metric_name=check.metric,
                    stat=check.stat,
                    period=PERIOD_SECONDS,
                    dimensions={"LoadBalancer": load_balancer, "TargetGroup": suffix},
                ),
            )
            for colour, suffix in groups.items()
        ]
        filled = [
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=colour, expression=f"FILL({colour}_raw, 0)", return_data=False
            )
            for colour in groups
        ]
        if severity_of(check.runbook) != "none":
            raise ValueError(f"{check.runbook}: a release alarm must notify no one (CodeDeploy acts on it)")
        combined = aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id="combined", expression=check.combine, label=check.description, return_data=True
        )
        return aws.cloudwatch.MetricAlarm(
            alarm_name,
            name=alarm_name,
            alarm_description=describe(
                f"{args.service}: {check.description}; stops and rolls back a release", check.runbook
            ),
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=check.threshold,
            evaluation_periods=args.traffic.alarm_evaluation_minutes,
            datapoints_to_alarm=args.traffic.alarm_evaluation_minutes,
            treat_missing_data="notBreaching",  # no traffic is not an outage
            metric_queries=[*series, *filled, combined],
            alarm_actions=[],
            ok_actions=[],
            tags=args.tags.for_resource(alarm_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
