"""The three secrets, their initial values, and the rotation function wired to them."""

from __future__ import annotations

import json

import pytest

from offline.secret_values import is_secret, reveal
from shared.contracts import SecretPurposes
from tests.conftest import PLATFORM_ALT_CONFIG
from tests.helpers import actions_of, as_list, resources_of, statements

SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
PERMISSION = "aws:lambda/permission:Permission"
FUNCTION = "aws:lambda/function:Function"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
# Actions AWS offers no resource-level permission for, the only ones allowed on "*".
UNSCOPABLE = {
    "secretsmanager:GetRandomPassword",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}


def secrets_by_purpose(evaluation):
    arns = evaluation.exports["secretArns"]
    return {purpose: evaluation.by_id(arn) for purpose, arn in arns.items()}


def initial_value(evaluation, secret):
    [version] = [v for v in evaluation.all(VERSION) if v.inputs["secretId"] == secret.id]
    return version


def rotation_policy(evaluation):
    return statements(evaluation.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])


@pytest.mark.parametrize(("fixture", "suffix"), [("platform", "dev"), ("platform_alt", "qa-7")])
def test_three_secrets_named_by_purpose_encrypted_with_the_key_and_deleted_at_once(request, fixture, suffix):
    evaluation = request.getfixturevalue(fixture)
    key_arn = evaluation.one("aws:kms/key:Key").state["arn"]
    names = {p: s.inputs["name"] for p, s in secrets_by_purpose(evaluation).items()}
    assert names == {
        SecretPurposes.DATABASE_CONNECTION: f"secret-database-connection-{suffix}",
        SecretPurposes.PAYMENT_PROVIDER_API_KEY: f"secret-payment-provider-api-key-{suffix}",
        SecretPurposes.FRAUD_SCORING_API_KEY: f"secret-fraud-scoring-api-key-{suffix}",
    }
    for secret in evaluation.all(SECRET):
        assert secret.inputs["kmsKeyId"] == key_arn
        assert secret.inputs["recoveryWindowInDays"] == 0


@pytest.mark.parametrize("fixture", ["platform", "platform_alt"])
def test_initial_values_are_secret_and_rotation_owns_them_afterwards(request, fixture):
    evaluation = request.getfixturevalue(fixture)
    for secret in evaluation.all(SECRET):
        version = initial_value(evaluation, secret)
        assert is_secret(version.inputs["secretString"]), secret.name
        assert version.ignore_changes == ("secretString",)


def test_without_credentials_in_config_strong_random_values_are_generated(platform):
    passwords = platform.all("random:index/randomPassword:RandomPassword")
    assert {p.inputs["length"] for p in passwords} == {48, 32}
    assert len(passwords) == 3
    for password in passwords:
        assert password.inputs["special"] is False
    secrets = secrets_by_purpose(platform)
    api_key = reveal(
        initial_value(platform, secrets[SecretPurposes.PAYMENT_PROVIDER_API_KEY]).inputs["secretString"]
    )
    assert len(api_key) == 48


def test_the_managed_database_secret_names_the_instance_its_master_secret_and_a_generated_password(platform):
    secret = secrets_by_purpose(platform)[SecretPurposes.DATABASE_CONNECTION]
    connection = json.loads(reveal(initial_value(platform, secret).inputs["secretString"]))
    instance = platform.one("aws:rds/instance:Instance")
    assert set(connection) == {"engine", "host", "port", "username", "password", "dbname", "masterarn"}
    assert connection["engine"] == "postgres"
    assert connection["host"] == instance.state["address"]
    assert connection["port"] == instance.inputs["port"] == 5432
    assert (connection["username"], connection["dbname"]) == ("payments_app", "payments")
    assert connection["dbname"] == instance.inputs["dbName"]
    # The application's own role, never the master: the master's credentials stay in RDS's secret.
    assert connection["username"] != instance.inputs["username"]
    assert connection["masterarn"] == instance.state["masterUserSecrets"][0]["secretArn"]
    assert len(connection["password"]) == 32


