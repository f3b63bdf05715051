"""Least privilege both ways for the run-time roles (task, execution, release hooks, rotation, CodeDeploy,
flow logs): every call each role makes at run time (deploy/iam/runtime_calls.toml, from our code and the
AWS guides) is allowed by its policies under the permissions boundary every role carries
(deploy/iam/role-boundary.json), and every Allow of its own policies, and of the boundary, is needed by
one of them."""

from __future__ import annotations

import copy

import pytest

from deploy.provider_calls import PlanIndex
from deploy.runtime_calls import (
    MissingRoleError,
    load_boundary,
    load_roles,
    managed_documents,
    role_calls,
    role_documents,
    roles,
    row_for_role,
    unused_grants,
)
from policy.iam_eval import Request, decide
from policy.iam_reference import expand, lookup

STACKS = {
    "example": ("network", "platform", "services"),
    "alternative": ("network_ha", "platform_alt", "services_alt"),
    "pci": ("network_pci", "platform_pci", "services_pci"),
}


# The pci profile adds five roles: Firehose's delivery role, CloudWatch Logs' role into the stream, AWS
# Backup's, and the egress proxy's execution and task roles (stacks/platform/audit_archive.py,
# database_backup.py, egress_proxy.py).
ROLE_COUNTS = {"example": 11, "alternative": 11, "pci": 16}


@pytest.fixture(scope="module", params=sorted(STACKS))
def plan(request):
    return PlanIndex([request.getfixturevalue(name) for name in STACKS[request.param]])


def role_view(plan, role):
    rows = load_roles()
    calls = role_calls(role, plan, rows)
    own = role_documents(role, plan)
    managed = managed_documents(role, plan, row_for_role(role.name, rows))
    return calls, own, managed


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_every_role_of_the_layers_has_a_row_and_the_purposes_are_all_covered(stack, request):
    plan = PlanIndex([request.getfixturevalue(name) for name in STACKS[stack]])
    names = [role.name for role in roles(plan)]
    assert len(names) == ROLE_COUNTS[stack]
    used = {row_for_role(name, load_roles()).pattern for name in names}
    pci_only = {
        "role-audit-delivery-*",
        "role-logs-to-firehose-*",
        "role-backup-*",
        "role-egress-proxy-execution-*",
        "role-egress-proxy-task-*",
    }
    expected = {row.pattern for row in load_roles()}
    assert used == (expected if stack == "pci" else expected - pci_only)


def test_every_run_time_call_is_allowed_under_the_boundary(plan):
    boundary = load_boundary()
    denied = []
    for role in roles(plan):
        calls, own, managed = role_view(plan, role)
        for call in calls:
            decision = decide(own + managed, call.request, boundary=boundary)
            if decision != "allowed":
                denied.append(f"{call.describe()} is {decision}")
    assert denied == []


def test_the_boundary_is_the_union_of_the_run_time_calls_and_nothing_more(network, platform, services,
                                                                         network_ha, platform_alt,
                                                                         services_alt, network_pci,
                                                                         platform_pci,
                                                                         services_pci):  # fmt: skip
    calls = []
    for stacks in (
        (network, platform, services),
        (network_ha, platform_alt, services_alt),
        (network_pci, platform_pci, services_pci),
    ):
        every = PlanIndex(stacks)
        calls += [c for role in roles(every) for c in role_calls(role, every, load_roles())]
    assert unused_grants([load_boundary()], calls) == []


