"""Every IAM role of every layer carries the permissions boundary (shared/role_boundary.py).

The deployer may only create roles with that boundary (deploy/iam/deployer-roles.json), so a role
without it would fail the first `up` with AccessDenied; this test catches it in the plan instead, for
every layer of the example, alternative and `complianceProfile: pci` stacks, whatever component declares
the role."""

from __future__ import annotations

import pytest

from offline.engine import Evaluation
from shared.aws_context import AwsContext
from shared.role_boundary import ROLE_BOUNDARY_POLICY_NAME, role_boundary_arn

ROLE = "aws:iam/role:Role"
BOUNDARY = "arn:aws:iam::123456789012:policy/payments-role-boundary"
LAYERS = (
    "network",
    "platform",
    "services",
    "network_ha",
    "platform_alt",
    "services_alt",
    "network_pci",
    "platform_pci",
    "services_pci",
)


def roles_without_the_boundary(evaluations: list[Evaluation]) -> list[str]:
    return sorted(
        f"{role.name}: permissionsBoundary={role.inputs.get('permissionsBoundary')!r}"
        for evaluation in evaluations
        for role in evaluation.all(ROLE)
        if role.inputs.get("permissionsBoundary") != BOUNDARY
    )


@pytest.fixture(scope="module")
def layers(request: pytest.FixtureRequest) -> list[Evaluation]:
    return [request.getfixturevalue(name) for name in LAYERS]


def test_the_boundary_arn_names_the_policy_in_the_layers_account_and_partition():
    context = AwsContext(account_id="210987654321", region="cn-north-1", partition="aws-cn")
    assert role_boundary_arn(context) == f"arn:aws-cn:iam::210987654321:policy/{ROLE_BOUNDARY_POLICY_NAME}"


def test_every_role_in_every_layers_plan_has_the_boundary(layers):
    by_layer = {name: len(e.all(ROLE)) for name, e in zip(LAYERS, layers, strict=True)}
    assert all(by_layer[name] > 0 for name in ("network", "platform", "services")), by_layer
    assert roles_without_the_boundary(layers) == []


def test_a_role_without_the_boundary_is_reported_by_name(network):
    role = network.one(ROLE)
    bare = type(role)(**{**role.__dict__, "inputs": {**role.inputs, "permissionsBoundary": None}})
    other = type(role)(
        **{**role.__dict__, "name": "role-other-dev",
           "inputs": {**role.inputs, "permissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess"}}
    )  # fmt: skip

    class Plan:
        def all(self, resource_type: str) -> list[object]:
            return [bare, other] if resource_type == ROLE else []

    assert roles_without_the_boundary([Plan()]) == [  # type: ignore[list-item]
        "role-other-dev: permissionsBoundary='arn:aws:iam::aws:policy/AdministratorAccess'",
        f"{role.name}: permissionsBoundary=None",
    ]