def test_credentials_given_as_secret_config_become_the_initial_values(platform_alt):
    assert platform_alt.all("random:index/randomPassword:RandomPassword") == []
    secrets = secrets_by_purpose(platform_alt)
    value = {p: reveal(initial_value(platform_alt, s).inputs["secretString"]) for p, s in secrets.items()}
    assert value[SecretPurposes.PAYMENT_PROVIDER_API_KEY] == PLATFORM_ALT_CONFIG["paymentProviderApiKey"]
    assert value[SecretPurposes.FRAUD_SCORING_API_KEY] == PLATFORM_ALT_CONFIG["fraudScoringApiKey"]
    connection = json.loads(value[SecretPurposes.DATABASE_CONNECTION])
    assert connection == {
        "engine": "postgres",
        "host": PLATFORM_ALT_CONFIG["databaseHost"],
        "port": 6432,
        "username": "ledger_app",
        "password": PLATFORM_ALT_CONFIG["databasePassword"],
        "dbname": "ledger",
    }  # an external database: no masterarn, rotation stays single-user


def test_the_plan_file_never_holds_a_secret_value(platform_alt):
    from planning.plan import layer_report

    text = json.dumps(layer_report("platform", platform_alt, 0.0))
    for key in ("databasePassword", "paymentProviderApiKey", "fraudScoringApiKey"):
        assert PLATFORM_ALT_CONFIG[key] not in text
    assert "[secret]" in text


@pytest.mark.parametrize(
    ("fixture", "schedule"), [("platform", "rate(30 days)"), ("platform_alt", "rate(7 days)")]
)
def test_every_secret_rotates_in_every_stack_managed_or_external_database(request, fixture, schedule):
    evaluation = request.getfixturevalue(fixture)
    function = evaluation.one(FUNCTION)
    secrets = secrets_by_purpose(evaluation)
    rotations = evaluation.all(ROTATION)
    assert {r.inputs["secretId"] for r in rotations} == {secrets[p].id for p in SecretPurposes.ALL}
    for rotation in rotations:
        assert rotation.inputs["rotationLambdaArn"] == function.state["arn"]
        assert rotation.inputs["rotationRules"] == {"scheduleExpression": schedule}
        assert rotation.inputs["rotateImmediately"] is False


@pytest.mark.parametrize("fixture", ["platform", "platform_alt"])
def test_secrets_manager_may_invoke_the_function_for_each_rotated_secret_only(request, fixture):
    evaluation = request.getfixturevalue(fixture)
    function = evaluation.one(FUNCTION)
    permissions = {p.inputs["sourceArn"]: p for p in evaluation.all(PERMISSION)}
    rotated_arns = {evaluation.by_id(r.inputs["secretId"]).state["arn"] for r in evaluation.all(ROTATION)}
    assert set(permissions) == rotated_arns
    for permission in permissions.values():
        assert permission.inputs["principal"] == "secretsmanager.amazonaws.com"
        assert permission.inputs["action"] == "lambda:InvokeFunction"
        assert permission.inputs["function"] == function.inputs["name"]
        assert permission.inputs["sourceAccount"] == "123456789012"
    for rotation in evaluation.all(ROTATION):
        assert any(p.urn in rotation.dependencies for p in permissions.values())


@pytest.mark.parametrize(
    ("fixture", "concurrency", "retention"), [("platform", 3, 30), ("platform_alt", 4, 90)]
)
def test_the_function_is_traced_reserved_in_private_subnets_with_its_own_group_and_logs(
    request, fixture, concurrency, retention
):
    evaluation = request.getfixturevalue(fixture)
    network = request.getfixturevalue("network" if fixture == "platform" else "network_ha")
    function = evaluation.one(FUNCTION)
    assert function.inputs["tracingConfig"] == {"mode": "Active"}
    assert function.inputs["reservedConcurrentExecutions"] == concurrency
    [rotation_sg] = [
        g for g in evaluation.all("aws:ec2/securityGroup:SecurityGroup") if "secret-rotation" in g.name
    ]
    assert function.inputs["vpcConfig"] == {
        "subnetIds": network.exports["privateSubnetIds"],
        "securityGroupIds": [rotation_sg.id],
    }
    log_group = evaluation.one("aws:cloudwatch/logGroup:LogGroup", f"/aws/lambda/{function.inputs['name']}")
    assert log_group.inputs["retentionInDays"] == retention
    assert log_group.inputs["kmsKeyId"] == evaluation.one("aws:kms/key:Key").state["arn"]
    assert function.inputs["loggingConfig"]["logGroup"] == log_group.inputs["name"]
    assert log_group.urn in function.dependencies
    assert evaluation.one("aws:iam/rolePolicy:RolePolicy").urn in function.dependencies


def test_the_function_handler_is_in_its_archive(platform):
    function = platform.one(FUNCTION)
    assert function.inputs["handler"] == "secret_rotation.handler.handler"
    assert function.inputs["runtime"].startswith("python3.")


