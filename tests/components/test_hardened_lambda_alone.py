"""The hardened Lambda builder alone under mocks, in and out of a VPC, checked against botocore's
Lambda model (CreateFunction)."""

from __future__ import annotations

import json

import pulumi
import pytest

from offline.engine import Evaluation
from shared.aws_context import AwsContext
from shared.naming import Namer
from shared.tags import ServiceTags
from stacks.hardened_lambda import HardenedFunctionArgs, LambdaVpc, hardened_function
from tests.components.test_components_alone import KEY_ARN, build, valid_request, whole

SUBNETS = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]


class _Holder(pulumi.ComponentResource):
    def __init__(self, vpc: LambdaVpc | None) -> None:
        super().__init__("test:Holder", "holder")
        hardened_function(
            HardenedFunctionArgs(
                namer=Namer("dev"),
                tags=ServiceTags("services"),
                context=AwsContext("123456789012", "us-east-1", "aws"),
                purpose="probe",
                description="A probe",
                code=pulumi.AssetArchive({"probe.py": pulumi.StringAsset("def handler(e, c): return 1\n")}),
                handler="probe.handler",
                timeout_seconds=30,
                memory_mb=256,
                reserved_concurrency=2,
                log_retention_days=30,
                key_arn=KEY_ARN,
                environment={"MODE": "test"},
                role_statements=lambda own_logs: [own_logs],
                vpc=vpc,
            ),
            parent=self,
        )


@pytest.fixture(scope="module")
def outside() -> Evaluation:
    return build(lambda: _Holder(None))


@pytest.fixture(scope="module")
def inside() -> Evaluation:
    return build(lambda: _Holder(LambdaVpc(subnet_ids=SUBNETS, security_group_ids=["sg-0probe"])))


def test_a_function_sends_a_create_function_request_lambda_accepts(inside):
    function = inside.one("aws:lambda/function:Function").inputs
    request = {
        "FunctionName": function["name"],
        "Runtime": function["runtime"],
        "Role": function["role"],
        "Handler": function["handler"],
        "Code": {"ZipFile": b"zip"},
        "Description": function["description"],
        "Timeout": whole(function["timeout"]),
        "MemorySize": whole(function["memorySize"]),
        "VpcConfig": {
            "SubnetIds": function["vpcConfig"]["subnetIds"],
            "SecurityGroupIds": function["vpcConfig"]["securityGroupIds"],
        },
        "Environment": {"Variables": function["environment"]["variables"]},
        "KMSKeyArn": function["kmsKeyArn"],
        "TracingConfig": {"Mode": function["tracingConfig"]["mode"]},
        "Architectures": function["architectures"],
        "LoggingConfig": {
            "LogFormat": function["loggingConfig"]["logFormat"],
            "LogGroup": function["loggingConfig"]["logGroup"],
        },
        "Tags": function["tags"],
    }
    assert valid_request("lambda", "CreateFunction", request) == ""
    assert request["KMSKeyArn"] == KEY_ARN
    assert request["TracingConfig"] == {"Mode": "Active"}
    assert request["VpcConfig"]["SubnetIds"] == SUBNETS


def test_a_function_logs_to_its_own_encrypted_retained_group_created_before_it(outside):
    group = outside.one("aws:cloudwatch/logGroup:LogGroup")
    function = outside.one("aws:lambda/function:Function")
    assert group.inputs["kmsKeyId"] == KEY_ARN
    assert group.inputs["retentionInDays"] == 30
    assert function.inputs["loggingConfig"]["logGroup"] == group.inputs["name"]
    policy = outside.one("aws:iam/rolePolicy:RolePolicy")
    assert {group.urn, policy.urn} <= set(function.dependencies)
    assert function.inputs["reservedConcurrentExecutions"] == 2


def test_a_function_outside_the_vpc_gets_no_network_and_no_ec2_describe(outside):
    function = outside.one("aws:lambda/function:Function").inputs
    assert "vpcConfig" not in function
    statements = json.loads(outside.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])["Statement"]
    assert [s["Sid"] for s in statements] == ["WriteItsOwnLogs", "Trace"]
    assert not any(a.startswith("ec2:") for s in statements for a in s["Action"])


def test_a_function_in_the_vpc_may_describe_its_network(inside):
    statements = json.loads(inside.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])["Statement"]
    assert statements[-1]["Sid"] == "DescribeNetworkAndTrace"


def test_a_function_s_role_is_trusted_by_lambda_in_this_account_only(outside):
    trust = json.loads(outside.one("aws:iam/role:Role").inputs["assumeRolePolicy"])
    [statement] = trust["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert json.dumps(statement["Condition"]).count("123456789012") == 1
