"""The deployer cannot make itself an administrator: for each known IAM privilege-escalation path (Rhino
Security Labs, "AWS IAM Privilege Escalation - Methods and Mitigation",
https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/; IAM user guide,
"Permissions boundaries for IAM entities", delegating responsibility to others,
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html), the step that
escalates is denied by deploy/iam/, evaluated with the request context AWS sends
(`iam:PermissionsBoundary`, `iam:PolicyARN`, `iam:PassedToService`, `kms:BypassPolicyLockoutSafetyCheck`,
`aws:PrincipalAccount`).

Each path also names what the documents before the boundary (kept in deployer_iam_before_the_boundary/)
decided: "allowed" where the path was open, "implicitly denied" where only the absence of an Allow stood in
the way, which any broader policy attached to the deployer would lift. The new documents deny those
explicitly."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.provider_calls import PlanIndex, load_table, planned_calls
from deploy.runtime_calls import load_boundary
from offline.layer_projects import REPO_ROOT
from policy.iam_eval import Decision, Request, decide

ACCOUNT = "123456789012"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/payments-role-boundary"
ADMINISTRATOR = "arn:aws:iam::aws:policy/AdministratorAccess"
CODEDEPLOY_MANAGED = "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS"
# The role writes the deployer may make only with iam:PermissionsBoundary = the boundary (besides the
# attachments, which also need iam:PolicyARN = the CodeDeploy managed policy).
BOUNDARY_CONDITIONED = ("iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
                        "iam:UpdateAssumeRolePolicy", "iam:PutRolePermissionsBoundary")  # fmt: skip
ROTATION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:lambda-secret-rotation-dev"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
NOW = [json.loads(p.read_text()) for p in sorted((REPO_ROOT / "deploy" / "iam").glob("deployer-*.json"))]
BEFORE = [
    json.loads(p.read_text())
    for p in sorted((Path(__file__).parent / "deployer_iam_before_the_boundary").glob("deployer-*.json"))
]


def role(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def call(action: str, resource: str, *, context: dict[str, str] | None = None) -> Request:
    """A request as the deployer sends it: the region and its account travel with every call."""
    keys = {"aws:RequestedRegion": "us-east-1", "aws:PrincipalAccount": ACCOUNT, **(context or {})}
    return Request(action, resource, keys)


def bounded(
    action: str, resource: str, boundary: str = BOUNDARY, *, context: dict[str, str] | None = None
) -> Request:
    """A request on a role that carries `boundary` (or that sets it)."""
    return call(action, resource, context={"iam:PermissionsBoundary": boundary, **(context or {})})


@dataclass(frozen=True)
class EscalationPath:
    """One escalation path: its steps in order, which of them escalates, and what each set of documents
    decides on that step."""

    name: str
    steps: tuple[Request, ...]
    escalating: int
    now: Decision
    before: Decision


PATHS = [
    EscalationPath(
        "create a role without the boundary, give it an administrator's policy, run a function with it",
        (
            call("iam:CreateRole", role("role-x")),
            call("iam:PutRolePolicy", role("role-x")),
            call("iam:PassRole", role("role-x"), context={"iam:PassedToService": "lambda.amazonaws.com"}),
            call("lambda:UpdateFunctionConfiguration", ROTATION),
            call("lambda:UpdateFunctionCode", ROTATION),
            call("lambda:InvokeFunction", ROTATION),
        ),
        escalating=0,
        now="explicitly denied",
        before="allowed",
    ),
    EscalationPath(
        "create a role whose boundary is an administrator's policy",
        (bounded("iam:CreateRole", role("role-x"), ADMINISTRATOR),),
        escalating=0,
        now="explicitly denied",
        before="allowed",
    ),
    EscalationPath(
        "put an administrator's inline policy on a role without the boundary (PutRolePolicy)",
        (
            call("iam:PutRolePolicy", role("role-secret-rotation-dev")),
            call("lambda:InvokeFunction", ROTATION),
        ),
        escalating=0,
        now="explicitly denied",
        before="allowed",
    ),
    EscalationPath(
        "attach the CodeDeploy managed policy (every function, bucket and topic) to a role without the "
        "boundary (AttachRolePolicy)",
        (call("iam:AttachRolePolicy", role("role-x"), context={"iam:PolicyARN": CODEDEPLOY_MANAGED}),),
        escalating=0,
        now="explicitly denied",
        before="allowed",
    ),
    EscalationPath(
        "attach an administrator's managed policy to a bounded role",
        (bounded("iam:AttachRolePolicy", role("role-x"), context={"iam:PolicyARN": ADMINISTRATOR}),),
        escalating=0,
        now="implicitly denied",
        before="implicitly denied",
    ),
    EscalationPath(
        "rewrite the trust policy of a role without the boundary, then assume it (UpdateAssumeRolePolicy)",
        (
            call("iam:UpdateAssumeRolePolicy", role("role-codedeploy-dev")),
            call("sts:AssumeRole", role("role-codedeploy-dev")),
        ),
        escalating=0,
        now="explicitly denied",
        before="allowed",
    ),
    EscalationPath(
        # In one account a trust policy that names the deployer lets it assume the role with no identity
        # policy at all (IAM user guide, "Policy evaluation logic", identity-based and resource-based
        # policies): only an explicit Deny stops it.
        "assume a layer role whose trust names the deployer",
        (
            bounded("iam:UpdateAssumeRolePolicy", role("role-codedeploy-dev")),
            call("sts:AssumeRole", role("role-codedeploy-dev")),
        ),
        escalating=1,
        now="explicitly denied",
        before="implicitly denied",
    ),
    EscalationPath(
        "remove the boundary from a role (DeleteRolePermissionsBoundary)",
        (bounded("iam:DeleteRolePermissionsBoundary", role("role-secret-rotation-dev")),),
        escalating=0,
        now="explicitly denied",
        before="implicitly denied",
    ),
    EscalationPath(
        "replace a role's boundary with an administrator's policy (PutRolePermissionsBoundary)",
        (bounded("iam:PutRolePermissionsBoundary", role("role-secret-rotation-dev"), ADMINISTRATOR),),
        escalating=0,
        now="explicitly denied",
        before="implicitly denied",
    ),
    EscalationPath(
        "attach a policy to a role outside the layers, the deployer's own included",
        (call("iam:AttachRolePolicy", role("payments-deployer"), context={"iam:PolicyARN": ADMINISTRATOR}),),
        escalating=0,
        now="explicitly denied",
        before="implicitly denied",
    ),
    EscalationPath(
        "create a new default version of a deployer policy (CreatePolicyVersion)",
        (call("iam:CreatePolicyVersion", f"arn:aws:iam::{ACCOUNT}:policy/payments-deployer-foundation"),),
        escalating=0,
        now="explicitly denied",
        before="implicitly denied",
    ),
    EscalationPath(
        "widen the boundary itself (CreatePolicyVersion)",
        (call("iam:CreatePolicyVersion", f"arn:aws:iam::{ACCOUNT}:policy/payments-role-boundary"),),
        escalating=0,
        now="explicitly denied",
        before="implicitly denied",
    ),
    EscalationPath(
        "make an older, wider version of a deployer policy the default (SetDefaultPolicyVersion)",
        (call("iam:SetDefaultPolicyVersion", f"arn:aws:iam::{ACCOUNT}:policy/payments-deployer-roles"),),
        escalating=0,
        now="explicitly denied",
        before="implicitly denied",
    ),
    EscalationPath(
        "pass a role outside the layers to a function (UpdateFunctionConfiguration with PassRole)",
        (
            call("lambda:UpdateFunctionConfiguration", ROTATION),
            call(
                "iam:PassRole",
                role("OrganizationAccountAccessRole"),
                context={"iam:PassedToService": "lambda.amazonaws.com"},
            ),
        ),
        escalating=1,
        now="implicitly denied",
        before="implicitly denied",
    ),
    EscalationPath(
        "put a key policy that locks out the account's administrators (BypassPolicyLockoutSafetyCheck)",
        (call("kms:PutKeyPolicy", KEY, context={"kms:BypassPolicyLockoutSafetyCheck": "true"}),),
        escalating=0,
        now="explicitly denied",
        before="allowed",
    ),
    EscalationPath(
        "create a key whose policy locks out the account's administrators",
        (call("kms:CreateKey", "*", context={"kms:BypassPolicyLockoutSafetyCheck": "true"}),),
        escalating=0,
        now="explicitly denied",
        before="allowed",
    ),
    EscalationPath(
        "write a bucket policy on a bucket outside the layers",
        (call("s3:PutBucketPolicy", "arn:aws:s3:::company-audit-trail"),),
        escalating=0,
        now="implicitly denied",
        before="implicitly denied",
    ),
]


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_the_step_that_escalates_is_denied(path):
    step = path.steps[path.escalating]
    assert (decide(NOW, step), decide(BEFORE, step)) == (path.now, path.before)
    if path.before == "allowed":  # the path was open end to end
        assert [s.action for s in path.steps if not open_before(s)] == []


def open_before(step: Request) -> bool:
    """The old documents allowed the step, or it is assuming a role whose trust policy the deployer has
    just written to name itself: in one account that trust alone allows it (IAM user guide, "Policy
    evaluation logic"), and nothing in the old documents denied it."""
    decision = decide(BEFORE, step)
    return decision == "allowed" or (step.action == "sts:AssumeRole" and decision == "implicitly denied")


def test_the_same_calls_under_the_boundary_are_allowed():
    """What `up` and `destroy` do to the layers' roles stays possible (the full check is
    test_deployer_calls.py)."""
    for action in BOUNDARY_CONDITIONED:
        assert decide(NOW, bounded(action, role("role-x"))) == "allowed", action
    for action in ("iam:AttachRolePolicy", "iam:DetachRolePolicy"):
        assert (
            decide(NOW, bounded(action, role("role-x"), context={"iam:PolicyARN": CODEDEPLOY_MANAGED}))
            == "allowed"
        )
    # The boundary of another account's policy of the same name is not ours.
    foreign = "arn:aws:iam::210987654321:policy/payments-role-boundary"
    assert decide(NOW, bounded("iam:CreateRole", role("role-x"), foreign)) == "explicitly denied"


ADMIN_INLINE = [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}]


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/backdoor"),
        ("iam:AttachRolePolicy", role("payments-deployer")),
        ("sts:AssumeRole", role("OrganizationAccountAccessRole")),
        ("kms:PutKeyPolicy", KEY),
        ("s3:GetObject", "arn:aws:s3:::company-audit-trail/2026/report.csv"),
        ("lambda:InvokeFunction", ROTATION),
    ],
)
def test_code_the_deployer_puts_in_a_function_runs_with_no_more_than_the_boundary(action, resource):
    """UpdateFunctionCode then InvokeFunction on the rotation function is allowed (`up` updates the code,
    the database bootstrap invokes it), so the deployer can run code with the function's role. Before the
    boundary it could first give that role an administrator's policy (PutRolePolicy, allowed above), and
    the code could then do anything; now the role's calls are capped by the boundary whatever its
    policies say."""
    for step in ("lambda:UpdateFunctionCode", "lambda:InvokeFunction"):
        assert decide(NOW, call(step, ROTATION)) == "allowed"
    by_the_role = call(action, resource)
    assert decide(ADMIN_INLINE, by_the_role) == "allowed"  # the role before the boundary
    assert decide(ADMIN_INLINE, by_the_role, boundary=load_boundary()) == "implicitly denied"


