"""The calls each run-time role of the layers makes, and its policies, for the least-privilege checks.

The table (`deploy/iam/runtime_calls.toml`) says, per role (a glob over role names), which resource uses
the role and what is called with it: by our code in `apps/` and `functions/`, and by AWS services on the
role's behalf (ECS pulling images and secrets, Lambda managing network interfaces and writing logs,
CodeDeploy shifting traffic, flow-log delivery). Both directions are checked by the tests: every call is
allowed, and every Allow of the role's own policies is used by some call.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.provider_calls import EVERY_REQUEST, PHASES, PlanIndex, Row, Values, requests
from offline.engine import RecordedResource
from policy.iam_eval import Request, decide
from policy.iam_lint import as_list
from policy.iam_reference import expand

TABLE = Path(__file__).resolve().parent / "iam" / "runtime_calls.toml"
MANAGED_POLICIES = Path(__file__).resolve().parent / "iam" / "aws-managed"
# The permissions boundary every role of the layers carries (shared/role_boundary.py): the ceiling of
# what any of them may do, whatever its own policies say.
BOUNDARY = Path(__file__).resolve().parent / "iam" / "role-boundary.json"
ROLE_TYPE = "aws:iam/role:Role"
DOCUMENT_TYPES = {"aws:iam/rolePolicy:RolePolicy": "policy"}
ATTACHMENT_TYPE = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


class MissingRoleError(LookupError):
    """A planned role matches no row of the run-time call table."""


@dataclass(frozen=True)
class RoleRow:
    pattern: str
    source: str
    consumer: str
    role_input: str
    calls: tuple[str, ...]
    for_each: str | None
    managed: tuple[str, ...]


@dataclass(frozen=True)
class RoleCall:
    role: str
    consumer: str
    request: Request

    def describe(self) -> str:
        extra = {k: v for k, v in self.request.context.items() if k not in EVERY_REQUEST}
        shown = f" with {extra}" if extra else ""
        return f"{self.role} (for {self.consumer}): {self.request.action} on {self.request.resource}{shown}"


@functools.cache
def load_roles(path: Path = TABLE) -> tuple[RoleRow, ...]:
    rows = []
    for pattern, entry in tomllib.loads(path.read_text()).items():
        allowed = {"source", "consumer", "role_input", "calls", "for_each", "managed"}
        if set(entry) - allowed or not all(entry.get(k) for k in ("source", "consumer", "role_input")):
            raise ValueError(
                f"{path.name}: row {pattern!r} needs source, consumer and role_input and may add calls, "
                f"for_each and managed; got {sorted(entry)}"
            )
        rows.append(
            RoleRow(pattern, entry["source"], entry["consumer"], entry["role_input"],
                    tuple(entry.get("calls", ())), entry.get("for_each"), tuple(entry.get("managed", ())))
        )  # fmt: skip
    return tuple(rows)


def load_boundary(path: Path = BOUNDARY) -> dict[str, Any]:
    """The role boundary policy document, as the administrator creates it."""
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def row_for_role(role_name: str, rows: Sequence[RoleRow]) -> RoleRow:
    for row in rows:
        if fnmatch.fnmatchcase(role_name, row.pattern):
            return row
    raise MissingRoleError(
        f"role {role_name} matches no row of deploy/iam/runtime_calls.toml: add the calls it makes at run "
        "time (from the code or the AWS guide of the service that uses it), with their source"
    )


def roles(plan: PlanIndex) -> list[RecordedResource]:
    return [r for r in plan.resources() if r.type == ROLE_TYPE]


def role_calls(role: RecordedResource, plan: PlanIndex, rows: Sequence[RoleRow]) -> list[RoleCall]:
    """Every call made with `role` at run time, once per resource that uses the role."""
    row = row_for_role(role.name, rows)
    pseudo = Row(row.pattern, row.source, "*", dict.fromkeys(PHASES, ()))
    found = []
    for consumer in plan.resources():
        if consumer.type != row.consumer or not _uses(consumer, row.role_input, role):
            continue
        items: list[str | None] = [None]
        if row.for_each:
            items = list(Values(consumer, plan).render_all(row.for_each))
        for item in items:
            for call in row.calls:
                for request in requests(call, pseudo, consumer, plan, each=item):
                    found.append(RoleCall(role.name, consumer.name, request))
    return found


def _uses(consumer: RecordedResource, role_input: str, role: RecordedResource) -> bool:
    """The consumer names the role in `role_input` (a dotted path: `extendedS3Configuration.roleArn`)."""
    value: Any = consumer.inputs
    for part in role_input.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value in (role.state.get("arn"), role.id)


def role_documents(role: RecordedResource, plan: PlanIndex) -> list[dict[str, Any]]:
    """The role's own inline policies (what the layers write)."""
    documents = []
    for resource in plan.resources():
        key = DOCUMENT_TYPES.get(resource.type)
        if key and resource.inputs.get("role") in (role.id, role.name):
            documents.append(json.loads(resource.inputs[key]))
    return documents


def managed_documents(role: RecordedResource, plan: PlanIndex, row: RoleRow) -> list[dict[str, Any]]:
    """The AWS managed policies attached to the role, as kept in deploy/iam/aws-managed/."""
    attached = {
        str(r.inputs.get("policyArn", "")).rsplit("/", 1)[-1]
        for r in plan.resources()
        if r.type == ATTACHMENT_TYPE and r.inputs.get("role") in (role.id, role.name)
    }
    if attached != set(row.managed):
        raise ValueError(
            f"{role.name}: attached managed policies {sorted(attached)}, the table says {row.managed}"
        )
    return [json.loads((MANAGED_POLICIES / f"{name}.json").read_text()) for name in sorted(attached)]


def unused_grants(documents: Sequence[Mapping[str, Any]], calls: Sequence[RoleCall]) -> list[str]:
    """Each (action, resource pattern) an Allow statement grants that no call needs: beyond least privilege.

    A grant counts as used when a call with that action, on a resource the pattern matches, is allowed by
    that statement alone (its conditions included).
    """
    unused = []
    for document in documents:
        for index, statement in enumerate(as_list(document.get("Statement"))):
            if statement.get("Effect") != "Allow" or "Action" not in statement or "Resource" not in statement:
                continue
            label = statement.get("Sid") or f"statement {index}"
            for pattern in as_list(statement["Action"]):
                for action in expand(str(pattern)) or ():
                    for resource in as_list(statement["Resource"]):
                        if resource != "*" and not action.resource_types_matching(resource):
                            continue  # IAM never matches this pair: not a grant (the lint reports it)
                        narrowed = {**statement, "Action": action.qualified, "Resource": resource}
                        single = [{"Version": "2012-10-17", "Statement": [narrowed]}]
                        if not any(
                            c.request.action == action.qualified and decide(single, c.request) == "allowed"
                            for c in calls
                        ):
                            unused.append(f"{label}: {action.qualified} on {resource}")
    return unused
