"""What keeps the alarm path from failing in silence: each topic's failed deliveries alarm on the
other topic, and a scheduled heartbeat reaches both.

- SNS counts deliveries that failed after its retries in NumberOfNotificationsFailed, per TopicName
  (SNS developer guide, "Monitoring Amazon SNS topics using CloudWatch",
  https://docs.aws.amazon.com/sns/latest/dg/sns-monitoring-using-cloudwatch.html). A channel cannot
  report its own failure, so the paging topic's failures go to the ticket topic and the other way round.
- A publish that never reaches the topic (a broken key grant, a topic policy that refuses) counts
  nowhere: the heartbeat, an EventBridge scheduled rule that publishes to both topics, is what goes
  missing then. Point a dead-man's-switch endpoint (a paging service's heartbeat check) at it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.alarm_routing import AlarmTopics, Runbook, describe, notify
from shared.tags import ServiceTags

SNS = "AWS/SNS"
HEARTBEAT_SUMMARY = "Heartbeat: the alarm topic {topic} delivers. If this stops arriving, the path is broken"


@dataclass(frozen=True, kw_only=True)
class NotificationHealthArgs:
    """The delivery alarms of both topics and the heartbeat. No field has a default.

    namer: names every resource with the stack's suffix.
    tags: the Service tag (and the rest).
    topics: the two topics' ARNs (page, ticket).
    topic_names: the two topics' names (the TopicName dimension), (page, ticket).
    heartbeat_schedule: `alarmHeartbeatSchedule`, an EventBridge schedule expression.
    """

    namer: naming.Namer
    tags: ServiceTags
    topics: AlarmTopics
    topic_names: tuple[pulumi.Input[str], pulumi.Input[str]]
    heartbeat_schedule: str


class NotificationHealth(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: NotificationHealthArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:network:NotificationHealth", name, None, opts)
        page_name, ticket_name = args.topic_names
        self.alarms = [
            self._failed_deliveries(args, "page", page_name, Runbook.PAGING_DELIVERY_FAILED),
            self._failed_deliveries(args, "ticket", ticket_name, Runbook.TICKET_DELIVERY_FAILED),
        ]
        rule_name = args.namer.name(naming.EVENTS_RULE, "heartbeat")
        self.heartbeat = aws.cloudwatch.EventRule(
            rule_name,
            name=rule_name,
            description="Publishes a heartbeat to both alarm topics; its absence means a broken path",
            schedule_expression=args.heartbeat_schedule,
            state="ENABLED",
            tags=args.tags.for_resource(rule_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.heartbeat_targets = [
            aws.cloudwatch.EventTarget(
                args.namer.name(naming.EVENTS_TARGET, "heartbeat", severity),
                rule=self.heartbeat.name,
                arn=arn,
                # A constant JSON string: SNS delivers it as the message body.
                input=json.dumps(HEARTBEAT_SUMMARY.format(topic=f"({severity})")),
                opts=pulumi.ResourceOptions(parent=self.heartbeat),
            )
            for severity, arn in (("page", args.topics.page), ("ticket", args.topics.ticket))
        ]
        self.register_outputs({"alarmNames": [a.name for a in self.alarms], "heartbeat": self.heartbeat.name})

    def _failed_deliveries(
        self, args: NotificationHealthArgs, severity: str, topic_name: pulumi.Input[str], section: str
    ) -> aws.cloudwatch.MetricAlarm:
        alarm_name = args.namer.name(naming.ALARM, "sns", severity, "delivery-failed")
        return aws.cloudwatch.MetricAlarm(
            alarm_name,
            name=alarm_name,
            alarm_description=describe(
                f"The {severity} topic failed to deliver a notification to a subscriber", section
            ),
            namespace=SNS,
            metric_name="NumberOfNotificationsFailed",
            dimensions={"TopicName": topic_name},
            statistic="Sum",
            period=60,
            comparison_operator="GreaterThanThreshold",
            threshold=0.0,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            treat_missing_data="notBreaching",  # SNS publishes nothing for a topic with no deliveries
            tags=args.tags.for_resource(alarm_name),
            opts=pulumi.ResourceOptions(parent=self),
            **notify(args.topics, section),
        )
