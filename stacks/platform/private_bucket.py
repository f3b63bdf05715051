"""What every bucket of the platform layer has besides its own purpose: owner-enforced objects, no public
access of any kind, and encryption at rest with SSE-S3.

SSE-S3 because both buckets receive ELB access logs, and ELB delivers only to SSE-S3 buckets (ELB user
guide, "Access log files": "The only server-side encryption option that's supported is Amazon
S3-managed keys"); what Firehose writes into the audit archive carries SSE-KMS on each object.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared.aws_context import AwsContext


@dataclass(frozen=True)
class PrivateBucketControls:
    ownership: aws.s3.BucketOwnershipControls
    public_access_block: aws.s3.BucketPublicAccessBlock
    encryption: aws.s3.BucketServerSideEncryptionConfiguration


def private_bucket_controls(bucket_name: str, bucket: aws.s3.Bucket) -> PrivateBucketControls:
    """The three controls, named `<bucket>-ownership`, `-public-access`, `-encryption`, under the bucket."""
    under_bucket = pulumi.ResourceOptions(parent=bucket)
    sse_s3 = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
        sse_algorithm="AES256"
    )
    return PrivateBucketControls(
        ownership=aws.s3.BucketOwnershipControls(
            f"{bucket_name}-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=under_bucket,
        ),
        public_access_block=aws.s3.BucketPublicAccessBlock(
            f"{bucket_name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=under_bucket,
        ),
        encryption=aws.s3.BucketServerSideEncryptionConfiguration(
            f"{bucket_name}-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=sse_s3
                )
            ],
            opts=under_bucket,
        ),
    )


def elb_log_bucket_policy(
    owner: pulumi.Resource,
    bucket_name: str,
    bucket: aws.s3.Bucket,
    controls: PrivateBucketControls,
    context: AwsContext,
    prefixes: Sequence[str],
) -> aws.s3.BucketPolicy:
    """The bucket's policy: the region's ELB log-delivery account may write under each prefix's
    `AWSLogs/<account>/`, and nothing reaches the bucket without TLS. `owner` parents the look-ups."""
    invoke = pulumi.InvokeOutputOptions(parent=owner)
    # The region's ELB log-delivery account (127311923021 in us-east-1).
    elb_account = aws.elb.get_service_account_output(region=context.region, opts=invoke)
    policy = aws.iam.get_policy_document_output(
        statements=[
            {
                "sid": "ElbLogDeliveryWritesUnderItsPrefix",
                "effect": "Allow",
                "principals": [{"type": "AWS", "identifiers": [elb_account.arn]}],
                "actions": ["s3:PutObject"],
                "resources": [
                    bucket.arn.apply(
                        lambda arn, prefix=prefix: f"{arn}/{prefix}/AWSLogs/{context.account_id}/*"
                    )
                    for prefix in prefixes
                ],
            },
            {
                "sid": "DenyInsecureTransport",
                "effect": "Deny",
                "principals": [{"type": "*", "identifiers": ["*"]}],
                "actions": ["s3:*"],
                "resources": [bucket.arn, bucket.arn.apply(lambda arn: f"{arn}/*")],
                "conditions": [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}],
            },
        ],
        opts=invoke,
    )
    return aws.s3.BucketPolicy(
        f"{bucket_name}-policy",
        bucket=bucket.id,
        policy=policy.json,
        # S3 rejects concurrent changes to a bucket's access settings ("OperationAborted").
        opts=pulumi.ResourceOptions(
            parent=bucket, depends_on=[controls.public_access_block, controls.ownership]
        ),
    )
