"""The platform layer's alarms and event rules: each load balancer's 5xx rate, failed secret rotations
and the rotation function's errors and throttles, and, when a web ACL is named, WAF blocked requests.
Each notifies the topic of its severity (shared/alarm_routing.py). The database's are in
database_alarms.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.alarm_routing import AlarmTopics, Runbook
from shared.config.alerting import PlatformAlarmConfig
from shared.event_notifications import EventNotification, EventNotificationArgs
from shared.function_alarms import FunctionFailureAlarmArgs, function_failure_alarm
from shared.tags import ServiceTags
from stacks.platform.load_balancer import LoadBalancerRole
from stacks.platform.load_balancer_alarms import LoadBalancerAlarmArgs, load_balancer_5xx_alarm
from stacks.platform.rotation_events import ROTATION_FAILED_PATTERN
from stacks.platform.waf_alarms import WafBlockedRequestsAlarmArgs, waf_blocked_requests_alarm


@dataclass(frozen=True, kw_only=True)
class PlatformAlarmsArgs:
    """The platform's alarms: one 5xx-rate alarm per ALB, and the WAF alarm.

    Fields:
        namer: names every alarm with the stack's suffix.
        tags: the Service tag (and the rest) for each alarm.
        region: the WAF metrics' Region dimension.
        load_balancers: role ("public", "internal") -> ALB ARN.
        config: thresholds and evaluation window.
        topics: the network layer's `alarmTopicArn` (page) and `ticketTopicArn` (ticket).
        web_acl_name: the name of the web ACL on the public ALB; the WAF alarm exists only with one.
            Default: None (a stack with `waf: false`).
        rotation_function_name: the secret rotation function, whose errors and throttles open a ticket.
    """

    namer: naming.Namer
    tags: ServiceTags
    region: str
    load_balancers: Mapping[LoadBalancerRole, pulumi.Input[str]]
    config: PlatformAlarmConfig
    topics: AlarmTopics
    web_acl_name: pulumi.Input[str] | None = None
    rotation_function_name: pulumi.Input[str]


class PlatformAlarms(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: PlatformAlarmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:platform:PlatformAlarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.alarms: list[aws.cloudwatch.MetricAlarm] = [
            load_balancer_5xx_alarm(
                LoadBalancerAlarmArgs(
                    namer=args.namer,
                    tags=args.tags,
                    role=role,
                    load_balancer_arn=arn,
                    config=args.config,
                    topics=args.topics,
                ),
                child,
            )
            for role, arn in args.load_balancers.items()
        ]
        if args.web_acl_name is not None:
            self.alarms.append(
                waf_blocked_requests_alarm(
                    WafBlockedRequestsAlarmArgs(
                        namer=args.namer,
                        tags=args.tags,
                        web_acl_name=args.web_acl_name,
                        region=args.region,
                        blocked_per_minute=args.config.waf_blocked_requests_per_minute,
                        evaluation_minutes=args.config.evaluation_minutes,
                        topics=args.topics,
                    ),
                    child,
                )
            )
        self.alarms.append(
            function_failure_alarm(
                FunctionFailureAlarmArgs(
                    namer=args.namer,
                    tags=args.tags,
                    purpose="secret-rotation",
                    function_name=args.rotation_function_name,
                    section=Runbook.ROTATION_FUNCTION_FAILURES,
                    topics=args.topics,
                ),
                child,
            )
        )
        self.rotation_failures = EventNotification(
            f"{name}-rotation-failed",
            EventNotificationArgs(
                namer=args.namer,
                tags=args.tags,
                purpose="rotation-failed",
                summary="A Secrets Manager rotation failed",
                runbook=Runbook.ROTATION_FAILED,
                pattern=ROTATION_FAILED_PATTERN,
                topics=args.topics,
            ),
            opts=child,
        )
        self.register_outputs({"alarmNames": [a.name for a in self.alarms]})
