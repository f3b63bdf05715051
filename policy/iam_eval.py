"""Evaluate one request against identity policies the way IAM does, for the offline permission checks.

No maintained Python library evaluates IAM policies with conditions (policy_sentry and parliament only
read and lint; moto's evaluator ignores most conditions), so this is a small evaluator with its own tests
(`tests/policy/test_iam_eval.py`). It follows the IAM user guide, "Policy evaluation logic" and "IAM JSON
policy elements: Condition operators"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
- an explicit Deny in any statement wins; otherwise an Allow is needed; otherwise the request is denied;
- Action/NotAction match case-insensitively; Resource/NotResource case-sensitively; `*` matches any run of
  characters, `/` and `:` included, `?` one character;
- condition keys are case-insensitive; values of one key are ORed, keys and operators are ANDed;
  `...IfExists` matches a missing key, negated operators match a missing key, `ForAllValues:` matches a
  missing key and `ForAnyValue:` does not.

Out of scope: resource-based policies, permission boundaries, SCPs and session policies (the deployer
has none), and policy variables.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from policy.iam_lint import as_list

Decision = Literal["allowed", "explicitly denied", "implicitly denied"]
ContextValue = str | Sequence[str]


@dataclass(frozen=True)
class Request:
    """One authorization request: an action on a resource ARN (or "*"), with its request context."""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)


def decide(policies: Sequence[Mapping[str, Any]], request: Request) -> Decision:
    """IAM's decision for `request` under the identity policies `policies` (documents)."""
    context = {k.lower(): v for k, v in request.context.items()}
    allowed = False
    for document in policies:
        for statement in as_list(document.get("Statement")):
            if not _applies(statement, request, context):
                continue
            if statement.get("Effect") == "Deny":
                return "explicitly denied"
            allowed = True
    return "allowed" if allowed else "implicitly denied"


def _applies(statement: Mapping[str, Any], request: Request, context: Mapping[str, ContextValue]) -> bool:
    if "Action" in statement:
        if not any(_matches(p, request.action, fold=True) for p in as_list(statement["Action"])):
            return False
    elif any(_matches(p, request.action, fold=True) for p in as_list(statement.get("NotAction"))):
        return False
    if "Resource" in statement:
        if not any(_matches(p, request.resource) for p in as_list(statement["Resource"])):
            return False
    elif any(_matches(p, request.resource) for p in as_list(statement.get("NotResource"))):
        return False
    return all(
        _condition(operator, key, as_list(values), context)
        for operator, block in (statement.get("Condition") or {}).items()
        for key, values in block.items()
    )


@functools.cache
def _pattern(pattern: str, fold: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL if fold else re.DOTALL)


def _matches(pattern: str, value: str, *, fold: bool = False) -> bool:
    return _pattern(str(pattern), fold).fullmatch(value) is not None


_NEGATED = ("StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike",
            "NumericNotEquals", "DateNotEquals")  # fmt: skip


def _condition(operator: str, key: str, wanted: list[Any], context: Mapping[str, ContextValue]) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    present = key.lower() in context
    if base == "Null":
        return (not present) == (str(wanted[0]).lower() == "true")
    if not present:
        return if_exists or base in _NEGATED or qualifier == "ForAllValues"
    raw = context[key.lower()]
    values = [raw] if isinstance(raw, str) else list(raw)
    negated = base in _NEGATED
    positive = base.replace("Not", "", 1) if negated else base

    def one(value: str) -> bool:
        return any(_compare(positive, value, str(w)) for w in wanted)

    if qualifier == "ForAllValues":
        hit = all(one(v) for v in values)
    elif qualifier == "ForAnyValue":
        hit = any(one(v) for v in values)
    else:
        hit = any(one(v) for v in values)
    return not hit if negated else hit


def _compare(operator: str, value: str, wanted: str) -> bool:
    if operator in ("StringEquals", "ArnEquals"):
        return value == wanted
    if operator == "StringEqualsIgnoreCase":
        return value.lower() == wanted.lower()
    if operator in ("StringLike", "ArnLike"):
        return _matches(wanted, value)
    if operator == "Bool":
        return value.lower() == wanted.lower()
    if operator.startswith("Numeric"):
        return _numeric(operator, float(value), float(wanted))
    raise ValueError(f"condition operator {operator!r} is not supported by this evaluator")


def _numeric(operator: str, value: float, wanted: float) -> bool:
    return {
        "NumericEquals": value == wanted,
        "NumericLessThan": value < wanted,
        "NumericLessThanEquals": value <= wanted,
        "NumericGreaterThan": value > wanted,
        "NumericGreaterThanEquals": value >= wanted,
    }[operator]
