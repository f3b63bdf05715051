"""The one way this project makes a CloudWatch log group: named, retained, KMS-encrypted, tagged.

The platform requires encryption and a retention on every log group; building them all here keeps
that true for each new one (ECS services, Lambda functions, flow logs, ECS Exec).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from shared.tags import ServiceTags


def encrypted_log_group(
    name: str,
    *,
    retention_days: int,
    key_arn: pulumi.Input[str],
    tags: ServiceTags,
    opts: pulumi.ResourceOptions,
) -> aws.cloudwatch.LogGroup:
    """`name` is the full log group name (from `shared.naming`); `key_arn` must admit CloudWatch Logs."""
    return aws.cloudwatch.LogGroup(
        name,
        name=name,
        retention_in_days=retention_days,
        kms_key_id=key_arn,  # the key ARN, not its id or alias (CloudWatch Logs requires the ARN)
        tags=tags.for_resource(name),
        opts=opts,
    )
