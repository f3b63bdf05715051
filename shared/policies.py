"""IAM and KMS policy statements more than one layer needs, as `get_policy_document` arguments.

Statements are plain dicts in the provider's argument shape, so a component combines them and renders
the JSON with `aws.iam.get_policy_document_output`; nothing here formats JSON by hand.
"""

from __future__ import annotations

from typing import Any

import pulumi

Statement = dict[str, Any]
Text = str | pulumi.Output[str]


# CloudWatch Logs' global service principal, the one its subscription roles trust (logs_subscription_trust).
LOGS_SERVICE = "logs.amazonaws.com"


def account_root_key_admin(partition: Text, account_id: Text) -> Statement:
    """The default key-policy statement: the account's IAM principals administer the key.

    Without it no IAM policy could grant access to the key and it becomes unmanageable (KMS developer
    guide, "Default key policy"). In a key policy `Resource: "*"` means "this key".
    """
    return {
        "sid": "AccountAdministratorsManageTheKey",
        "effect": "Allow",
        "principals": [
            {
                "type": "AWS",
                "identifiers": [pulumi.Output.concat("arn:", partition, ":iam::", account_id, ":root")],
            }
        ],
        "actions": ["kms:*"],
        "resources": ["*"],
    }


def cloudwatch_logs_key_use(
    partition: Text, region: Text, account_id: Text, *log_group_patterns: Text
) -> Statement:
    """Lets CloudWatch Logs in this region use the key, only for log groups matching the patterns.

    Without it, creating the log group fails with "The specified KMS key does not exist or is not
    allowed" (CloudWatch Logs user guide, "Encrypt log data in CloudWatch Logs using AWS KMS").
    The guide's example also lists `kms:Describe*`, but DescribeKey supports no encryption-context
    key (Service Authorization Reference, AWS KMS), so under this condition it never matches: left out.
    """
    return {
        "sid": "CloudWatchLogsEncryptTheseLogGroups",
        "effect": "Allow",
        "principals": [
            {"type": "Service", "identifiers": [pulumi.Output.concat("logs.", region, ".amazonaws.com")]}
        ],
        "actions": [
            "kms:Encrypt*",
            "kms:Decrypt*",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey*",
        ],
        "resources": ["*"],
        "conditions": [
            {
                "test": "ArnLike",
                "variable": "kms:EncryptionContext:aws:logs:arn",
                "values": [
                    pulumi.Output.concat(
                        "arn:", partition, ":logs:", region, ":", account_id, ":log-group:", pattern
                    )
                    for pattern in log_group_patterns
                ],
            }
        ],
    }


def secrets_manager_key_use(region: Text, account_id: Text) -> Statement:
    """Lets this account's principals use the key through Secrets Manager, and only through it.

    The same shape as the AWS managed `aws/secretsmanager` key's policy: who may read a secret is then
    decided by the secret's IAM permissions, and the key cannot be used directly outside Secrets
    Manager (KMS developer guide, "kms:ViaService"; Secrets Manager user guide, "Secret encryption
    and decryption").
    """
    return {
        "sid": "UseThroughSecretsManagerOnly",
        "effect": "Allow",
        "principals": [{"type": "AWS", "identifiers": ["*"]}],
        "actions": [
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey*",
            "kms:DescribeKey",
        ],
        "resources": ["*"],
        "conditions": [
            {"test": "StringEquals", "variable": "kms:CallerAccount", "values": [account_id]},
            {
                "test": "StringEquals",
                "variable": "kms:ViaService",
                "values": [pulumi.Output.concat("secretsmanager.", region, ".amazonaws.com")],
            },
        ],
    }


def service_trust(service: str, account_id: Text, source_arn: Text | None = None) -> Statement:
    """A role trust statement for an AWS service, guarded against the confused-deputy problem."""
    conditions = [{"test": "StringEquals", "variable": "aws:SourceAccount", "values": [account_id]}]
    if source_arn is not None:
        conditions.append({"test": "ArnLike", "variable": "aws:SourceArn", "values": [source_arn]})
    return {
        "sid": "TrustedService",
        "effect": "Allow",
        "principals": [{"type": "Service", "identifiers": [service]}],
        "actions": ["sts:AssumeRole"],
        "conditions": conditions,
    }


def logs_subscription_trust(partition: Text, region: Text, account_id: Text) -> Statement:
    """The trust of the role CloudWatch Logs assumes to put a subscription's events into its destination.

    The form the CloudWatch Logs user guide gives for it ("Subscription filters with Amazon Data
    Firehose" and "... with Kinesis Data Streams", TrustPolicyForCWL.json): the global principal
    `logs.amazonaws.com`, confined by `aws:SourceArn` (StringLike `arn:aws:logs:<region>:<account>:*`)
    to this account's log groups in the region ("Confused deputy prevention"). No `aws:SourceAccount`
    condition: the guide's policy has none, and a condition on a key the service does not send would
    refuse the AssumeRole; the account is already in the ARN.
    """
    return {
        "sid": "CloudWatchLogsOfThisAccount",
        "effect": "Allow",
        "principals": [{"type": "Service", "identifiers": [LOGS_SERVICE]}],
        "actions": ["sts:AssumeRole"],
        "conditions": [
            {
                "test": "StringLike",
                "variable": "aws:SourceArn",
                "values": [pulumi.Output.concat("arn:", partition, ":logs:", region, ":", account_id, ":*")],
            }
        ],
    }


def lambda_network_interfaces(partition: Text, region: Text, account_id: Text) -> Statement:
    """What Lambda does with a function's role to place it in a VPC: manage its network interfaces.

    Lambda developer guide, "Giving Lambda functions access to resources in an Amazon VPC"; these
    actions accept the regional interface, subnet and security group ARNs.
    """
    regional = pulumi.Output.concat("arn:", partition, ":ec2:", region, ":", account_id)
    return {
        "sid": "ManageItsNetworkInterfaces",
        "effect": "Allow",
        "actions": [
            "ec2:CreateNetworkInterface",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
        ],
        "resources": [
            pulumi.Output.concat(regional, ":network-interface/*"),
            pulumi.Output.concat(regional, ":subnet/*"),
            pulumi.Output.concat(regional, ":security-group/*"),
        ],
    }


def lambda_describe_and_trace(in_vpc: bool) -> Statement:
    """X-Ray's writes, and for a function in a VPC the EC2 Describe calls: none has a resource type."""
    describe = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"] if in_vpc else []
    return {
        "sid": "DescribeNetworkAndTrace" if in_vpc else "Trace",
        "effect": "Allow",
        "actions": [*describe, "xray:PutTraceSegments", "xray:PutTelemetryRecords"],
        "resources": ["*"],
    }


def write_own_logs(log_group_arn: pulumi.Output[str]) -> Statement:
    """Streams and events in one log group; the group itself is created by Pulumi, not the function."""
    return {
        "sid": "WriteItsOwnLogs",
        "effect": "Allow",
        "actions": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "resources": [log_group_arn.apply(lambda arn: f"{arn}:log-stream:*")],
    }
