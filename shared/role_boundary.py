"""The permissions boundary every IAM role of every layer carries: one name, one ARN builder.

The boundary is a customer managed policy the account's administrator creates with the deployer policies
(`deploy/iam/role-boundary.json`, docs/deployer-iam.md). A role's effective permissions are what both its
own policies and its boundary allow (IAM user guide, "Permissions boundaries for IAM entities",
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html), and the deployer may
only create or change roles that carry this boundary (`iam:PermissionsBoundary` in
`deploy/iam/deployer-roles.json`). A role created without it is refused by AWS with AccessDenied, and
`tests/shared/test_role_boundary.py` fails on any `aws:iam/role:Role` of any layer's plan that lacks it.

Every `aws.iam.Role` passes `permissions_boundary=role_boundary_arn(context)`.
"""

from __future__ import annotations

from shared.aws_context import AwsContext

# The managed policy's name, as the administrator creates it (`aws iam create-policy --policy-name ...`).
ROLE_BOUNDARY_POLICY_NAME = "payments-role-boundary"


def role_boundary_arn(context: AwsContext) -> str:
    """The boundary's ARN in the account and partition the layer deploys to."""
    return f"arn:{context.partition}:iam::{context.account_id}:policy/{ROLE_BOUNDARY_POLICY_NAME}"