def test_the_rotation_sg_has_no_ingress_and_reaches_only_https_and_the_database(
    platform, platform_alt, network_ha
):
    for evaluation in (platform, platform_alt):
        [sg] = [
            g for g in evaluation.all("aws:ec2/securityGroup:SecurityGroup") if "secret-rotation" in g.name
        ]
        [database_sg] = [
            g for g in evaluation.all("aws:ec2/securityGroup:SecurityGroup") if "-database-" in g.name
        ]
        assert not [r for r in evaluation.all(INGRESS) if r.inputs["securityGroupId"] == sg.id]
        egress = {
            (
                r.inputs.get("cidrIpv4") or r.inputs["referencedSecurityGroupId"],
                r.inputs["fromPort"],
                r.inputs["toPort"],
            )
            for r in evaluation.all(EGRESS)
            if r.inputs["securityGroupId"] == sg.id
        }
        # Managed: only to the database's own group. External: the database may not carry that group.
        database = (database_sg.id, 5432) if evaluation is platform else (network_ha.exports["vpcCidr"], 6432)
        assert egress == {("0.0.0.0/0", 443, 443), (database[0], database[1], database[1])}


def test_the_function_role_is_trusted_only_by_lambda_in_this_account(platform):
    role = platform.one("aws:iam/role:Role")
    [trust] = statements(role.inputs["assumeRolePolicy"])
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


@pytest.mark.parametrize("fixture", ["platform", "platform_alt"])
def test_the_role_policy_has_no_wildcard_action_and_star_only_where_aws_requires_it(request, fixture):
    for statement in rotation_policy(request.getfixturevalue(fixture)):
        for action in actions_of(statement):
            assert "*" not in action, action
        if "*" in resources_of(statement):
            assert set(actions_of(statement)) <= UNSCOPABLE, statement["Sid"]


@pytest.mark.parametrize("fixture", ["platform", "platform_alt"])
def test_the_role_may_rotate_only_the_rotated_secrets(request, fixture):
    evaluation = request.getfixturevalue(fixture)
    rotated_arns = {evaluation.by_id(r.inputs["secretId"]).state["arn"] for r in evaluation.all(ROTATION)}
    by_sid = {s["Sid"]: s for s in rotation_policy(evaluation)}
    rotate = by_sid["RotateThesePlatformSecrets"]
    assert set(resources_of(rotate)) == rotated_arns
    assert set(actions_of(rotate)) == {
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
    }
    kms = by_sid["UseTheKeyForTheseSecretsOnly"]
    assert resources_of(kms) == [evaluation.one("aws:kms/key:Key").state["arn"]]
    condition = kms["Condition"]["StringEquals"]
    assert set(as_list(condition["kms:EncryptionContext:SecretARN"])) == rotated_arns
    assert condition["kms:ViaService"] == "secretsmanager.us-east-1.amazonaws.com"


def test_the_role_writes_only_its_own_log_group(platform):
    by_sid = {s["Sid"]: s for s in rotation_policy(platform)}
    logs = by_sid["WriteItsOwnLogs"]
    assert resources_of(logs) == [
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/lambda-secret-rotation-dev:log-stream:*"
    ]


def waits_for(evaluation, resource) -> set[str]:
    """Every URN `resource` waits for, directly or through what it waits for."""
    seen: set[str] = set()
    pending = list(resource.dependencies)
    while pending:
        urn = pending.pop()
        if urn not in seen:
            seen.add(urn)
            pending.extend(evaluation.by_urn(urn).dependencies)
    return seen


@pytest.mark.parametrize("fixture", ["platform", "platform_alt"])
def test_no_two_invocations_of_a_first_up_can_run_together(request, fixture):
    """The bootstrap and every attached rotation (Secrets Manager runs testSecret at once) invoke the
    function; they form one chain, so a first `up` never needs more than one concurrent execution."""
    evaluation = request.getfixturevalue(fixture)
    invoking = [*evaluation.all("aws:lambda/invocation:Invocation"), *evaluation.all(ROTATION)]
    assert len(evaluation.all(ROTATION)) == 3
    for first in invoking:
        for second in invoking:
            if first is not second:
                assert first.urn in waits_for(evaluation, second) or second.urn in waits_for(
                    evaluation, first
                ), f"{first.name} and {second.name} may invoke the function at the same time"
