"""The release hook Lambdas the services layer deploys: functions, roles, network, and who may invoke them."""

from __future__ import annotations

import json

import pytest

from functions.release_hooks.scan_gate import SEVERITIES
from shared.catalogue import CATALOGUE, by_name
from shared.config.keys import SCAN_SEVERITIES
from tests.helpers import actions_of, as_list, resources_of, statements
from tests.services.conftest import STACKS

FUNCTION = "aws:lambda/function:Function"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
GROUP = "aws:ec2/securityGroup:SecurityGroup"
ACCOUNT = "123456789012"
STACK_SETTINGS = {
    # fixture: (suffix, reserved concurrency, log retention, threshold, scan wait, smoke timeout)
    "services": ("dev", 2, 30, "HIGH", 300, 5),
    "services_alt": ("qa-7", 1, 90, "CRITICAL", 120, 3),
}


def _suffix(evaluation):
    """The stack's environment suffix, read back from a name it created."""
    return evaluation.exports["serviceNames"]["api-gateway"].removeprefix("ecs-service-api-gateway-")


def function(evaluation, purpose):
    return evaluation.one(FUNCTION, f"lambda-{purpose}-{_suffix(evaluation)}")


def policy_of(evaluation, purpose):
    document = evaluation.one(ROLE_POLICY, f"policy-{purpose}-{_suffix(evaluation)}").inputs["policy"]
    return {s["Sid"]: s for s in statements(document)}


def group_arns(evaluation):
    app = evaluation.exports["codeDeployApplication"]
    return sorted(
        f"arn:aws:codedeploy:us-east-1:{ACCOUNT}:deploymentgroup:{app}/{group}"
        for group in evaluation.exports["deploymentGroups"].values()
    )


@pytest.mark.parametrize(("fixture", "suffix"), STACKS)
@pytest.mark.parametrize("purpose", ["scan-gate", "smoke-test"])
def test_each_hook_is_traced_reserved_and_logs_to_its_own_encrypted_group(request, fixture, suffix, purpose):
    evaluation = request.getfixturevalue(fixture)
    _, concurrency, retention, *_ = STACK_SETTINGS[fixture]
    hook = function(evaluation, purpose)
    assert hook.inputs["name"] == f"lambda-{purpose}-{suffix}"
    assert hook.inputs["tracingConfig"] == {"mode": "Active"}
    assert hook.inputs["reservedConcurrentExecutions"] == concurrency
    assert hook.inputs["architectures"] == ["arm64"]
    log_group = evaluation.one(LOG_GROUP, f"/aws/lambda/lambda-{purpose}-{suffix}")
    assert log_group.inputs["retentionInDays"] == retention
    platform = request.getfixturevalue("platform" if fixture == "services" else "platform_alt")
    assert log_group.inputs["kmsKeyId"] == platform.exports["kmsKeyArn"]
    assert hook.inputs["loggingConfig"] == {"logFormat": "JSON", "logGroup": log_group.inputs["name"]}
    assert log_group.urn in hook.dependencies


@pytest.mark.parametrize(("purpose", "module"), [("scan-gate", "scan_gate"), ("smoke-test", "smoke_test")])
def test_the_handler_is_in_the_archive_the_function_ships(services, purpose, module):
    hook = function(services, purpose)
    assert hook.inputs["handler"] == f"release_hooks.{module}.handler"
    archive = hook.inputs["code"]
    assert {"release_hooks/lifecycle.py", f"release_hooks/{module}.py"} <= set(archive.assets)


@pytest.mark.parametrize("fixture", ["services", "services_alt"])
def test_the_gate_gets_its_threshold_and_a_timeout_beyond_its_wait(request, fixture):
    evaluation = request.getfixturevalue(fixture)
    _, _, _, threshold, wait, smoke_timeout = STACK_SETTINGS[fixture]
    gate = function(evaluation, "scan-gate")
    assert gate.inputs["environment"]["variables"] == {
        "SEVERITY_THRESHOLD": threshold,
        "SCAN_WAIT_SECONDS": str(wait),
        "SCAN_POLL_SECONDS": "10",
    }
    assert gate.inputs["timeout"] == wait + 60
    smoke = function(evaluation, "smoke-test")
    # Both hooks run in the private subnets behind the one hooks security group (443 out via NAT).
    assert gate.inputs["vpcConfig"] == smoke.inputs["vpcConfig"]
    # Their environment is encrypted with the platform key, not the AWS managed Lambda key.
    platform = request.getfixturevalue("platform" if fixture == "services" else "platform_alt")
    assert gate.inputs["kmsKeyArn"] == smoke.inputs["kmsKeyArn"] == platform.exports["kmsKeyArn"]
    assert smoke.inputs["environment"]["variables"]["REQUEST_TIMEOUT_SECONDS"] == str(smoke_timeout)
    assert smoke.inputs["timeout"] == 2 * smoke_timeout + 20


