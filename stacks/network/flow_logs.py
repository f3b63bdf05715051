"""VPC flow logs into a KMS-encrypted CloudWatch log group, written by a role scoped to that group."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared import naming, policies
from shared.aws_context import AwsContext
from shared.config.keys import FlowLogTrafficType
from shared.log_groups import encrypted_log_group
from shared.role_boundary import role_boundary_arn
from shared.tags import ServiceTags

FLOW_LOGS_SERVICE = "vpc-flow-logs.amazonaws.com"


@dataclass(frozen=True, kw_only=True)
class FlowLogsArgs:
    """What the VPC's flow logs are made from. No field has a default.

    Fields:
        namer: names every resource with the stack's suffix.
        tags: the Service tag (and the rest) for each resource.
        vpc_id: the VPC whose traffic is logged.
        context: the account, region and partition; the key policy, the log group's ARN and the
            role's trust (confined to this account's flow logs) are built from them.
        retention_days: `flowLogRetentionDays`, the log group's retention.
        traffic_type: `flowLogTrafficType`, "ALL", "ACCEPT" or "REJECT".
        kms_deletion_window_days: `kmsDeletionWindowDays` (7-30): how long destroy keeps the key
            recoverable.
    """

    namer: naming.Namer
    tags: ServiceTags
    vpc_id: pulumi.Input[str]
    context: AwsContext
    retention_days: int
    traffic_type: FlowLogTrafficType
    kms_deletion_window_days: int


class FlowLogs(pulumi.ComponentResource):
    """Flow logs for one VPC, encrypted with a key this component owns."""

    def __init__(self, name: str, args: FlowLogsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("payments:network:FlowLogs", name, None, opts)
        names = args.namer
        child = pulumi.ResourceOptions(parent=self)
        log_group_name = names.name(naming.VPC_LOG_GROUP, "flow-logs")

        key_name = names.name(naming.KMS_KEY, "network")
        key_policy = aws.iam.get_policy_document_output(
            statements=[
                policies.account_root_key_admin(args.context.partition, args.context.account_id),
                policies.cloudwatch_logs_key_use(
                    args.context.partition, args.context.region, args.context.account_id, log_group_name
                ),
            ],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.key = aws.kms.Key(
            key_name,
            description=f"Encrypts the VPC flow logs of {key_name}",
            enable_key_rotation=True,
            deletion_window_in_days=args.kms_deletion_window_days,
            policy=key_policy.json,
            tags=args.tags.for_resource(key_name),
            opts=child,
        )
        aws.kms.Alias(
            names.name(naming.KMS_ALIAS_NAME, "network"),
            name=names.name(naming.KMS_ALIAS_NAME, "network"),
            target_key_id=self.key.key_id,
            opts=pulumi.ResourceOptions(parent=self.key),
        )

        self.log_group = encrypted_log_group(
            log_group_name,
            retention_days=args.retention_days,
            key_arn=self.key.arn,
            tags=args.tags,
            opts=child,
        )

        role_name = names.name(naming.ROLE, "vpc-flow-logs")
        flow_log_arns = (
            f"arn:{args.context.partition}:ec2:{args.context.region}:{args.context.account_id}:vpc-flow-log/*"
        )
        trust = aws.iam.get_policy_document_output(
            statements=[policies.service_trust(FLOW_LOGS_SERVICE, args.context.account_id, flow_log_arns)],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.role = aws.iam.Role(
            role_name,
            name=role_name,
            assume_role_policy=trust.json,
            permissions_boundary=role_boundary_arn(args.context),
            tags=args.tags.for_resource(role_name),
            opts=child,
        )
        write_policy = aws.iam.get_policy_document_output(
            statements=[
                {
                    # CreateLogStream and PutLogEvents act on log streams, DescribeLogStreams on the
                    # group (Service Authorization Reference, CloudWatch Logs): each on its own ARN.
                    "sid": "WriteThisLogGroupOnly",
                    "effect": "Allow",
                    "actions": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "resources": [self.log_group.arn.apply(lambda arn: f"{arn}:log-stream:*")],
                },
                {
                    "sid": "ListThisLogGroupsStreams",
                    "effect": "Allow",
                    "actions": ["logs:DescribeLogStreams"],
                    "resources": [self.log_group.arn],
                },
                {
                    # The delivery service looks its group up before writing (VPC user guide, "IAM
                    # role for publishing flow logs to CloudWatch Logs"). DescribeLogGroups has no
                    # resource type (Service Authorization Reference, CloudWatch Logs): only "*"
                    # matches it; a log-group ARN here would never be honoured.
                    "sid": "FindTheLogGroup",
                    "effect": "Allow",
                    "actions": ["logs:DescribeLogGroups"],
                    "resources": ["*"],
                },
            ],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.role_policy = aws.iam.RolePolicy(
            names.name(naming.POLICY, "vpc-flow-logs"),
            role=self.role.id,
            policy=write_policy.json,
            opts=pulumi.ResourceOptions(parent=self.role),
        )

        flow_log_name = names.name(naming.FLOW_LOG)
        self.flow_log = aws.ec2.FlowLog(
            flow_log_name,
            vpc_id=args.vpc_id,
            traffic_type=args.traffic_type,
            log_destination_type="cloud-watch-logs",
            log_destination=self.log_group.arn,
            iam_role_arn=self.role.arn,
            max_aggregation_interval=60,
            tags=args.tags.for_resource(flow_log_name),
            # The role must be able to write before the first delivery attempt.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role_policy]),
        )

        self.log_group_name = self.log_group.name
        self.key_arn = self.key.arn
        self.register_outputs(
            {
                "logGroupName": self.log_group_name,
                "keyArn": self.key_arn,
                "flowLogId": self.flow_log.id,
            }
        )