@pytest.mark.parametrize("hook", ["lambda-scan-gate-dev", "lambda-smoke-test-dev"])
def test_the_deployer_cannot_invoke_the_release_hooks_whose_roles_report_to_codedeploy(hook):
    invoke = call("lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{hook}")
    assert decide(NOW, invoke) == "implicitly denied"


def test_what_iam_cannot_stop_is_left_to_the_plan_check():
    """The deployer writes the layers' key and bucket policies; the SAR lists no condition key over a
    policy's content, so IAM allows any content and tests/policy/test_principals.py checks the content in
    the plan. The deployer cannot write policies on keys and buckets other than the layers' ones, nor
    create or read access keys or login profiles (no IAM user action is allowed)."""
    assert decide(NOW, call("kms:PutKeyPolicy", KEY)) == "allowed"
    logs = "arn:aws:s3:::s3-alb-logs-123456789012-us-east-1-dev"
    assert decide(NOW, call("s3:PutBucketPolicy", logs)) == "allowed"
    for action, resource in (
        ("iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/admin"),
        ("iam:CreateLoginProfile", f"arn:aws:iam::{ACCOUNT}:user/admin"),
        ("iam:AddUserToGroup", f"arn:aws:iam::{ACCOUNT}:group/admins"),
        ("iam:PutUserPolicy", f"arn:aws:iam::{ACCOUNT}:user/admin"),
    ):
        assert decide(NOW, call(action, resource)) == "implicitly denied", action


def test_the_roles_calls_carry_the_boundary_the_role_has(network, platform, services):
    plan = PlanIndex([network, platform, services])
    table = load_table()
    found = {}
    for resource in plan.resources():
        if resource.type.startswith("aws:iam/role"):
            for planned in planned_calls(resource, plan, table):
                found.setdefault(planned.request.action, set()).add(
                    planned.request.context.get("iam:PermissionsBoundary")
                )
    for action in (*BOUNDARY_CONDITIONED, "iam:AttachRolePolicy", "iam:DetachRolePolicy"):
        assert found[action] == {BOUNDARY}, action
