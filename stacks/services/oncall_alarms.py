"""The alarms on-call needs for one service, beyond the release alarms CodeDeploy polls (which notify
no one: CodeDeploy acts on them and the deployment-failed rule reports the outcome once).

- running tasks below the scaling minimum (Container Insights' RunningTaskCount), and below the desired
  count for `runningBelowDesiredMinutes` (a crash loop above the minimum);
- unhealthy targets (a ticket: the other targets still serve);
- target 5xx as a share of requests, over both target groups (a release moves traffic between them);
- p99 target response time, only in minutes with at least `latencyMinRequestsPerMinute` requests;
- CPU or memory high while the service already runs its maximum task count, so scaling cannot help;
- at the edge, fewer than `minSuccessfulRequestsPerMinute` 2xx responses: traffic lost before it reached
  the service (DNS, listener, security group), which every rate alarm reads as OK.

Each alarm notifies the topic of its severity (shared/alarm_routing.py, ROUTING).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.alarm_routing import AlarmTopics, Runbook, describe, notify
from shared.config.alerting import ServiceAlarmConfig
from shared.config.services import ScalingConfig
from shared.metric_queries import expression, load_balancer_dimension, metric
from shared.tags import ServiceTags

ALB = "AWS/ApplicationELB"
ECS = "AWS/ECS"
CONTAINER_INSIGHTS = "ECS/ContainerInsights"
COLOURS = ("blue", "green")


@dataclass(frozen=True, kw_only=True)
class OnCallAlarmsArgs:
    """The on-call alarms of one service. No field has a default.

    namer: names every alarm with the stack's suffix.
    tags: the Service tag (and the rest) for each alarm.
    service: the catalogue name, part of each alarm's name.
    cluster_name, ecs_service_name: the ClusterName and ServiceName dimensions (names, not ARNs).
    load_balancer_arn, target_group_arn_suffixes: the LoadBalancer and TargetGroup dimensions; the
    suffixes are (blue, green).
    scaling: minCapacity is the floor of the running-tasks alarm, maxCapacity the ceiling of the
    at-max-capacity alarms.
    config: thresholds and windows (`target5xxPercent`, `latencyP99ThresholdMs`,
    `latencyMinRequestsPerMinute`, `atMaxCapacityPercent`, `onCallEvaluationMinutes`, ...).
    edge: the public entry point: its traffic floor is watched too.
    topics: the paging and ticket topics; each alarm notifies the one of its severity.
    """

    namer: naming.Namer
    tags: ServiceTags
    service: str
    cluster_name: pulumi.Input[str]
    ecs_service_name: pulumi.Input[str]
    load_balancer_arn: pulumi.Input[str]
    target_group_arn_suffixes: tuple[pulumi.Input[str], pulumi.Input[str]]
    scaling: ScalingConfig
    config: ServiceAlarmConfig
    edge: bool
    topics: AlarmTopics


class OnCallAlarms(pulumi.ComponentResource):
    def __init__(self, name: str, args: OnCallAlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("payments:services:OnCallAlarms", name, None, opts)
        self._args = args
        service = {"ClusterName": args.cluster_name, "ServiceName": args.ecs_service_name}
        load_balancer = load_balancer_dimension(args.load_balancer_arn)
        self._groups = {
            colour: {"LoadBalancer": load_balancer, "TargetGroup": suffix}
            for colour, suffix in zip(COLOURS, args.target_group_arn_suffixes, strict=True)
        }
        config, scaling = args.config, args.scaling
        self.alarms = [
            self._alarm(
                "running-below-min",
                Runbook.RUNNING_BELOW_MINIMUM,
                describe(
                    f"{args.service}: fewer than {scaling.min_capacity} running tasks (minCapacity)",
                    Runbook.RUNNING_BELOW_MINIMUM,
                ),
                comparison_operator="LessThanThreshold",
                threshold=float(scaling.min_capacity),
                # No datapoint means Container Insights saw no task at all.
                treat_missing_data="breaching",
                namespace=CONTAINER_INSIGHTS,
                metric_name="RunningTaskCount",
                dimensions=service,
                statistic="Minimum",
                period=60,
            ),
            self._running_below_desired(),
            self._alarm(
                "unhealthy-targets",
                Runbook.UNHEALTHY_TARGETS,
                describe(
                    f"{args.service}: a target failing its load balancer health check",
                    Runbook.UNHEALTHY_TARGETS,
                ),
                comparison_operator="GreaterThanOrEqualToThreshold",
                threshold=1.0,
                metric_queries=[
                    *self._per_group("unhealthy_raw", "UnHealthyHostCount", "Maximum", combine=None),
                    expression(
                        "unhealthy",
                        "MAX([FILL(unhealthy_raw_blue, 0), FILL(unhealthy_raw_green, 0)])",
                        label="Unhealthy targets",
                        result=True,
                    ),
                ],
            ),
            self._alarm(
                "5xx-rate",
                Runbook.TARGET_5XX_RATE,
                describe(
                    f"{args.service}: more than {config.target_5xx_percent:g} % of requests got a "
                    "5xx from the service's targets",
                    Runbook.TARGET_5XX_RATE,
                ),
                comparison_operator="GreaterThanThreshold",
                threshold=config.target_5xx_percent,
                metric_queries=[
                    *self._per_group("errors", "HTTPCode_Target_5XX_Count", "Sum"),
                    *self._per_group("requests", "RequestCount", "Sum"),
                    expression(
                        "rate",
                        "IF(requests > 0, 100 * errors / requests, 0)",
                        label="Target 5xx (% of requests)",
                        result=True,
                    ),
                ],
            ),
            self._alarm(
                "p99-latency",
                Runbook.LATENCY_P99,
                describe(
                    f"{args.service}: p99 target response time above {config.latency_p99_ms} ms in "
                    f"minutes of at least {config.latency_min_requests} requests",
                    Runbook.LATENCY_P99,
                ),
                comparison_operator="GreaterThanThreshold",
                threshold=config.latency_p99_ms / 1000,  # TargetResponseTime is in seconds
                metric_queries=[
                    *self._per_group("requests", "RequestCount", "Sum"),
                    *self._per_group("latency_raw", "TargetResponseTime", "p99", combine=None),
                    # A minute with too few requests reads 0: its p99 is one request, not a tail.
                    expression(
                        "p99",
                        f"IF(requests >= {config.latency_min_requests}, "
                        "MAX([latency_raw_blue, latency_raw_green]), 0)",
                        label="p99 (s)",
                        result=True,
                    ),
                ],
            ),
            *(
                self._at_max(kind, metric_name, runbook)
                for kind, metric_name, runbook in (
                    ("cpu", "CPUUtilization", Runbook.CPU_AT_MAX),
                    ("memory", "MemoryUtilization", Runbook.MEMORY_AT_MAX),
                )
            ),
        ]
        if args.edge and config.min_successful_requests > 0:
            self.alarms.append(self._traffic_floor())
        self.register_outputs({"alarmNames": [a.name for a in self.alarms]})

    def _per_group(
        self, prefix: str, metric_name: str, stat: str, combine: str | None = "+"
    ) -> list[aws.cloudwatch.MetricAlarmMetricQueryArgs]:
        """The metric on the blue and the green target group; with `combine`, their FILLed sum too."""
        queries = [
            metric(f"{prefix}_{colour}", ALB, metric_name, stat, dimensions)
            for colour, dimensions in self._groups.items()
        ]
        if combine is not None:
            queries.append(expression(prefix, f"FILL({prefix}_blue, 0) + FILL({prefix}_green, 0)"))
        return queries

    def _at_max(self, kind: str, metric_name: str, runbook: str) -> aws.cloudwatch.MetricAlarm:
        args = self._args
        service = {"ClusterName": args.cluster_name, "ServiceName": args.ecs_service_name}
        ceiling, percent = args.scaling.max_capacity, args.config.at_max_capacity_percent
        # Metric math's IF takes comparisons joined by AND (CloudWatch user guide, "Using math
        # expressions with CloudWatch metrics", IF expression).
        return self._alarm(
            f"{kind}-at-max",
            runbook,
            describe(
                f"{args.service}: {kind} above {percent} % while running its maximum of {ceiling} "
                "tasks (maxCapacity): scaling cannot add capacity",
                runbook,
            ),
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=1.0,
            metric_queries=[
                metric("utilization", ECS, metric_name, "Average", service),
                metric("desired", CONTAINER_INSIGHTS, "DesiredTaskCount", "Maximum", service),
                expression(
                    "at_max",
                    f"IF(desired >= {ceiling} AND utilization >= {percent}, 1, 0)",
                    label=f"{kind} high at maximum capacity",
                    result=True,
                ),
            ],
        )

    def _running_below_desired(self) -> aws.cloudwatch.MetricAlarm:
        args = self._args
        service = {"ClusterName": args.cluster_name, "ServiceName": args.ecs_service_name}
        minutes = args.config.running_below_desired_minutes
        return self._alarm(
            "running-below-desired",
            Runbook.RUNNING_BELOW_DESIRED,
            describe(
                f"{args.service}: fewer running than desired tasks for {minutes} minutes (tasks crash or "
                "cannot start)",
                Runbook.RUNNING_BELOW_DESIRED,
            ),
            minutes=minutes,
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=1.0,
            metric_queries=[
                metric("running", CONTAINER_INSIGHTS, "RunningTaskCount", "Minimum", service),
                metric("desired", CONTAINER_INSIGHTS, "DesiredTaskCount", "Maximum", service),
                expression(
                    "missing_tasks", "desired - FILL(running, 0)", label="Desired minus running", result=True
                ),
            ],
        )

    def _traffic_floor(self) -> aws.cloudwatch.MetricAlarm:
        args = self._args
        floor, minutes = args.config.min_successful_requests, args.config.traffic_loss_minutes
        return self._alarm(
            "no-successful-requests",
            Runbook.NO_SUCCESSFUL_REQUESTS,
            describe(
                f"{args.service}: fewer than {floor} successful (2xx) responses a minute for {minutes} "
                "minutes: traffic is not reaching the platform",
                Runbook.NO_SUCCESSFUL_REQUESTS,
            ),
            minutes=minutes,
            comparison_operator="LessThanThreshold",
            threshold=float(floor),
            # ELB publishes nothing without requests: no datapoint is exactly the outage looked for.
            treat_missing_data="breaching",
            metric_queries=[
                *self._per_group("ok", "HTTPCode_Target_2XX_Count", "Sum"),
                expression("successful", "ok", label="2xx responses a minute", result=True),
            ],
        )

    def _alarm(
        self, purpose: str, section: str, description: str, minutes: int | None = None, **kwargs: Any
    ) -> aws.cloudwatch.MetricAlarm:
        args = self._args
        alarm_name = args.namer.name(naming.ALARM, args.service, purpose)
        minutes = minutes or args.config.evaluation_minutes
        kwargs.setdefault("treat_missing_data", "notBreaching")  # no traffic is not an outage
        return aws.cloudwatch.MetricAlarm(
            alarm_name,
            name=alarm_name,
            alarm_description=description,
            evaluation_periods=minutes,
            datapoints_to_alarm=minutes,
            tags=args.tags.for_resource(alarm_name),
            opts=pulumi.ResourceOptions(parent=self),
            **notify(args.topics, section),
            **kwargs,
        )
