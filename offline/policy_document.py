"""Render `aws.iam.get_policy_document` arguments into IAM JSON, as the AWS provider does.

The offline engine answers the `aws:iam/getPolicyDocument:getPolicyDocument` invoke with this, so tests
and the plan see the same policy JSON a real deployment would send to IAM and KMS. It follows the
provider's data source: a single-element list renders as a string, `*` principals as `"*"`, statements
keep their order, and set-typed fields (actions, resources, identifiers, values) are sorted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

POLICY_VERSION = "2012-10-17"
_LIST_FIELDS = (
    ("actions", "Action"),
    ("notActions", "NotAction"),
    ("resources", "Resource"),
    ("notResources", "NotResource"),
)


_STATEMENT_FIELDS = frozenset(
    {"sid", "effect", "actions", "notActions", "resources", "notResources", "principals", "notPrincipals",
     "conditions"}
)  # fmt: skip


class PolicyDocumentError(ValueError):
    """Arguments the provider's data source would reject."""


def render_policy_document(args: Mapping[str, Any]) -> str:
    """The policy JSON for the invoke arguments `args` (the provider's camelCase names)."""
    statements = [_statement(s, i) for i, s in enumerate(args.get("statements") or [])]
    for source in args.get("sourcePolicyDocuments") or []:
        statements = _merge(json.loads(source).get("Statement", []), statements)
    for override in args.get("overridePolicyDocuments") or []:
        statements = _merge(statements, json.loads(override).get("Statement", []))
    document: dict[str, Any] = {"Version": args.get("version") or POLICY_VERSION}
    if args.get("policyId"):
        document["Id"] = args["policyId"]
    document["Statement"] = statements
    return json.dumps(document, indent=2)


def _statement(raw: Mapping[str, Any], index: int) -> dict[str, Any]:
    # A plain dict reaches the provider untranslated: `not_resources` would be dropped silently.
    unknown = sorted(set(raw) - _STATEMENT_FIELDS)
    if unknown:
        raise PolicyDocumentError(
            f"statement {index}: unknown field(s) {', '.join(unknown)}; the provider's names are camelCase "
            f"({', '.join(sorted(_STATEMENT_FIELDS))})"
        )
    statement: dict[str, Any] = {}
    if raw.get("sid"):
        statement["Sid"] = raw["sid"]
    effect = raw.get("effect") or "Allow"
    if effect not in ("Allow", "Deny"):
        raise PolicyDocumentError(f"statement {index}: effect must be Allow or Deny, got {effect!r}")
    statement["Effect"] = effect
    for field, key in _LIST_FIELDS:
        values = raw.get(field)
        if values:
            statement[key] = _one_or_many(values)
    if raw.get("actions") and raw.get("notActions"):
        raise PolicyDocumentError(f"statement {index}: actions and notActions are exclusive")
    for field, key in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
        if raw.get(field):
            statement[key] = _principals(raw[field])
    if raw.get("conditions"):
        statement["Condition"] = _conditions(raw["conditions"])
    if not any(k in statement for k in ("Action", "NotAction")):
        raise PolicyDocumentError(f"statement {index}: needs actions or notActions")
    return statement


def _one_or_many(values: Sequence[str]) -> str | list[str]:
    unique = sorted(set(values))
    return unique[0] if len(unique) == 1 else unique


def _principals(principals: Sequence[Mapping[str, Any]]) -> str | dict[str, Any]:
    rendered: dict[str, list[str]] = {}
    for principal in principals:
        kind = principal["type"]
        identifiers = list(principal.get("identifiers") or [])
        if kind == "*" and identifiers == ["*"]:
            return "*"
        rendered.setdefault(kind, []).extend(identifiers)
    return {kind: _one_or_many(ids) for kind, ids in rendered.items()}


def _conditions(conditions: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    rendered: dict[str, dict[str, list[str]]] = {}
    for condition in conditions:
        by_variable = rendered.setdefault(condition["test"], {})
        by_variable.setdefault(condition["variable"], []).extend(condition.get("values") or [])
    return {
        test: {variable: _one_or_many(values) for variable, values in variables.items()}
        for test, variables in rendered.items()
    }


def _merge(base: list[dict[str, Any]], overriding: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Statements with a Sid replace base statements with the same Sid; the rest are appended."""
    merged = list(base)
    for statement in overriding:
        sid = statement.get("Sid")
        positions = [i for i, s in enumerate(merged) if sid and s.get("Sid") == sid]
        if positions:
            merged[positions[0]] = statement
        else:
            merged.append(statement)
    return merged