def test_the_boundary_grants_no_permissions_management_but_passing_task_roles_to_ecs():
    """The SAR's access level "Permissions management" is what changes who may do what (IAM policies,
    key and bucket policies, grants): under the boundary no role can grant itself more."""
    granted = set()
    for statement in load_boundary()["Statement"]:
        for pattern in [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]:
            granted.update(a.qualified for a in expand(pattern) if a.access_level == "Permissions management")
    assert granted == {"iam:PassRole"}
    task_role = "arn:aws:iam::123456789012:role/role-api-gateway-task-dev"
    for service in ("lambda.amazonaws.com", "codedeploy.amazonaws.com", "ec2.amazonaws.com"):
        passed = Request("iam:PassRole", task_role, {"iam:PassedToService": service})
        assert decide([load_boundary()], passed) == "implicitly denied", service
    rotation_role = "arn:aws:iam::123456789012:role/role-secret-rotation-dev"
    assert decide([load_boundary()], Request("iam:PassRole", rotation_role,
                                             {"iam:PassedToService": "ecs-tasks.amazonaws.com"})) == (
        "implicitly denied"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("iam:PutRolePolicy", "arn:aws:iam::123456789012:role/role-secret-rotation-dev"),
        ("iam:AttachRolePolicy", "arn:aws:iam::123456789012:role/role-secret-rotation-dev"),
        ("iam:CreateRole", "arn:aws:iam::123456789012:role/role-x"),
        ("sts:AssumeRole", "arn:aws:iam::123456789012:role/role-codedeploy-dev"),
        ("lambda:UpdateFunctionCode", "arn:aws:lambda:us-east-1:123456789012:function:lambda-scan-gate-dev"),
        ("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:123456789012:function:lambda-secret-rotation-x"),
        ("kms:PutKeyPolicy", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        ("s3:PutBucketPolicy", "arn:aws:s3:::s3-alb-logs-123456789012-us-east-1-dev"),
        ("secretsmanager:PutResourcePolicy", "arn:aws:secretsmanager:us-east-1:123456789012:secret:secret-x"),
    ],
)
def test_an_administrators_inline_policy_gets_nothing_escalating_under_the_boundary(action, resource):
    assert lookup(action) is not None, action
    admin = [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}]
    context = {"aws:RequestedRegion": "us-east-1"}
    assert decide(admin, Request(action, resource, context), boundary=load_boundary()) == "implicitly denied"


def test_nothing_beyond_the_run_time_calls_is_allowed(plan):
    unused = {
        role.name: unused_grants(role_view(plan, role)[1], role_view(plan, role)[0]) for role in roles(plan)
    }
    assert {name: grants for name, grants in unused.items() if grants} == {}


def test_codedeploy_may_invoke_the_release_hooks_and_no_other_function(services):
    plan = PlanIndex([services])
    [role] = [r for r in roles(plan) if r.name.startswith("role-codedeploy-")]
    calls, own, managed = role_view(plan, role)
    invoked = {c.request.resource for c in calls if c.request.action == "lambda:InvokeFunction"}
    assert {arn.rsplit(":", 1)[-1] for arn in invoked} == {"lambda-scan-gate-dev", "lambda-smoke-test-dev"}
    rotation = "arn:aws:lambda:us-east-1:123456789012:function:lambda-secret-rotation-dev"
    assert decide(own + managed, Request("lambda:InvokeFunction", rotation)) == "explicitly denied"


# --- the checks catch what they are for ---------------------------------------------------------------


def test_an_extra_grant_is_reported_with_its_statement_action_and_resource(services):
    plan = PlanIndex([services])
    [role] = [r for r in roles(plan) if r.name == "role-api-gateway-execution-dev"]
    calls, own, _ = role_view(plan, role)
    wider = copy.deepcopy(own)
    wider[0]["Statement"].append(
        {"Sid": "Extra", "Effect": "Allow", "Action": "secretsmanager:DescribeSecret",
         "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:secret-*"}
    )  # fmt: skip
    secrets = "arn:aws:secretsmanager:us-east-1:123456789012:secret:secret-*"
    assert unused_grants(wider, calls) == [f"Extra: secretsmanager:DescribeSecret on {secrets}"]


def test_a_missing_grant_denies_the_call_that_needs_it(platform):
    plan = PlanIndex([platform])
    [role] = [r for r in roles(plan) if r.name == "role-secret-rotation-dev"]
    calls, own, managed = role_view(plan, role)
    narrowed = copy.deepcopy(own)
    for statement in narrowed[0]["Statement"]:
        if statement.get("Sid") == "RotateThesePlatformSecrets":
            statement["Action"] = [
                a for a in statement["Action"] if a != "secretsmanager:UpdateSecretVersionStage"
            ]
    denied = {c.request.action for c in calls if decide(narrowed + managed, c.request) != "allowed"}
    assert denied == {"secretsmanager:UpdateSecretVersionStage"}


def test_a_role_without_a_row_fails_naming_the_role():
    with pytest.raises(
        MissingRoleError, match=r"role role-exporter-dev matches no row of deploy/iam/runtime_calls\.toml"
    ):
        row_for_role("role-exporter-dev", load_roles())
