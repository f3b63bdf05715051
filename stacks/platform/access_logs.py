"""The S3 bucket both load balancers deliver their access logs to."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.aws_context import AwsContext
from shared.tags import ServiceTags
from stacks.platform.private_bucket import elb_log_bucket_policy, private_bucket_controls


@dataclass(frozen=True, kw_only=True)
class AccessLogsBucketArgs:
    """What the access-logs bucket is made from. No field has a default.

    Fields:
        namer: names every resource with the stack's suffix.
        tags: the Service tag (and the rest) for each resource.
        context: the account and region; both are part of the (global) bucket name, and the
            bucket policy admits only this region's ELB log delivery writing under this account.
        prefixes: one per load balancer; each may write only under its own prefix.
        expiration_days: `accessLogExpirationDays`: objects are deleted this many days after delivery.
    """

    namer: naming.Namer
    tags: ServiceTags
    context: AwsContext
    prefixes: tuple[str, ...]
    expiration_days: int


class AccessLogsBucket(pulumi.ComponentResource):
    """Private, SSE-S3, TLS-only, expiring, and writable only by ELB log delivery for this region."""

    def __init__(
        self, name: str, args: AccessLogsBucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:platform:AccessLogsBucket", name, None, opts)
        # Bucket names are global: the account and region keep two stacks with one suffix apart.
        bucket_name = args.namer.name(naming.BUCKET, "alb-logs", args.context.account_id, args.context.region)
        self.bucket = aws.s3.Bucket(
            bucket_name,
            bucket=bucket_name,
            force_destroy=True,  # destroy must not stall on delivered log objects
            tags=args.tags.for_resource(bucket_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        under_bucket = pulumi.ResourceOptions(parent=self.bucket)
        controls = private_bucket_controls(bucket_name, self.bucket)
        self.ownership = controls.ownership
        self.public_access_block = controls.public_access_block
        self.encryption = controls.encryption  # SSE-S3: ELB's only option (stacks/platform/private_bucket.py)
        # Versioning keeps a deleted or overwritten log object recoverable for the configured retention
        # (a security review asks for it on log buckets: FSBP S3.14); force_destroy empties every version.
        self.versioning = aws.s3.BucketVersioning(
            f"{bucket_name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=under_bucket,
        )
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{bucket_name}-lifecycle",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-access-logs",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=args.expiration_days
                    ),
                    # A deleted or overwritten log stays recoverable as long as a current one is kept
                    # (S3 user guide, "Expiring objects": noncurrent versions follow only this rule).
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.expiration_days
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=1
                    ),
                )
            ],
            opts=under_bucket,
        )

        self.policy = elb_log_bucket_policy(
            self, bucket_name, self.bucket, controls, args.context, args.prefixes
        )

        self.bucket_name = self.bucket.bucket
        self.register_outputs({"bucketName": self.bucket_name, "bucketArn": self.bucket.arn})