@pytest.mark.parametrize(("fixture", "scheme"), [("services", "http"), ("services_alt", "https")])
def test_the_smoke_test_knows_each_groups_test_listener_and_smoke_request(request, fixture, scheme):
    evaluation = request.getfixturevalue(fixture)
    platform = request.getfixturevalue("platform" if fixture == "services" else "platform_alt")
    smoke = function(evaluation, "smoke-test")
    endpoints = json.loads(smoke.inputs["environment"]["variables"]["TEST_ENDPOINTS"])
    groups = evaluation.exports["deploymentGroups"]
    assert set(endpoints) == set(groups.values())
    for spec in CATALOGUE:
        entry = endpoints[groups[spec.name]]
        if spec.internal:
            expected = f"http://{platform.exports['internalAlbDnsName']}:{spec.test_port}"
        else:
            expected = f"{scheme}://{platform.exports['publicAlbDnsName']}:{spec.test_port}"
        assert entry == by_name(spec.name).smoke_endpoint(
            expected, verify_hostname=expected.startswith("http:")
        )


@pytest.mark.parametrize("fixture", ["services", "services_alt"])
def test_the_smoke_test_runs_in_the_private_subnets_with_its_own_group(request, fixture):
    evaluation = request.getfixturevalue(fixture)
    network = request.getfixturevalue("network" if fixture == "services" else "network_ha")
    smoke = function(evaluation, "smoke-test")
    group = evaluation.one(GROUP, f"security-group-smoke-test-{_suffix(evaluation)}")
    assert smoke.inputs["vpcConfig"] == {
        "subnetIds": network.exports["privateSubnetIds"],
        "securityGroupIds": [group.id],
    }
    assert not [r for r in evaluation.all(INGRESS) if r.inputs["securityGroupId"] == group.id]


@pytest.mark.parametrize("fixture", ["services", "services_alt"])
def test_only_the_smoke_test_reaches_the_test_listeners(request, fixture):
    evaluation = request.getfixturevalue(fixture)
    platform = request.getfixturevalue("platform" if fixture == "services" else "platform_alt")
    network = request.getfixturevalue("network" if fixture == "services" else "network_ha")
    smoke_group = evaluation.one(GROUP, f"security-group-smoke-test-{_suffix(evaluation)}").id
    test_ports = {spec.test_port for spec in CATALOGUE}
    internal_sg = platform.exports["internalAlbSecurityGroupId"]
    public_sg = platform.exports["publicAlbSecurityGroupId"]
    to_test_ports = [r for r in evaluation.all(INGRESS) if r.inputs["fromPort"] in test_ports]
    internal = {
        (r.inputs["fromPort"], r.inputs["referencedSecurityGroupId"])
        for r in to_test_ports
        if r.inputs["securityGroupId"] == internal_sg
    }
    assert internal == {(9081, smoke_group), (9082, smoke_group)}
    [public] = [r for r in to_test_ports if r.inputs["securityGroupId"] == public_sg]
    assert public.inputs["fromPort"] == public.inputs["toPort"] == by_name("api-gateway").test_port
    prefix_list = evaluation.by_id(public.inputs["prefixListId"])
    assert [e["cidr"] for e in prefix_list.inputs["entries"]] == [
        f"{ip}/32" for ip in network.exports["natPublicIps"]
    ]
    assert len(network.exports["natPublicIps"]) == (1 if fixture == "services" else 3)
    assert prefix_list.inputs["maxEntries"] >= len(network.exports["natPublicIps"])


def test_the_smoke_test_egress_is_the_test_listeners_and_https(services, platform):
    group = services.one(GROUP, "security-group-smoke-test-dev").id
    egress = {
        (r.inputs["fromPort"], r.inputs.get("referencedSecurityGroupId") or r.inputs.get("cidrIpv4"))
        for r in services.all(EGRESS)
        if r.inputs["securityGroupId"] == group
    }
    internal = platform.exports["internalAlbSecurityGroupId"]
    assert egress == {(443, "0.0.0.0/0"), (8080, "0.0.0.0/0"), (9081, internal), (9082, internal)}


