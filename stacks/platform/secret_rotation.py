"""The rotation Lambda for the platform's secrets and the schedule that invokes it.

One function rotates every secret: it reads each secret's shape (see `functions/secret_rotation`).
It runs in the private subnets so it can reach a database in the VPC, with its own security group,
an encrypted log group, X-Ray tracing and reserved concurrency.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from functions.packaging import function_archive
from shared import naming, policies
from shared.aws_context import AwsContext
from shared.config.keys import DatabaseTls
from shared.network_constants import ANYWHERE, HTTPS_PORT
from shared.security_rules import tcp_egress
from shared.tags import ServiceTags
from stacks.hardened_lambda import HardenedFunctionArgs, LambdaVpc, hardened_function
from stacks.platform.rotation_strategies import (
    STRATEGIES_VARIABLE,
    TOPIC_VARIABLE,
    notification_statements,
)

FUNCTION_PACKAGE = "secret_rotation"
FUNCTION_DEPENDENCIES = ("pg8000",)  # pure Python; boto3 ships with the Lambda runtime
TIMEOUT_SECONDS = 60  # a step is a few API calls and at most two database logins
MEMORY_MB = 256
SECRETS_MANAGER_SERVICE = "secretsmanager.amazonaws.com"


@dataclass(frozen=True, kw_only=True)
class SecretRotationArgs:
    """What the rotation function and its schedules are made from. No field has a default.

    Fields:
        namer: names every resource with the stack's suffix.
        tags: the Service tag (and the rest) for each resource.
        context: the account, region and partition; the role's trust, the invoke permission's
            source account and the Secrets Manager endpoint are built from them.
        key_arn: the platform KMS key: log group, environment variables and the secrets themselves.
        vpc_id: the VPC of the function's security group.
        vpc_cidr: the only destination of the database egress rule.
        private_subnet_ids: the function's network interfaces, one per subnet.
        secrets: purpose -> the secret to rotate; each gets its own rotation schedule.
        key_rotations: ROTATION_STRATEGIES, each API key's strategy (stacks/platform/rotation_strategies.py).
        alarm_topic_arn: the network layer's alarm topic, where `notify` tells operators a key is due.
        alarm_topic_key_arn: the topic's KMS key, which publishing uses.
        schedule: `secretRotationSchedule`, a Secrets Manager ScheduleExpression, e.g. "rate(30 days)".
        log_retention_days: `logRetentionDays` of the function's log group.
        reserved_concurrency: `rotationReservedConcurrency`.
        database_port: egress to the database in the VPC; None when no database is rotated.
        database_tls: `databaseTls`, "verify-full", "require" or "disable".
    """

    namer: naming.Namer
    tags: ServiceTags
    context: AwsContext
    key_arn: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    vpc_cidr: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[list[str]]
    secrets: dict[str, aws.secretsmanager.Secret]
    key_rotations: pulumi.Input[str]
    alarm_topic_arn: pulumi.Input[str]
    alarm_topic_key_arn: pulumi.Input[str]
    schedule: str
    log_retention_days: int
    reserved_concurrency: int
    database_port: int | None
    database_tls: DatabaseTls


class SecretRotation(pulumi.ComponentResource):
    """The function, its role, network and logs, and one rotation schedule per secret."""

    def __init__(
        self, name: str, args: SecretRotationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:platform:SecretRotation", name, None, opts)
        names = args.namer
        child = pulumi.ResourceOptions(parent=self)
        function_name = names.name(naming.LAMBDA, "secret-rotation")
        secret_arns = [secret.arn for secret in args.secrets.values()]

        self.security_group = self._security_group(args, child)
        built = hardened_function(
            HardenedFunctionArgs(
                namer=names,
                tags=args.tags,
                context=args.context,
                purpose="secret-rotation",
                description="Rotates the platform's secrets (Secrets Manager's four-step protocol)",
                code=function_archive(FUNCTION_PACKAGE, FUNCTION_DEPENDENCIES),
                handler=f"{FUNCTION_PACKAGE}.handler.handler",
                timeout_seconds=TIMEOUT_SECONDS,
                memory_mb=MEMORY_MB,
                reserved_concurrency=args.reserved_concurrency,
                log_retention_days=args.log_retention_days,
                key_arn=args.key_arn,
                environment={
                    "SECRETS_MANAGER_ENDPOINT": f"https://secretsmanager.{args.context.region}.amazonaws.com",
                    "DATABASE_TLS": args.database_tls,
                    STRATEGIES_VARIABLE: args.key_rotations,
                    TOPIC_VARIABLE: args.alarm_topic_arn,
                },
                role_statements=lambda write_own_logs: self._role_statements(
                    args, secret_arns, write_own_logs
                ),
                vpc=LambdaVpc(
                    subnet_ids=args.private_subnet_ids, security_group_ids=[self.security_group.id]
                ),
            ),
            parent=self,
        )
        self.log_group, self.role, self.role_policy = built.log_group, built.role, built.role_policy
        self.function = built.function

        self.rotations: dict[str, aws.secretsmanager.SecretRotation] = {}
        for purpose, secret in args.secrets.items():
            permission = aws.lambda_.Permission(
                f"{function_name}-invoke-{purpose}",
                function=self.function.name,
                action="lambda:InvokeFunction",
                principal=SECRETS_MANAGER_SERVICE,
                source_arn=secret.arn,  # Secrets Manager may invoke it for this secret only
                source_account=args.context.account_id,
                opts=pulumi.ResourceOptions(parent=self.function),
            )
            self.rotations[purpose] = aws.secretsmanager.SecretRotation(
                f"{function_name}-{purpose}",
                secret_id=secret.id,
                rotation_lambda_arn=self.function.arn,
                rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(
                    schedule_expression=args.schedule
                ),
                # The first rotation waits for the schedule; Secrets Manager still runs testSecret now.
                rotate_immediately=False,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
            )

        self.function_arn = self.function.arn
        self.security_group_id = self.security_group.id
        self.register_outputs(
            {
                "functionArn": self.function_arn,
                "securityGroupId": self.security_group_id,
                "logGroupName": self.log_group.name,
            }
        )

    def _security_group(
        self, args: SecretRotationArgs, child: pulumi.ResourceOptions
    ) -> aws.ec2.SecurityGroup:
        sg_name = args.namer.name(naming.SECURITY_GROUP_NAME, "secret-rotation")
        group = aws.ec2.SecurityGroup(
            sg_name,
            name=sg_name,
            description="Secret rotation Lambda: no ingress; out to AWS APIs and the database",
            vpc_id=args.vpc_id,
            tags=args.tags.for_resource(sg_name),
            opts=child,
        )
        in_group = pulumi.ResourceOptions(parent=group)
        https_name = args.namer.name(naming.SECURITY_GROUP_NAME, "secret-rotation", "out", "https")
        tcp_egress(
            https_name,
            group_id=group.id,
            port=HTTPS_PORT,
            to_cidr=ANYWHERE,
            description="Secrets Manager API (through the NAT gateway or an interface endpoint)",
            tags=args.tags,
            opts=in_group,
        )
        if args.database_port is not None:
            database_name = args.namer.name(naming.SECURITY_GROUP_NAME, "secret-rotation", "out", "database")
            tcp_egress(
                database_name,
                group_id=group.id,
                port=args.database_port,
                to_cidr=args.vpc_cidr,
                description="PostgreSQL in the VPC, to change and test the rotated password",
                tags=args.tags,
                opts=in_group,
            )
        return group

    def _role_statements(
        self,
        args: SecretRotationArgs,
        secret_arns: list[pulumi.Output[str]],
        write_own_logs: policies.Statement,
    ) -> list[policies.Statement]:
        return [
            {
                "sid": "RotateThesePlatformSecrets",
                "effect": "Allow",
                "actions": [
                    "secretsmanager:DescribeSecret",
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:UpdateSecretVersionStage",
                ],
                "resources": secret_arns,
            },
            {
                # GetRandomPassword has no resource type (Service Authorization Reference).
                "sid": "GenerateRandomValues",
                "effect": "Allow",
                "actions": ["secretsmanager:GetRandomPassword"],
                "resources": ["*"],
            },
            *notification_statements(args.alarm_topic_arn, args.alarm_topic_key_arn, args.context.region),
            {
                "sid": "UseTheKeyForTheseSecretsOnly",
                "effect": "Allow",
                "actions": ["kms:Decrypt", "kms:GenerateDataKey"],
                "resources": [args.key_arn],
                "conditions": [
                    {
                        "test": "StringEquals",
                        "variable": "kms:EncryptionContext:SecretARN",
                        "values": secret_arns,
                    },
                    {
                        "test": "StringEquals",
                        "variable": "kms:ViaService",
                        "values": [f"secretsmanager.{args.context.region}.amazonaws.com"],
                    },
                ],
            },
            write_own_logs,
            policies.lambda_network_interfaces(
                args.context.partition, args.context.region, args.context.account_id
            ),
        ]
