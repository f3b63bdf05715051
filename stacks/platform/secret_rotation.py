"""The rotation Lambda for the platform's secrets and the schedule that invokes it.

One function rotates every secret: it reads each secret's shape (see `functions/secret_rotation`).
It runs in the private subnets so it can reach a database in the VPC, with its own security group,
an encrypted log group, X-Ray tracing and reserved concurrency.

With the managed database the same function also bootstraps it once: an `aws.lambda_.Invocation`
with `{"Action": "bootstrapDatabase", "SecretId": <connection secret ARN>}` creates the application's
roles with the secret's password, logged in as the RDS-managed master. Every rotation waits for it,
and each for the one before, because Secrets Manager invokes the function (testSecret) as soon as
rotation is attached: run together they would exceed the function's reserved concurrency.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from functions.packaging import FUNCTIONS_DIR, function_archive
from functions.secret_rotation.bootstrap import EXTENSIONS_FIELD
from functions.secret_rotation.postgres import PACKAGED_CA_BUNDLE
from shared import naming, policies
from shared.aws_context import AwsContext
from shared.certs import RDS_CA_BUNDLE
from shared.container_settings import HTTPS_PROXY_ENV, NO_PROXY_ENV, DatabaseTls, no_proxy
from shared.secret_purposes import SecretPurposes
from shared.security_rules import (
    DeclaredEgress,
    EgressProxyRoute,
    https_to_aws_apis,
    tcp_egress,
    tcp_ingress,
    through_egress_proxy,
)
from shared.tags import ServiceTags
from stacks.hardened_lambda import HardenedFunctionArgs, LambdaVpc, hardened_function
from stacks.platform.rotation_strategies import (
    STRATEGIES_VARIABLE,
    TOPIC_VARIABLE,
    notification_statements,
)

FUNCTION_PACKAGE = "secret_rotation"
FUNCTION_DEPENDENCIES = ("pg8000",)  # pure Python; boto3 ships with the Lambda runtime
# The RDS CAs go where postgres.py looks by default: the Lambda runtime's trust store lacks them.
FUNCTION_DATA_FILES = {PACKAGED_CA_BUNDLE.relative_to(FUNCTIONS_DIR).as_posix(): RDS_CA_BUNDLE}
TIMEOUT_SECONDS = 60  # a step is a few API calls and at most two database logins
MEMORY_MB = 256
SECRETS_MANAGER_SERVICE = "secretsmanager.amazonaws.com"
BOOTSTRAP_ACTION = "bootstrapDatabase"
# Invoked on create and on replacement only. Delete is a no-op in this scope, so destroy never calls
# the function once the database is gone (terraform-provider-aws, internal/service/lambda/invocation.go,
# resourceInvocationDelete); refresh reads nothing (ReadWithoutTimeout: schema.NoopContext).
BOOTSTRAP_LIFECYCLE_SCOPE = "CREATE_ONLY"


@dataclass(frozen=True, kw_only=True)
class DatabaseBootstrap:
    """The managed database the function bootstraps and then rotates against.

    Fields:
        master_secret_arn: the RDS-managed master secret, which the function reads (only that one).
        instance: the DB instance; the bootstrap waits for it and runs again when it is replaced.
        instance_resource_id: the instance's DbiResourceId, unique per instance (the re-run trigger).
        secret_version: the connection secret's initial version, which holds the password to set.
        extensions: the extensions the bootstrap creates in the database: ("pgaudit",) with
            `complianceProfile: pci` (its parameter group preloads the library), () otherwise.
    """

    master_secret_arn: pulumi.Input[str]
    instance: pulumi.Resource
    instance_resource_id: pulumi.Input[str]
    secret_version: pulumi.Resource
    extensions: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class SecretRotationArgs:
    """What the rotation function and its schedules are made from. No field has a default.

    Fields:
        namer: names every resource with the stack's suffix.
        tags: the Service tag (and the rest) for each resource.
        context: the account, region and partition; the role's trust, the invoke permission's
            source account and the KMS conditions are built from them.
        key_arn: the platform KMS key: log group, environment variables and the secrets themselves.
        vpc_id: the VPC of the function's security group.
        vpc_cidr: the destination of the database egress rule with an external database.
        private_subnet_ids: the function's network interfaces, one per subnet.
        secrets: purpose -> the secret to rotate; each gets its own rotation schedule.
        key_rotations: ROTATION_STRATEGIES, each API key's strategy (stacks/platform/rotation_strategies.py).
        alarm_topic_arn: the network layer's alarm topic, where `notify` tells operators a key is due.
        alarm_topic_key_arn: the topic's KMS key, which publishing uses.
        schedule: `secretRotationSchedule`, a Secrets Manager ScheduleExpression, e.g. "rate(30 days)".
        log_retention_days: `logRetentionDays` of the function's log group.
        reserved_concurrency: `rotationReservedConcurrency`.
        database_port: `databasePort`, the port of the database egress and ingress rules.
        database_tls: `databaseTls`, "verify-full", "require" or "disable".
        database_security_group_id: the database's group; it admits the function on database_port.
        declared_egress: `complianceProfile: pci`: HTTPS only to the interface endpoints and the S3
            prefix list; None: to AWS's public endpoints through NAT.
        bootstrap: the managed database to bootstrap; None with `database: external`, whose egress
            goes to the VPC CIDR (the external database may not carry the database group).
        egress_proxy: `complianceProfile: pci`: the proxy the function reaches key APIs through
            (HTTPS_PROXY, and 3128 to the proxy's group only). Default None: no proxy.
        direct_hosts: names the function reaches without the proxy besides AWS's (NO_PROXY): the
            Cloud Map namespace. Default none.
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
    database_port: int
    database_tls: DatabaseTls
    database_security_group_id: pulumi.Input[str]
    declared_egress: DeclaredEgress | None
    bootstrap: DatabaseBootstrap | None
    egress_proxy: EgressProxyRoute | None = None
    direct_hosts: tuple[str, ...] = ()


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
        database_rules = self._database_rules(args)
        built = hardened_function(
            HardenedFunctionArgs(
                namer=names,
                tags=args.tags,
                context=args.context,
                purpose="secret-rotation",
                description="Rotates the platform's secrets (Secrets Manager's four-step protocol)",
                code=function_archive(FUNCTION_PACKAGE, FUNCTION_DEPENDENCIES, FUNCTION_DATA_FILES),
                handler=f"{FUNCTION_PACKAGE}.handler.handler",
                timeout_seconds=TIMEOUT_SECONDS,
                memory_mb=MEMORY_MB,
                reserved_concurrency=args.reserved_concurrency,
                log_retention_days=args.log_retention_days,
                key_arn=args.key_arn,
                environment={
                    "DATABASE_TLS": args.database_tls,
                    STRATEGIES_VARIABLE: args.key_rotations,
                    TOPIC_VARIABLE: args.alarm_topic_arn,
                    # Key APIs are called with urllib, which honours both (secret_rotation/key_provider.py).
                    **(
                        {HTTPS_PROXY_ENV: args.egress_proxy.url, NO_PROXY_ENV: no_proxy(args.direct_hosts)}
                        if args.egress_proxy is not None
                        else {}
                    ),
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
        self.bootstrap = self._bootstrap(args, function_name, database_rules)

        self.rotations: dict[str, aws.secretsmanager.SecretRotation] = {}
        # Attaching rotation makes Secrets Manager invoke the function at once (testSecret), and the
        # bootstrap invokes it too: on a first `up` these would all run together against the function's
        # reserved concurrency (rotationReservedConcurrency, at least 1) and the surplus would be
        # throttled. So they run one after another: the bootstrap, then each rotation after the one
        # before it; the database's first, its secret being the one the bootstrap prepared.
        previous: pulumi.Resource | None = self.bootstrap
        for purpose, secret in _database_first(args.secrets).items():
            permission = aws.lambda_.Permission(
                f"{function_name}-invoke-{purpose}",
                function=self.function.name,
                action="lambda:InvokeFunction",
                principal=SECRETS_MANAGER_SERVICE,
                source_arn=secret.arn,  # Secrets Manager may invoke it for this secret only
                source_account=args.context.account_id,
                opts=pulumi.ResourceOptions(parent=self.function),
            )
            waits_for = [permission, *([self.bootstrap] if self.bootstrap is not None else [])]
            if previous is not None and previous not in waits_for:
                waits_for.append(previous)
            rotation = aws.secretsmanager.SecretRotation(
                f"{function_name}-{purpose}",
                secret_id=secret.id,
                rotation_lambda_arn=self.function.arn,
                rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(
                    schedule_expression=args.schedule
                ),
                # The first rotation waits for the schedule; Secrets Manager still runs testSecret now.
                rotate_immediately=False,
                opts=pulumi.ResourceOptions(parent=self, depends_on=waits_for),
            )
            self.rotations[purpose] = rotation
            previous = rotation

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
        https_to_aws_apis(
            args.namer,
            ("secret-rotation", "out", "https"),
            group_id=group.id,
            description="Secrets Manager API (through the NAT gateway or an interface endpoint)",
            tags=args.tags,
            opts=in_group,
            declared=args.declared_egress,
        )
        if args.egress_proxy is not None:
            through_egress_proxy(
                args.namer,
                "secret-rotation",
                group_id=group.id,
                proxy=args.egress_proxy,
                tags=args.tags,
                opts=in_group,
            )
        return group

    def _database_rules(self, args: SecretRotationArgs) -> list[pulumi.Resource]:
        """The function may reach the database port, and the database's group admits it there."""
        in_group = pulumi.ResourceOptions(parent=self.security_group)
        egress_name = args.namer.name(naming.SECURITY_GROUP_NAME, "secret-rotation", "out", "database")
        egress = tcp_egress(
            egress_name,
            group_id=self.security_group.id,
            port=args.database_port,
            to_group=args.database_security_group_id if args.bootstrap is not None else None,
            to_cidr=None if args.bootstrap is not None else args.vpc_cidr,
            description="PostgreSQL, to bootstrap the database and to change and test rotated passwords",
            tags=args.tags,
            opts=in_group,
        )
        ingress_name = args.namer.name(naming.SECURITY_GROUP_NAME, "database", "in", "secret-rotation")
        ingress = tcp_ingress(
            ingress_name,
            group_id=args.database_security_group_id,
            port=args.database_port,
            from_group=self.security_group.id,
            description="The secret rotation function (bootstrap and rotation)",
            tags=args.tags,
            opts=in_group,
        )
        return [egress, ingress]

    def _bootstrap(
        self, args: SecretRotationArgs, function_name: str, database_rules: list[pulumi.Resource]
    ) -> aws.lambda_.Invocation | None:
        """One invocation that creates the application's database roles, after all it needs exists."""
        bootstrap = args.bootstrap
        if bootstrap is None:
            return None
        secret = args.secrets[SecretPurposes.DATABASE_CONNECTION]
        # No Extensions field without extensions: the baseline's input stays what it was. With
        # CREATE_ONLY a changed input replaces the invocation, so the bootstrap runs again when a stack
        # turns pci on (terraform-provider-aws, internal/service/lambda/invocation.go,
        # customizeDiffInputChangeWithCreateOnlyScope).
        extensions = {EXTENSIONS_FIELD: list(bootstrap.extensions)} if bootstrap.extensions else {}
        return aws.lambda_.Invocation(
            f"{function_name}-bootstrap-database",
            function_name=self.function.name,
            input=secret.arn.apply(
                lambda arn: json.dumps(
                    {"Action": BOOTSTRAP_ACTION, "SecretId": arn, **extensions}, sort_keys=True
                )
            ),
            lifecycle_scope=BOOTSTRAP_LIFECYCLE_SCOPE,
            # A replaced instance is empty: bootstrap it again (the bootstrap is idempotent).
            triggers={"databaseInstance": bootstrap.instance_resource_id},
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[
                    bootstrap.instance,
                    bootstrap.secret_version,
                    self.role_policy,
                    *database_rules,
                ],
            ),
        )

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
            *self._master_secret_statements(args),
            write_own_logs,
            policies.lambda_network_interfaces(
                args.context.partition, args.context.region, args.context.account_id
            ),
        ]

    def _master_secret_statements(self, args: SecretRotationArgs) -> list[policies.Statement]:
        """Read-only use of the RDS-managed master secret: the bootstrap and each rotation log in
        with it (Secrets Manager user guide, "Alternating users strategy")."""
        if args.bootstrap is None:
            return []
        master = args.bootstrap.master_secret_arn
        return [
            {
                "sid": "ReadTheDatabaseMasterSecret",
                "effect": "Allow",
                "actions": ["secretsmanager:GetSecretValue"],
                "resources": [master],
            },
            {
                "sid": "DecryptTheDatabaseMasterSecret",
                "effect": "Allow",
                "actions": ["kms:Decrypt"],
                "resources": [args.key_arn],
                "conditions": [
                    {
                        "test": "StringEquals",
                        "variable": "kms:EncryptionContext:SecretARN",
                        "values": [master],
                    },
                    {
                        "test": "StringEquals",
                        "variable": "kms:ViaService",
                        "values": [f"secretsmanager.{args.context.region}.amazonaws.com"],
                    },
                ],
            },
        ]


def _database_first(
    secrets: dict[str, aws.secretsmanager.Secret],
) -> dict[str, aws.secretsmanager.Secret]:
    """The secrets in the order their rotations are attached: the database connection first."""
    first = SecretPurposes.DATABASE_CONNECTION
    return {**({first: secrets[first]} if first in secrets else {}), **secrets}
