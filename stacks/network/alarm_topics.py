"""The environment's two alarm topics, `page` (sns-alarms-<suffix>, the original) and `ticket`
(sns-tickets-<suffix>): SNS encrypted with one KMS key of their own, which CloudWatch alarms and
EventBridge rules of every layer may publish to. Each has its own subscriptions from config.

It lives in the network layer because that layer is deployed first and destroyed last: the platform
and services layers read `alarmTopicArn` through their StackReference, and their alarms and rules
never outlive the topic they notify.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared import naming, policies
from shared.aws_context import AwsContext
from shared.config.alerting import NotificationConfig
from shared.tags import ServiceTags

CLOUDWATCH = "cloudwatch.amazonaws.com"
EVENTBRIDGE = "events.amazonaws.com"
# What an AWS service needs on the key to publish to an encrypted topic (SNS developer guide, "Enable
# compatibility between event sources from AWS services and encrypted topics",
# https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
PUBLISHER_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey*"]
# What the account's own principals may do with the topic (the actions of SNS's default topic policy).
OWNER_TOPIC_ACTIONS = [
    "sns:GetTopicAttributes",
    "sns:SetTopicAttributes",
    "sns:AddPermission",
    "sns:RemovePermission",
    "sns:DeleteTopic",
    "sns:Subscribe",
    "sns:ListSubscriptionsByTopic",
    "sns:Publish",
]


@dataclass(frozen=True, kw_only=True)
class AlarmTopicArgs:
    """The alarm topic of one environment. No field has a default.

    Fields:
        namer: names every resource with the stack's suffix.
        tags: the Service tag (and the rest) for each resource.
        context: the account, region and partition the topic lives in; publishers are confined to
            this account's alarms and rules in this region.
        notifications: the paging topic's email and HTTPS subscriptions (config default: none).
        ticket_notifications: the ticket topic's (config default: none).
        kms_deletion_window_days: `kmsDeletionWindowDays` (7-30): how long destroy keeps the key
            recoverable.
    """

    namer: naming.Namer
    tags: ServiceTags
    context: AwsContext
    notifications: NotificationConfig
    ticket_notifications: NotificationConfig
    kms_deletion_window_days: int


class AlarmTopic(pulumi.ComponentResource):
    """KMS key, the two SNS topics, their access policies and their subscriptions."""

    def __init__(self, name: str, args: AlarmTopicArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("payments:network:AlarmTopic", name, None, opts)
        names = args.namer
        child = pulumi.ResourceOptions(parent=self)
        key_name = names.name(naming.KMS_KEY, "alarms")
        self.key = aws.kms.Key(
            key_name,
            description=f"Encrypts the alarm notifications of {key_name}",
            enable_key_rotation=True,
            deletion_window_in_days=args.kms_deletion_window_days,
            policy=aws.iam.get_policy_document_output(
                statements=[
                    policies.account_root_key_admin(args.context.partition, args.context.account_id),
                    # No aws:SourceArn/SourceAccount condition: EventBridge's KMS requests carry no such
                    # keys (EventBridge user guide, "Amazon SNS permissions", encrypted topics), and
                    # the topic policy below already confines who may publish.
                    _publisher_key_use("AlarmsAndRulesEncryptNotifications", [CLOUDWATCH, EVENTBRIDGE]),
                ],
                opts=pulumi.InvokeOutputOptions(parent=self),
            ).json,
            tags=args.tags.for_resource(key_name),
            opts=child,
        )
        alias_name = names.name(naming.KMS_ALIAS_NAME, "alarms")
        aws.kms.Alias(
            alias_name,
            name=alias_name,
            target_key_id=self.key.key_id,
            opts=pulumi.ResourceOptions(parent=self.key),
        )

        # The paging topic keeps the names it always had: renaming would replace it and its subscriptions.
        self.topic, self.subscriptions = self._topic(args, "alarms", "Payments alarms", args.notifications)
        self.ticket_topic, self.ticket_subscriptions = self._topic(
            args, "tickets", "Payments tickets", args.ticket_notifications, subscription_part="ticket"
        )
        self.topic_arn = self.topic.arn
        self.ticket_topic_arn = self.ticket_topic.arn
        self.topic_name = self.topic.name
        self.ticket_topic_name = self.ticket_topic.name
        self.key_arn = self.key.arn
        self.register_outputs(
            {"topicArn": self.topic_arn, "ticketTopicArn": self.ticket_topic_arn, "keyArn": self.key.arn}
        )

    def _topic(
        self,
        args: AlarmTopicArgs,
        purpose: str,
        display: str,
        notifications: NotificationConfig,
        subscription_part: str | None = None,
    ) -> tuple[aws.sns.Topic, list[aws.sns.TopicSubscription]]:
        names = args.namer
        topic_name = names.name(naming.TOPIC, purpose)
        topic = aws.sns.Topic(
            topic_name,
            name=topic_name,
            display_name=f"{display} ({names.suffix})",
            kms_master_key_id=self.key.arn,
            tags=args.tags.for_resource(topic_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.sns.TopicPolicy(
            names.name(naming.TOPIC_POLICY, purpose),
            arn=topic.arn,
            policy=self._topic_policy(args, topic.arn).json,
            opts=pulumi.ResourceOptions(parent=topic),
        )
        parts = (subscription_part,) if subscription_part else ()
        subscriptions = [
            aws.sns.TopicSubscription(
                names.name(naming.TOPIC_SUBSCRIPTION, *parts, protocol, str(index)),
                topic=topic.arn,
                protocol=protocol,
                endpoint=endpoint,
                # An email subscription stays "pending confirmation" until its owner confirms it.
                opts=pulumi.ResourceOptions(parent=topic),
            )
            for protocol, endpoints in (
                ("email", notifications.emails),
                ("https", notifications.https_endpoints),
            )
            for index, endpoint in enumerate(endpoints)
        ]
        return topic, subscriptions

    def _topic_policy(
        self, args: AlarmTopicArgs, topic_arn: pulumi.Output[str]
    ) -> pulumi.Output[aws.iam.GetPolicyDocumentResult]:
        where = args.context
        regional = f"arn:{where.partition}:{{service}}:{where.region}:{where.account_id}:{{resource}}"
        document: pulumi.Output[aws.iam.GetPolicyDocumentResult] = aws.iam.get_policy_document_output(
            statements=[
                {
                    "sid": "AccountPrincipalsUseTheTopic",
                    "effect": "Allow",
                    "principals": [
                        {
                            "type": "AWS",
                            "identifiers": [
                                f"arn:{args.context.partition}:iam::{args.context.account_id}:root"
                            ],
                        }
                    ],
                    "actions": OWNER_TOPIC_ACTIONS,
                    "resources": [topic_arn],
                },
                _service_publish(
                    "CloudWatchAlarmsOfThisAccountPublish",
                    CLOUDWATCH,
                    topic_arn,
                    args.context.account_id,
                    regional.format(service="cloudwatch", resource="alarm:*"),
                ),
                _service_publish(
                    "EventBridgeRulesOfThisAccountPublish",
                    EVENTBRIDGE,
                    topic_arn,
                    # EventBridge documents only aws:SourceArn for SNS targets ("Using resource-based
                    # policies for Amazon EventBridge", SNS permissions); a condition on a key it may not
                    # send would drop every event in silence. The rule ARN already names this account.
                    None,
                    regional.format(service="events", resource="rule/*"),
                ),
            ],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        return document


def _publisher_key_use(sid: str, services: list[str]) -> policies.Statement:
    return {
        "sid": sid,
        "effect": "Allow",
        "principals": [{"type": "Service", "identifiers": services}],
        "actions": PUBLISHER_KEY_ACTIONS,
        "resources": ["*"],  # in a key policy, "this key"
    }


def _service_publish(
    sid: str, service: str, topic_arn: pulumi.Output[str], account_id: str | None, source_arns: str
) -> policies.Statement:
    """sns:Publish for an AWS service acting for this account's resources only (confused deputy).

    `account_id` adds an aws:SourceAccount condition, for services that document sending it.
    """
    conditions = [{"test": "ArnLike", "variable": "aws:SourceArn", "values": [source_arns]}]
    if account_id is not None:
        same_account = {"test": "StringEquals", "variable": "aws:SourceAccount", "values": [account_id]}
        conditions.insert(0, same_account)
    return {
        "sid": sid,
        "effect": "Allow",
        "principals": [{"type": "Service", "identifiers": [service]}],
        "actions": ["sns:Publish"],
        "resources": [topic_arn],
        "conditions": conditions,
    }
