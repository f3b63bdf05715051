"""The platform's customer-managed KMS key: ECS log groups, Lambda log groups, secrets, ECS Exec, and
the managed database (storage, master secret, Performance Insights, log groups).

RDS uses the key through grants it creates with the caller's permissions (RDS user guide, "Amazon RDS
encryption": kms:CreateGrant and kms:DescribeKey); the account-root statement lets IAM policies grant
those, so the key policy needs no RDS statement of its own."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared import naming, policies
from shared.aws_context import AwsContext
from shared.tags import ServiceTags


@dataclass(frozen=True, kw_only=True)
class PlatformKeyArgs:
    """What the platform key is made from. No field has a default.

    Fields:
        namer: names every resource with the stack's suffix.
        tags: the Service tag (and the rest) for each resource.
        context: the account, region and partition the key policy admits (the account root as
            administrator, this region's CloudWatch Logs and Secrets Manager as users).
        deletion_window_days: `kmsDeletionWindowDays` (7-30): destroy schedules deletion after this
            many days.
    """

    namer: naming.Namer
    tags: ServiceTags
    context: AwsContext
    deletion_window_days: int


class PlatformKey(pulumi.ComponentResource):
    """One key with rotation on, usable by this stack's log groups and through Secrets Manager."""

    def __init__(self, name: str, args: PlatformKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("payments:platform:PlatformKey", name, None, opts)
        names = args.namer
        key_name = names.name(naming.KMS_KEY, "platform")
        # The ECS services' groups (/ecs/<service>-<suffix>, ECS Exec's /ecs/exec-<suffix>), this
        # stack's Lambda groups (/aws/lambda/lambda-<function>-<suffix>), the WAF log group
        # (aws-waf-logs-<name>-<suffix>) and the database's exported logs
        # (/aws/rds/instance/rds-<name>-<suffix>/<log>).
        log_group_patterns = (
            names.wildcard(naming.ECS_LOG_GROUP),
            names.wildcard(naming.LAMBDA_LOG_GROUP),
            names.wildcard(naming.WAF_LOG_GROUP),
            names.wildcard(naming.RDS_LOG_GROUP),
        )
        key_policy = aws.iam.get_policy_document_output(
            statements=[
                policies.account_root_key_admin(args.context.partition, args.context.account_id),
                policies.cloudwatch_logs_key_use(
                    args.context.partition, args.context.region, args.context.account_id, *log_group_patterns
                ),
                policies.secrets_manager_key_use(args.context.region, args.context.account_id),
            ],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.key = aws.kms.Key(
            key_name,
            description=f"Encrypts the log groups, secrets and ECS Exec sessions of {key_name}",
            enable_key_rotation=True,
            deletion_window_in_days=args.deletion_window_days,
            policy=key_policy.json,
            tags=args.tags.for_resource(key_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        alias_name = names.name(naming.KMS_ALIAS_NAME, "platform")
        self.alias = aws.kms.Alias(
            alias_name,
            name=alias_name,
            target_key_id=self.key.key_id,
            opts=pulumi.ResourceOptions(parent=self.key),
        )

        self.key_arn = self.key.arn
        self.register_outputs({"keyArn": self.key_arn, "aliasName": self.alias.name})
