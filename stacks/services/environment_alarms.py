"""The services layer's alarms and rules that belong to no single service: ECS failing to start tasks
(an EventBridge rule on the cluster), the HTTPS certificate's expiry, and the release hooks' errors and
throttles. Each notifies the topic of its severity (shared/alarm_routing.py).

- ECS sends "ECS Service Action" events; SERVICE_TASK_START_IMPAIRED (WARN: "the service is unable to
  consistently start tasks successfully"), SERVICE_TASK_PLACEMENT_FAILURE and
  SERVICE_TASK_CONFIGURATION_FAILURE (ERROR) carry `detail.clusterArn` (ECS developer guide, "Amazon ECS
  service action events", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_events.html).
  A crash loop above minCapacity pages through running-below-desired; this rule says why, sooner.
- ACM publishes DaysToExpiry once a day per CertificateArn (ACM user guide, "Supported CloudWatch
  metrics", https://docs.aws.amazon.com/acm/latest/userguide/cloudwatch-metrics.html); ACM starts
  managed renewal 60 days ahead, so `certificateExpiryDays` (45) means renewal has not happened, and an
  imported certificate is never renewed by ACM.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.alarm_routing import AlarmTopics, Runbook, describe, notify
from shared.event_notifications import EventNotification, EventNotificationArgs
from shared.function_alarms import FunctionFailureAlarmArgs, function_failure_alarm
from shared.tags import ServiceTags

ACM = "AWS/CertificateManager"
DAY_SECONDS = 86_400
ECS_SERVICE_ACTION = "ECS Service Action"
TASK_START_FAILURES = (
    "SERVICE_TASK_START_IMPAIRED",
    "SERVICE_TASK_PLACEMENT_FAILURE",
    "SERVICE_TASK_CONFIGURATION_FAILURE",
)


def task_start_failure_pattern(cluster_arn: pulumi.Input[str]) -> dict[str, Any]:
    """ECS's events about tasks of this cluster's services that cannot start."""
    return {
        "source": ["aws.ecs"],
        "detail-type": [ECS_SERVICE_ACTION],
        "detail": {"eventName": list(TASK_START_FAILURES), "clusterArn": [cluster_arn]},
    }


@dataclass(frozen=True, kw_only=True)
class EnvironmentAlarmsArgs:
    """What the environment-wide alarms watch.

    namer, tags: name and tags with the stack's suffix.
    cluster_arn: the platform's ECS cluster (the event rule matches its services only).
    certificate_arn: `certificateArn`; None (plain HTTP stacks): no expiry alarm. Default: None.
    certificate_expiry_days: `certificateExpiryDays`.
    hook_function_names: release hook name -> Lambda function name.
    topics: the environment's two topics.
    """

    namer: naming.Namer
    tags: ServiceTags
    cluster_arn: pulumi.Input[str]
    certificate_arn: str | None = None
    certificate_expiry_days: int
    hook_function_names: Mapping[str, pulumi.Input[str]]
    topics: AlarmTopics


class EnvironmentAlarms(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: EnvironmentAlarmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:services:EnvironmentAlarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.task_start_failures = EventNotification(
            f"{name}-tasks-cannot-start",
            EventNotificationArgs(
                namer=args.namer,
                tags=args.tags,
                purpose="tasks-cannot-start",
                summary="ECS cannot start or place a service's tasks",
                runbook=Runbook.TASKS_CANNOT_START,
                pattern=task_start_failure_pattern(args.cluster_arn),
                topics=args.topics,
            ),
            opts=child,
        )
        self.alarms: list[aws.cloudwatch.MetricAlarm] = [
            function_failure_alarm(
                FunctionFailureAlarmArgs(
                    namer=args.namer,
                    tags=args.tags,
                    purpose=hook,
                    function_name=function_name,
                    section=Runbook.RELEASE_HOOK_FAILURES,
                    topics=args.topics,
                ),
                child,
            )
            for hook, function_name in args.hook_function_names.items()
        ]
        if args.certificate_arn is not None:
            self.alarms.append(self._certificate_expiry(args))
        self.register_outputs({"alarmNames": [a.name for a in self.alarms]})

    def _certificate_expiry(self, args: EnvironmentAlarmsArgs) -> aws.cloudwatch.MetricAlarm:
        alarm_name = args.namer.name(naming.ALARM, "certificate", "expiry")
        days = args.certificate_expiry_days
        section = Runbook.CERTIFICATE_EXPIRY
        return aws.cloudwatch.MetricAlarm(
            alarm_name,
            name=alarm_name,
            alarm_description=describe(f"The HTTPS certificate expires in less than {days} days", section),
            namespace=ACM,
            metric_name="DaysToExpiry",
            dimensions={"CertificateArn": args.certificate_arn},
            statistic="Minimum",
            period=DAY_SECONDS,
            comparison_operator="LessThanThreshold",
            threshold=float(days),
            evaluation_periods=1,
            datapoints_to_alarm=1,
            # ACM publishes once a day; a certificate it no longer reports on has bigger problems.
            treat_missing_data="notBreaching",
            tags=args.tags.for_resource(alarm_name),
            opts=pulumi.ResourceOptions(parent=self),
            **notify(args.topics, section),
        )
