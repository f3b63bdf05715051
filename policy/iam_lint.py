"""Lint an IAM policy document against AWS's Service Authorization Reference (`policy.iam_reference`).

What fails, each a finding naming the statement and what to change:
- a service prefix or an action (or action pattern) AWS does not have;
- a condition key that an action of the statement does not support (global keys are always valid);
- a resource ARN that matches none of an action's resource types, an ARN given for an action that has
  none (only `"*"` matches those), and, in identity policies, an Allow of `"*"` for an action that has
  resource types (scope it to its ARNs);
- a malformed statement (Effect, Action/NotAction, Resource/NotResource, Principal where required).

Kinds of document: "identity" (a role's inline or managed policy), "trust" (a role's assume-role
policy), "key" (a KMS key policy, where `"*"` means the key itself) and "resource" (a bucket policy).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from policy.iam_reference import STAR_ALLOWED, Action, expand, is_known_service

DocumentKind = Literal["identity", "trust", "key", "resource"]
VERSION = "2012-10-17"
EFFECTS = ("Allow", "Deny")
KEYS = frozenset(
    {
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Principal",
        "NotPrincipal",
        "Condition",
    }
)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def statements_of(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return as_list(document.get("Statement"))


def lint(document: Mapping[str, Any] | str, kind: DocumentKind) -> list[str]:
    """Every finding in the document; [] when AWS would accept and honour it as written."""
    parsed: Mapping[str, Any] = json.loads(document) if isinstance(document, str) else document
    findings = [] if parsed.get("Version") == VERSION else [f'Version must be "{VERSION}"']
    for index, statement in enumerate(statements_of(parsed)):
        label = f"statement {statement.get('Sid') or index}"
        findings.extend(f"{label}: {problem}" for problem in _statement(statement, kind))
    return findings


def _statement(statement: Mapping[str, Any], kind: DocumentKind) -> list[str]:
    problems = _shape(statement, kind)
    if problems:
        return problems
    patterns = as_list(statement.get("Action") or statement.get("NotAction"))
    actions: dict[str, tuple[Action, ...]] = {}
    for pattern in patterns:
        if pattern == "*":
            continue
        prefix = str(pattern).partition(":")[0]
        if not is_known_service(prefix):
            problems.append(f"unknown service {prefix!r} in {pattern!r}")
        elif not (found := expand(str(pattern))):
            problems.append(f"{pattern!r} is no action of {prefix} (Service Authorization Reference)")
        else:
            actions[str(pattern)] = found
    if "Action" in statement:
        problems.extend(_conditions(statement, actions))
        if kind in ("identity", "resource") and "Resource" in statement:
            problems.extend(_resources(statement, actions, kind))
    return problems


def _shape(statement: Mapping[str, Any], kind: DocumentKind) -> list[str]:
    problems = [f"unknown element {key!r}" for key in statement if key not in KEYS]
    if statement.get("Effect") not in EFFECTS:
        problems.append(f"Effect must be Allow or Deny, got {statement.get('Effect')!r}")
    if ("Action" in statement) == ("NotAction" in statement):
        problems.append("needs exactly one of Action and NotAction")
    has_resource = "Resource" in statement or "NotResource" in statement
    if kind == "trust" and has_resource:
        problems.append("a trust policy names no Resource")
    if kind != "trust" and not has_resource:
        problems.append("needs Resource or NotResource")
    has_principal = "Principal" in statement or "NotPrincipal" in statement
    if kind == "identity" and has_principal:
        problems.append("an identity policy names no Principal")
    if kind != "identity" and not has_principal:
        problems.append("a resource-based policy needs a Principal")
    return problems


def _conditions(statement: Mapping[str, Any], actions: Mapping[str, Sequence[Action]]) -> list[str]:
    problems = []
    for operator, block in (statement.get("Condition") or {}).items():
        for key in block:
            unsupported = sorted(
                {
                    a.qualified
                    for found in actions.values()
                    for a in found
                    if not a.supports_condition_key(key)
                }
            )
            if unsupported:
                problems.append(
                    f"condition key {key!r} ({operator}) is not supported by {_few(unsupported)}; "
                    "IAM would never match it for those actions"
                )
    return problems


def _resources(
    statement: Mapping[str, Any], actions: Mapping[str, Sequence[Action]], kind: DocumentKind
) -> list[str]:
    problems = []
    resources = [str(r) for r in as_list(statement.get("Resource"))]
    allow = statement.get("Effect") == "Allow"
    used: set[str] = set()
    for found in actions.values():
        for action in found:
            if action.needs_star:
                if "*" in resources:
                    used.add("*")
                elif len(found) == 1:
                    problems.append(
                        f'{action.qualified} has no resource type: only "*" matches it, not {resources}'
                    )
                continue
            if "*" in resources:
                used.add("*")
                if allow and kind == "identity" and action.qualified not in STAR_ALLOWED:
                    types = [t.name for t in action.resource_types]
                    problems.append(
                        f'{action.qualified} on "*": it has resource types {types}; scope it to their ARNs'
                    )
                continue
            matching = [r for r in resources if action.resource_types_matching(r)]
            used.update(matching)
            if not matching and len(found) == 1:
                formats = sorted({t.arn_format for t in action.resource_types})
                problems.append(
                    f"{action.qualified}: none of {resources} matches its resource types {formats}"
                )
    if actions and kind == "identity":
        problems.extend(
            f"resource {r!r} matches no action of the statement" for r in resources if r not in used
        )
    return problems


def _few(names: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"
