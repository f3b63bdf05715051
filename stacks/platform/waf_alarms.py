"""The WAF blocked-requests alarm: switched on by naming a web ACL (`wafWebAclName`), off by default.

This layer does not create the web ACL. Once one protects the public load balancer, set its name (or
pass the ACL resource's `name` output here) and this alarm, and the services dashboard's WAF widget
through the `wafWebAclName` export, follow.

AWS WAF publishes BlockedRequests in AWS/WAFV2 with the dimensions Region, Rule and WebACL, Rule "ALL"
being every rule of the web ACL together (AWS WAF developer guide, "AWS WAF metrics and dimensions",
https://docs.aws.amazon.com/waf/latest/developerguide/waf-metrics.html).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.alarm_routing import AlarmTopics, Runbook, describe, notify
from shared.tags import ServiceTags

WAF = "AWS/WAFV2"
ALL_RULES = "ALL"


@dataclass(frozen=True, kw_only=True)
class WafBlockedRequestsAlarmArgs:
    """The alarm on requests the web ACL blocks. No field has a default here (config defaults below).

    namer: names the alarm with the stack's suffix.
    tags: the Service tag (and the rest).
    web_acl_name: the regional web ACL on the public ALB.
    region: the Region dimension (the ALB's region).
    blocked_per_minute: `wafBlockedRequestsPerMinute`, config default 100.
    evaluation_minutes: `platformAlarmEvaluationMinutes`, config default 5.
    topics: the paging and ticket topics; the alarm notifies the one of its severity.
    """

    namer: naming.Namer
    tags: ServiceTags
    web_acl_name: pulumi.Input[str]
    region: str
    blocked_per_minute: int
    evaluation_minutes: int
    topics: AlarmTopics


def waf_blocked_requests_alarm(
    args: WafBlockedRequestsAlarmArgs, opts: pulumi.ResourceOptions
) -> aws.cloudwatch.MetricAlarm:
    alarm_name = args.namer.name(naming.ALARM, "waf", "blocked")
    return aws.cloudwatch.MetricAlarm(
        alarm_name,
        name=alarm_name,
        alarm_description=describe(
            f"WAF blocked more than {args.blocked_per_minute} requests a minute on the public load balancer",
            Runbook.WAF_BLOCKED,
        ),
        namespace=WAF,
        metric_name="BlockedRequests",
        dimensions={"WebACL": args.web_acl_name, "Region": args.region, "Rule": ALL_RULES},
        statistic="Sum",
        period=60,
        comparison_operator="GreaterThanThreshold",
        threshold=float(args.blocked_per_minute),
        evaluation_periods=args.evaluation_minutes,
        datapoints_to_alarm=args.evaluation_minutes,
        treat_missing_data="notBreaching",
        tags=args.tags.for_resource(alarm_name),
        opts=opts,
        **notify(args.topics, Runbook.WAF_BLOCKED),
    )
