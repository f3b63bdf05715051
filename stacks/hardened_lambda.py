"""The one way this project makes a Lambda function, used by both layers' functions (secret rotation in
the platform layer, the release hooks in the services layer).

Each function gets its own KMS-encrypted log group with a retention (created first, else Lambda
creates an unencrypted one without retention), its own role trusted by Lambda in this account only,
X-Ray tracing, reserved concurrency, its environment encrypted with the platform key, and, when asked,
network interfaces in the VPC (created only after the role may create them).

The resources are children of the caller's component rather than of a component of their own, so the
functions keep the URNs they have always had: a new parent would change every URN, and Pulumi would
replace the functions, roles and log groups.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared import naming, policies
from shared.aws_context import AwsContext
from shared.log_groups import encrypted_log_group
from shared.role_boundary import role_boundary_arn
from shared.tags import ServiceTags

LAMBDA_SERVICE = "lambda.amazonaws.com"
RUNTIME = "python3.12"
ARCHITECTURE = "arm64"


@dataclass(frozen=True, kw_only=True)
class LambdaVpc:
    """Where a function in the VPC places its network interfaces. No field has a default.

    Fields:
        subnet_ids: the private subnets, one interface per subnet.
        security_group_ids: the function's security groups.
    """

    subnet_ids: pulumi.Input[list[str]]
    security_group_ids: Sequence[pulumi.Input[str]]


@dataclass(frozen=True, kw_only=True)
class HardenedFunctionArgs:
    """What one hardened function is made from.

    Fields:
        namer: names the function, its log group, role and role policy with the stack's suffix.
        tags: the Service tag (and the rest) for each resource.
        context: the account the role's trust is confined to (aws:SourceAccount).
        purpose: the name part: `lambda-<purpose>`, `/aws/lambda/lambda-<purpose>`, `role-<purpose>`, ...
        description: the function's description.
        code: the deployment package (`functions.packaging.function_archive`).
        handler: the handler, `<module path>.<function>`.
        timeout_seconds: the function's timeout.
        memory_mb: the function's memory.
        reserved_concurrency: its reserved concurrent executions.
        log_retention_days: the log group's retention.
        key_arn: the platform KMS key: log group and environment variables.
        environment: the environment variables.
        role_statements: the role's statements, given the one that lets the function write its own
            log group (the caller places it); X-Ray's writes, and in a VPC the EC2 Describe calls,
            are appended.
        vpc: the function's network interfaces. Default None: the function runs outside the VPC.
        runtime: default "python3.12".
        architecture: default "arm64".
    """

    namer: naming.Namer
    tags: ServiceTags
    context: AwsContext
    purpose: str
    description: str
    code: pulumi.Archive
    handler: str
    timeout_seconds: int
    memory_mb: int
    reserved_concurrency: int
    log_retention_days: int
    key_arn: pulumi.Input[str]
    environment: Mapping[str, pulumi.Input[str]]
    role_statements: Callable[[policies.Statement], list[policies.Statement]]
    vpc: LambdaVpc | None = None
    runtime: str = RUNTIME
    architecture: str = ARCHITECTURE


@dataclass(frozen=True)
class HardenedFunction:
    """The function and what it was built with."""

    function: aws.lambda_.Function
    role: aws.iam.Role
    role_policy: aws.iam.RolePolicy
    log_group: aws.cloudwatch.LogGroup


def hardened_function(args: HardenedFunctionArgs, *, parent: pulumi.Resource) -> HardenedFunction:
    """Build one function under `parent` (the caller's component)."""
    names, tags = args.namer, args.tags
    child = pulumi.ResourceOptions(parent=parent)
    invoke = pulumi.InvokeOutputOptions(parent=parent)
    function_name = names.name(naming.LAMBDA, args.purpose)
    log_group = encrypted_log_group(
        names.name(naming.LAMBDA_LOG_GROUP, args.purpose),
        retention_days=args.log_retention_days,
        key_arn=args.key_arn,
        tags=tags,
        opts=child,
    )
    role_name = names.name(naming.ROLE, args.purpose)
    # aws:SourceAccount only: AWS documents no aws:SourceArn for Lambda assuming its execution role,
    # and a condition Lambda does not send fails CreateFunction ("cannot be assumed by Lambda").
    role = aws.iam.Role(
        role_name,
        name=role_name,
        assume_role_policy=aws.iam.get_policy_document_output(
            statements=[policies.service_trust(LAMBDA_SERVICE, args.context.account_id)], opts=invoke
        ).json,
        description=f"Runs {function_name}",
        permissions_boundary=role_boundary_arn(args.context),
        tags=tags.for_resource(role_name),
        opts=child,
    )
    document = aws.iam.get_policy_document_output(
        statements=[
            *args.role_statements(policies.write_own_logs(log_group.arn)),
            policies.lambda_describe_and_trace(in_vpc=args.vpc is not None),
        ],
        opts=invoke,
    )
    role_policy = aws.iam.RolePolicy(
        names.name(naming.POLICY, args.purpose),
        role=role.id,
        policy=document.json,
        opts=pulumi.ResourceOptions(parent=role),
    )
    vpc_config = None
    if args.vpc is not None:
        vpc_config = aws.lambda_.FunctionVpcConfigArgs(
            subnet_ids=args.vpc.subnet_ids, security_group_ids=list(args.vpc.security_group_ids)
        )
    function = aws.lambda_.Function(
        function_name,
        name=function_name,
        description=args.description,
        role=role.arn,
        runtime=args.runtime,
        architectures=[args.architecture],
        handler=args.handler,
        code=args.code,
        timeout=args.timeout_seconds,
        memory_size=args.memory_mb,
        reserved_concurrent_executions=args.reserved_concurrency,
        tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=log_group.name),
        vpc_config=vpc_config,
        environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(args.environment)),
        kms_key_arn=args.key_arn,  # environment encrypted at rest with the platform key
        tags=tags.for_resource(function_name),
        # Its own log group must exist first (else Lambda creates an unencrypted one), and the role
        # must be able to create network interfaces before the function is placed in the VPC.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[log_group, role_policy]),
    )
    return HardenedFunction(function=function, role=role, role_policy=role_policy, log_group=log_group)
