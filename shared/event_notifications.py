"""An EventBridge rule on the default bus that forwards matching AWS events to the alarm topic of its
severity (shared/alarm_routing.py, ROUTING).

The topic's access policy admits this account's rules (stacks/network/alarm_topics.py) and its key
lets EventBridge encrypt, so the target needs no role: EventBridge publishes to SNS with its service
principal (EventBridge user guide, "Using resource-based policies for Amazon EventBridge", Amazon SNS
permissions).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.alarm_routing import AlarmTopics, describe
from shared.tags import ServiceTags


@dataclass(frozen=True, kw_only=True)
class EventNotificationArgs:
    """One rule and its SNS target.

    purpose: the rule's name part (events-<purpose>-<suffix>).
    summary, runbook: the rule's description: what it catches and the runbook section to open.
    pattern: the event pattern, as the EventBridge API takes it (a JSON object; values may be Outputs).
    topics: the environment's topics; the rule targets the one of the runbook section's severity.
    """

    namer: naming.Namer
    tags: ServiceTags
    purpose: str
    summary: str
    runbook: str
    pattern: Mapping[str, Any]
    topics: AlarmTopics


class EventNotification(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: EventNotificationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:shared:EventNotification", name, None, opts)
        topic_arn = args.topics.for_section(args.runbook)
        if topic_arn is None:
            raise ValueError(f"{args.purpose}: an event rule must notify; {args.runbook} has severity none")
        rule_name = args.namer.name(naming.EVENTS_RULE, args.purpose)
        self.rule = aws.cloudwatch.EventRule(
            rule_name,
            name=rule_name,
            # PutRule's Description is at most 512 characters.
            description=describe(args.summary, args.runbook)[:512],
            # The pattern may hold Outputs (a cluster's or an instance's ARN): resolved, then serialized.
            event_pattern=pulumi.Output.from_input(args.pattern).apply(
                lambda p: json.dumps(p, sort_keys=True)
            ),
            state="ENABLED",
            tags=args.tags.for_resource(rule_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.target = aws.cloudwatch.EventTarget(
            args.namer.name(naming.EVENTS_TARGET, args.purpose),
            rule=self.rule.name,
            arn=topic_arn,
            opts=pulumi.ResourceOptions(parent=self.rule),
        )
        self.rule_name = self.rule.name
        self.register_outputs({"ruleName": self.rule_name})
