"""One service's two roles: the execution role ECS uses to start it, and the task role its code runs as.

Both are least privilege for exactly one service: its repository, its log group, its secrets. The only
`Resource: "*"` allowed is `ecr:GetAuthorizationToken`, which has no resource-level permissions (ECR
user guide, "Amazon ECR resource-based permissions"), and the task role's blanket deny of `iam:*`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.aws_context import AwsContext
from shared.policies import Statement, Text, service_trust
from shared.role_boundary import role_boundary_arn
from shared.tags import ServiceTags

ECS_TASKS = "ecs-tasks.amazonaws.com"
ECR_PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]


def pull_statements(repository_arn: Text) -> list[Statement]:
    return [
        {"sid": "AuthenticateToEcr", "effect": "Allow", "actions": ["ecr:GetAuthorizationToken"],
         "resources": ["*"]},
        {"sid": "PullThisServiceImages", "effect": "Allow", "actions": ECR_PULL_ACTIONS,
         "resources": [repository_arn]},
    ]  # fmt: skip


def log_statement(log_group_arn: Text) -> Statement:
    return {
        "sid": "WriteThisServiceLogs",
        "effect": "Allow",
        "actions": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "resources": [pulumi.Output.concat(log_group_arn, ":log-stream:*")],
    }


def secret_statements(secret_arns: Sequence[Text], key_arn: Text, region: Text) -> list[Statement]:
    """Read these secrets at run time, and decrypt them with the platform key only through Secrets Manager.

    The services read their secrets with AWS's caching library (apps/common/runtime_secrets.py), which calls
    DescribeSecret (which version is AWSCURRENT) and then GetSecretValue for that version
    (aws-secretsmanager-caching, `cache/items.py`). Secrets Manager decrypts with the encryption context
    `SecretARN` = the secret's ARN (Secrets Manager user guide, "Secret encryption and decryption"), so
    the key grants Decrypt for exactly these secrets.
    """
    if not secret_arns:
        return []
    return [
        {
            "sid": "ReadThisServiceSecrets",
            "effect": "Allow",
            "actions": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            "resources": list(secret_arns),
        },
        {
            "sid": "DecryptThisServiceSecrets",
            "effect": "Allow",
            "actions": ["kms:Decrypt"],
            "resources": [key_arn],
            "conditions": [
                {
                    "test": "StringEquals",
                    "variable": "kms:ViaService",
                    "values": [pulumi.Output.concat("secretsmanager.", region, ".amazonaws.com")],
                },
                {
                    "test": "StringEquals",
                    "variable": "kms:EncryptionContext:SecretARN",
                    "values": list(secret_arns),
                },
            ],
        },
    ]


# ECS Exec: the SSM agent in the task opens its channels with the task role, and writes the session
# to the cluster's exec log group encrypted with the platform key (ECS developer guide, "Monitor Amazon
# ECS containers with ECS Exec", IAM permissions). ssmmessages and logs:DescribeLogGroups have no
# resource-level permissions (Service Authorization Reference).
SSM_MESSAGES_ACTIONS = [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]


def exec_statements(
    log_group_name: str, key_arn: str, region: str, account_id: str, partition: str
) -> list[Statement]:
    """What ECS Exec needs in the task role; none when the platform has no exec log group."""
    if not log_group_name:
        return []
    group = f"arn:{partition}:logs:{region}:{account_id}:log-group:{log_group_name}"
    return [
        {"sid": "EcsExecChannels", "effect": "Allow", "actions": SSM_MESSAGES_ACTIONS, "resources": ["*"]},
        {"sid": "EcsExecFindLogGroup", "effect": "Allow", "actions": ["logs:DescribeLogGroups"],
         "resources": ["*"]},
        {"sid": "EcsExecWriteSessionLogs", "effect": "Allow",
         "actions": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
         "resources": [f"{group}:log-stream:*", f"{group}:*"]},
        {"sid": "EcsExecSessionKey", "effect": "Allow", "actions": ["kms:Decrypt"], "resources": [key_arn]},
    ]  # fmt: skip


def no_iam_statement() -> Statement:
    """Application code never manages IAM, whatever else is attached later."""
    return {"sid": "NeverManageIam", "effect": "Deny", "actions": ["iam:*"], "resources": ["*"]}


@dataclass(frozen=True, kw_only=True)
class ServiceRolesArgs:
    """What one service's execution and task roles are made from.

    Fields:
        namer: names every resource with the stack's suffix.
        tags: the Service tag (and the rest) for each resource.
        service: the catalogue name, part of each role's name.
        context: the account, region and partition; the trust (this account's ECS tasks only) and
            every resource ARN are built from them.
        repository_arn: the service's ECR repository, the only one the execution role pulls from.
        log_group_arn: the service's log group, the only one the execution role writes to.
        key_arn: the platform KMS key (log group, secrets).
        secret_arns: this service's secrets only, from the catalogue: the task role reads them.
        exec_log_group_name: the platform's ECS Exec log group. Default "": ECS Exec is off and the
            task role allows nothing.
    """

    namer: naming.Namer
    tags: ServiceTags
    service: str
    context: AwsContext
    repository_arn: Text
    log_group_arn: Text
    key_arn: Text
    secret_arns: Sequence[Text]
    exec_log_group_name: Text = ""


class ServiceRoles(pulumi.ComponentResource):
    """The execution role and the task role of one service, each with one inline policy."""

    def __init__(self, name: str, args: ServiceRolesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("payments:services:ServiceRoles", name, None, opts)
        # Only ECS tasks of this account and region may assume them (confused-deputy guard; ECS
        # developer guide, "Task IAM role").
        source_arn = pulumi.Output.concat(
            "arn:", args.context.partition, ":ecs:", args.context.region, ":", args.context.account_id, ":*"
        )
        trust = aws.iam.get_policy_document_output(
            statements=[service_trust(ECS_TASKS, args.context.account_id, source_arn)],
            opts=pulumi.InvokeOutputOptions(parent=self),
        ).json
        # ECS injects no secret (the task definition names them by ARN), so the execution role only
        # pulls the image and writes the logs.
        self.execution_role, self.execution_policy = self._role(
            args,
            "execution",
            trust,
            [*pull_statements(args.repository_arn), log_statement(args.log_group_arn)],
        )
        # The services' code reads its own secrets at run time with the task role; the role denies IAM
        # and otherwise allows only ECS Exec's channels, and those only where the platform enables it.
        secrets = [
            _resolved(s) for s in secret_statements(args.secret_arns, args.key_arn, args.context.region)
        ]
        exec_access = pulumi.Output.all(
            args.exec_log_group_name,
            args.key_arn,
            args.context.region,
            args.context.account_id,
            args.context.partition,
        ).apply(lambda values: exec_statements(*(str(v) for v in values)))
        task_statements = pulumi.Output.all(exec_access, *secrets).apply(
            lambda parts: [no_iam_statement(), *parts[1:], *parts[0]]
        )
        self.task_role, self.task_policy = self._role(args, "task", trust, task_statements)

        self.execution_role_arn = self.execution_role.arn
        self.task_role_arn = self.task_role.arn
        self.register_outputs(
            {"executionRoleArn": self.execution_role_arn, "taskRoleArn": self.task_role_arn}
        )

    def _role(
        self,
        args: ServiceRolesArgs,
        purpose: str,
        trust: pulumi.Output[str],
        statements: pulumi.Input[list[Statement]],
    ) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        role_name = args.namer.name(naming.ROLE, args.service, purpose)
        role = aws.iam.Role(
            role_name,
            name=role_name,
            assume_role_policy=trust,
            description=f"{args.service}: {purpose} role",
            permissions_boundary=role_boundary_arn(args.context),
            tags=args.tags.for_resource(role_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        policy_name = args.namer.name(naming.POLICY, args.service, purpose)
        document = aws.iam.get_policy_document_output(
            statements=statements, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        policy = aws.iam.RolePolicy(
            policy_name,
            name=policy_name,
            role=role.id,
            policy=document.json,
            opts=pulumi.ResourceOptions(parent=role),
        )
        return role, policy


def _resolved(statement: Statement) -> pulumi.Output[Statement]:
    """A statement whose Output values (ARNs, regions) are resolved, to combine with computed ones."""
    return pulumi.Output.from_input(statement)
