"""The write-once audit archive of `complianceProfile: pci` (docs/security.md, "PCI DSS v4.0.1").

One S3 bucket keeps 12 months of every log (PCI DSS v4.0.1 requirement 10.5.1: a year, the last three
months immediately available) and protects it from change (10.3.2, 10.3.3):
- S3 Object Lock in governance mode, 365 days by default on every object version; versioning on
  (Object Lock requires it);
- lifecycle: Glacier Instant Retrieval after 90 days (still read in milliseconds), expiry after the
  lock ends;
- written by two producers only: Amazon Data Firehose (every log group, through subscription filters,
  `shared/log_archive.py`), each object encrypted with the platform KMS key; and ELB log delivery (the
  ALBs' access logs under their own prefixes).

The bucket's default encryption is SSE-S3 because ELB log delivery supports nothing else (ELB user
guide, "Enable access logs for your Application Load Balancer": "The only server-side encryption
option that's supported is Amazon S3-managed keys (SSE-S3)"); Firehose sets SSE-KMS with the platform
key on every object it writes (Firehose API, S3DestinationConfiguration.EncryptionConfiguration).

Destroy: `force_destroy` makes the provider empty the bucket first, deleting every object version
with `x-amz-bypass-governance-retention: true` (terraform-provider-aws, internal/service/s3/delete.go,
`emptyBucket` -> `deletePage`, `BypassGovernanceRetention: force`), which S3 honours only for a
caller with s3:BypassGovernanceRetention (S3 user guide, "Bypassing governance mode"). Without that
permission destroy stops at the bucket with AccessDenied and everything else is already gone.
Governance, not compliance mode: compliance-mode versions cannot be deleted by anyone before their
date, so the stack could never be destroyed within a year.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_aws as aws

from shared import naming, policies
from shared.aws_context import AwsContext
from shared.log_archive import LogArchive
from shared.role_boundary import role_boundary_arn
from shared.tags import ServiceTags
from stacks.platform.private_bucket import elb_log_bucket_policy, private_bucket_controls

LOCK_MODE: Final = "GOVERNANCE"
RETENTION_DAYS: Final = 365  # PCI DSS v4.0.1 10.5.1: at least 12 months of audit log history
IMMEDIATE_DAYS: Final = 90  # 10.5.1: the last three months immediately available for analysis
# Glacier Instant Retrieval: millisecond reads, a 90-day minimum (S3 user guide, "Understanding and
# managing Amazon S3 storage classes"); a lifecycle transition to it needs 30 days or more in STANDARD.
COLD_STORAGE_CLASS: Final = "GLACIER_IR"
# Expiry after the lock: S3 never expires a locked version (S3 user guide, "How S3 Object Lock works":
# lifecycle rules do not delete a version before its retain-until date), the day after keeps it simple.
EXPIRY_DAYS: Final = RETENTION_DAYS + 1
FIREHOSE_SERVICE: Final = "firehose.amazonaws.com"
LOG_PREFIX: Final = "logs/"  # Firehose objects; ALB access logs sit under <alb name>/AWSLogs/...
ERROR_PREFIX: Final = "delivery-errors/"
# Firehose buffers: deliver every 5 minutes or 5 MiB, whichever comes first (the API's defaults).
BUFFER_SECONDS: Final = 300
BUFFER_MIB: Final = 5


@dataclass(frozen=True, kw_only=True)
class AuditArchiveArgs:
    """What the archive is made from. No field has a default.

    Fields:
        namer: names every resource with the stack's suffix.
        tags: the Service tag (and the rest) for each resource.
        context: the account and region: the bucket name, the ELB log-delivery account, the trusts.
        key_arn: the platform KMS key: every object Firehose writes, and the stream itself.
        alb_prefixes: one per load balancer; ELB log delivery may write only under its own prefix.
    """

    namer: naming.Namer
    tags: ServiceTags
    context: AwsContext
    key_arn: pulumi.Input[str]
    alb_prefixes: tuple[str, ...]


class AuditArchive(pulumi.ComponentResource):
    """Bucket (Object Lock, versioning, lifecycle, policy), Firehose stream, and the two roles."""

    def __init__(self, name: str, args: AuditArchiveArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("payments:platform:AuditArchive", name, None, opts)
        names, context = args.namer, args.context
        bucket_name = names.name(naming.BUCKET, "audit", context.account_id, context.region)
        self.bucket = aws.s3.Bucket(
            bucket_name,
            bucket=bucket_name,
            object_lock_enabled=True,  # only at creation; it turns versioning on for good
            # Empties the bucket on destroy, bypassing governance retention (module docstring).
            force_destroy=True,
            tags=args.tags.for_resource(bucket_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        under_bucket = pulumi.ResourceOptions(parent=self.bucket)
        controls = private_bucket_controls(bucket_name, self.bucket)
        self.ownership = controls.ownership
        self.public_access_block = controls.public_access_block
        self.encryption = controls.encryption  # SSE-S3 for ELB; Firehose objects carry SSE-KMS
        self.versioning = aws.s3.BucketVersioning(
            f"{bucket_name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=under_bucket,
        )
        self.object_lock = aws.s3.BucketObjectLockConfiguration(
            f"{bucket_name}-object-lock",
            bucket=self.bucket.id,
            object_lock_enabled="Enabled",
            rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                    mode=LOCK_MODE, days=RETENTION_DAYS
                )
            ),
            opts=pulumi.ResourceOptions(parent=self.bucket, depends_on=[self.versioning]),
        )
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{bucket_name}-lifecycle",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="archive-then-expire",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    transitions=[
                        aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                            days=IMMEDIATE_DAYS, storage_class=COLD_STORAGE_CLASS
                        )
                    ],
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=EXPIRY_DAYS),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=EXPIRY_DAYS
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=1
                    ),
                )
            ],
            opts=pulumi.ResourceOptions(parent=self.bucket, depends_on=[self.versioning]),
        )
        self.policy = elb_log_bucket_policy(
            self, bucket_name, self.bucket, controls, args.context, args.alb_prefixes
        )
        self._roles(args)
        stream_name = names.name(naming.FIREHOSE_STREAM, "audit")
        self.stream = aws.kinesis.FirehoseDeliveryStream(
            stream_name,
            name=stream_name,
            destination="extended_s3",
            server_side_encryption=aws.kinesis.FirehoseDeliveryStreamServerSideEncryptionArgs(
                enabled=True, key_type="CUSTOMER_MANAGED_CMK", key_arn=args.key_arn
            ),
            extended_s3_configuration=aws.kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationArgs(
                bucket_arn=self.bucket.arn,
                role_arn=self.delivery_role.arn,
                prefix=LOG_PREFIX,
                error_output_prefix=ERROR_PREFIX,
                buffering_interval=BUFFER_SECONDS,
                buffering_size=BUFFER_MIB,
                # CloudWatch Logs sends gzip-compressed batches already (CloudWatch Logs user guide,
                # "Subscription filters with Amazon Data Firehose"): compressing again would nest gzip.
                compression_format="UNCOMPRESSED",
                kms_key_arn=args.key_arn,
            ),
            tags=args.tags.for_resource(stream_name),
            # Firehose checks its role at creation: the role's policy must be there first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.delivery_policy, self.object_lock]),
        )
        self.subscription_policy = aws.iam.RolePolicy(
            names.name(naming.POLICY, "logs-to-firehose"),
            role=self.subscription_role.id,
            policy=aws.iam.get_policy_document_output(
                statements=[
                    {
                        "sid": "PutIntoTheAuditStream",
                        "effect": "Allow",
                        "actions": ["firehose:PutRecord", "firehose:PutRecordBatch"],
                        "resources": [self.stream.arn],
                    }
                ],
                opts=pulumi.InvokeOutputOptions(parent=self),
            ).json,
            opts=pulumi.ResourceOptions(parent=self.subscription_role),
        )

        self.bucket_name = self.bucket.bucket
        self.bucket_arn = self.bucket.arn
        self.stream_arn = self.stream.arn
        self.subscription_role_arn = self.subscription_role.arn
        # Subscription filters need the role able to put into the stream (PutSubscriptionFilter tests
        # delivery): depend on this output, which resolves only after the role policy exists.
        self.archive = LogArchive(
            stream_arn=pulumi.Output.all(self.stream.arn, self.subscription_policy.id).apply(
                lambda v: str(v[0])
            ),
            role_arn=self.subscription_role.arn,
        )
        self.register_outputs(
            {
                "bucketName": self.bucket_name,
                "streamArn": self.stream_arn,
                "subscriptionRoleArn": self.subscription_role_arn,
            }
        )

    def _roles(self, args: AuditArchiveArgs) -> None:
        """The archive's two roles, in one place: Firehose's delivery role, CloudWatch Logs' role."""
        names, context = args.namer, args.context
        invoke = pulumi.InvokeOutputOptions(parent=self)
        delivery_name = names.name(naming.ROLE, "audit-delivery")
        self.delivery_role = aws.iam.Role(
            delivery_name,
            name=delivery_name,
            assume_role_policy=aws.iam.get_policy_document_output(
                statements=[policies.service_trust(FIREHOSE_SERVICE, context.account_id)], opts=invoke
            ).json,
            description="Firehose writes the audit archive",
            permissions_boundary=role_boundary_arn(context),
            tags=args.tags.for_resource(delivery_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        objects = self.bucket.arn.apply(lambda arn: f"{arn}/*")
        # Firehose developer guide, "Grant Firehose access to an Amazon S3 destination".
        self.delivery_policy = aws.iam.RolePolicy(
            names.name(naming.POLICY, "audit-delivery"),
            role=self.delivery_role.id,
            policy=aws.iam.get_policy_document_output(
                statements=[
                    {
                        "sid": "FindTheBucket",
                        "effect": "Allow",
                        "actions": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                        "resources": [self.bucket.arn],
                    },
                    {
                        "sid": "WriteObjects",
                        "effect": "Allow",
                        "actions": ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
                        "resources": [objects],
                    },
                    {
                        "sid": "EncryptObjectsWithThePlatformKey",
                        "effect": "Allow",
                        "actions": ["kms:GenerateDataKey", "kms:Decrypt"],
                        "resources": [args.key_arn],
                        "conditions": [
                            {
                                "test": "StringEquals",
                                "variable": "kms:ViaService",
                                "values": [f"s3.{context.region}.amazonaws.com"],
                            }
                        ],
                    },
                ],
                opts=invoke,
            ).json,
            opts=pulumi.ResourceOptions(parent=self.delivery_role),
        )
        subscription_name = names.name(naming.ROLE, "logs-to-firehose")
        self.subscription_role = aws.iam.Role(
            subscription_name,
            name=subscription_name,
            assume_role_policy=aws.iam.get_policy_document_output(
                statements=[
                    policies.logs_subscription_trust(context.partition, context.region, context.account_id)
                ],
                opts=invoke,
            ).json,
            description="CloudWatch Logs copies every log group into the audit archive's stream",
            permissions_boundary=role_boundary_arn(context),
            tags=args.tags.for_resource(subscription_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
