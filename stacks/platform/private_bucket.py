"""What every bucket of the platform layer has besides its own purpose: owner-enforced objects, no public
access of any kind, and encryption at rest with SSE-S3.

SSE-S3 because both buckets receive ELB access logs, and ELB delivers only to SSE-S3 buckets (ELB user
guide, "Access log files": "The only server-side encryption option that's supported is Amazon
S3-managed keys"); what Firehose writes into the audit archive carries SSE-KMS on each object.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


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