@pytest.mark.parametrize("fixture", ["services", "services_alt"])
def test_the_gate_role_reads_only_these_groups_repositories_and_its_logs(request, fixture):
    evaluation = request.getfixturevalue(fixture)
    suffix = _suffix(evaluation)
    policy = policy_of(evaluation, "scan-gate")
    assert set(policy) == {
        "ReadDeploymentsOfTheseGroups",
        "ReportTheHookVerdict",
        "ReadTheReleasedTaskDefinition",
        "ReadScansOfTheseRepositories",
        "WriteItsOwnLogs",
        "DescribeNetworkAndTrace",
        "ManageItsNetworkInterfaces",
    }
    assert sorted(resources_of(policy["ReadDeploymentsOfTheseGroups"])) == group_arns(evaluation)
    repositories = sorted(r.state["arn"] for r in evaluation.all("aws:ecr/repository:Repository"))
    assert sorted(resources_of(policy["ReadScansOfTheseRepositories"])) == repositories
    assert sorted(actions_of(policy["ReadScansOfTheseRepositories"])) == [
        "ecr:BatchGetImage",  # an image index, to find the platform image ECR scanned
        "ecr:DescribeImageScanFindings",
        "ecr:DescribeImages",
    ]
    log_group = evaluation.one(LOG_GROUP, f"/aws/lambda/lambda-scan-gate-{suffix}")
    assert resources_of(policy["WriteItsOwnLogs"]) == [f"{log_group.state['arn']}:log-stream:*"]
    star = {a for s in policy.values() if resources_of(s) == ["*"] for a in actions_of(s)}
    assert star == {
        "codedeploy:PutLifecycleEventHookExecutionStatus",
        "ecs:DescribeTaskDefinition",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        # In the VPC: Lambda describes its subnets and interfaces (no resource-level permissions).
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
    }


def test_the_smoke_test_role_adds_only_its_network_interfaces(services):
    policy = policy_of(services, "smoke-test")
    assert set(policy) == {
        "ReadDeploymentsOfTheseGroups",
        "ReportTheHookVerdict",
        "ManageItsNetworkInterfaces",
        "WriteItsOwnLogs",
        "DescribeNetworkAndTrace",
    }
    assert not any(a.startswith(("ecr:", "ecs:")) for s in policy.values() for a in actions_of(s))


@pytest.mark.parametrize("purpose", ["scan-gate", "smoke-test"])
def test_each_role_is_trusted_only_by_lambda_in_this_account(services, purpose):
    role = services.one(ROLE, f"role-{purpose}-dev")
    [trust] = statements(role.inputs["assumeRolePolicy"])
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    assert function(services, purpose).inputs["role"] == role.state["arn"]


def test_codedeploy_may_invoke_the_two_hooks_and_nothing_else(services):
    hooks = services.exports["releaseHooks"]
    assert set(hooks) == {"BeforeInstall", "AfterAllowTestTraffic"}
    assert hooks["BeforeInstall"] == function(services, "scan-gate").state["arn"]
    assert hooks["AfterAllowTestTraffic"] == function(services, "smoke-test").state["arn"]
    deny = services.one(ROLE_POLICY, "policy-codedeploy-hooks-only-dev")
    assert deny.inputs["role"] == services.one(ROLE, "role-codedeploy-dev").state["name"]
    [statement] = statements(deny.inputs["policy"])
    assert statement["Effect"] == "Deny"
    assert statement["Action"] == "lambda:InvokeFunction"
    assert sorted(as_list(statement["NotResource"])) == sorted(
        [*hooks.values(), *(f"{arn}:*" for arn in hooks.values())]
    )
    # No resource policy: nobody else is granted invoke on the functions.
    assert services.all("aws:lambda/permission:Permission") == []


def test_the_gates_severities_are_the_configs():
    assert SEVERITIES == SCAN_SEVERITIES


@pytest.mark.parametrize("fixture", ["services", "services_alt"])
def test_the_smoke_test_environment_fits_lambdas_4_kb_limit(request, fixture):
    # Lambda refuses environment variables above 4 KB in total (keys and values).
    variables = function(request.getfixturevalue(fixture), "smoke-test").inputs["environment"]["variables"]
    assert sum(len(k) + len(v) for k, v in variables.items()) < 4096
