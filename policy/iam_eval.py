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
  a negated operator (`StringNotEquals`, ...) holds for a value that matches none of the policy's values;
- a missing key: `...IfExists` holds, `ForAllValues:` holds, `ForAnyValue:` fails (negated or not),
  a plain negated operator holds, any other operator fails;
- set operators apply the operator to each value of the request (negation included) and then ask for
  all (`ForAllValues:`) or at least one (`ForAnyValue:`) of them ("IAM JSON policy elements: Condition
  operators", "Single-valued vs. multivalued context keys");
- `ArnEquals`/`ArnLike` (and their negations) match each of the six colon-delimited parts of the ARN on
  its own, with `*` and `?` wildcards in both; a wildcard never spans a colon of the first five parts.

A permissions boundary (IAM user guide, "Permissions boundaries for IAM entities", "Evaluating effective
permissions with boundaries",
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html) is a ceiling: a request
is allowed only when the identity policies and the boundary both allow it, and an explicit Deny in either
denies it.

Policy variables (`${aws:PrincipalAccount}`) in condition values are replaced by the request's value of
that key; a variable whose key the request lacks (or has several values for) makes that policy value match
nothing; `${*}`, `${?}` and `${$}` stand for the literal characters (IAM user guide, "IAM policy elements:
Variables and tags", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html).

Out of scope: resource-based policies, SCPs and session policies (the deployer has none), and policy
variables in the Resource element.
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


def decide(
    policies: Sequence[Mapping[str, Any]],
    request: Request,
    *,
    boundary: Mapping[str, Any] | None = None,
) -> Decision:
    """IAM's decision for `request` under the identity policies `policies` (documents), capped by the
    principal's permissions `boundary` when it has one."""
    decision = _decide(policies, request)
    if boundary is None or decision == "explicitly denied":
        return decision
    ceiling = _decide([boundary], request)
    if ceiling == "explicitly denied":
        return ceiling
    return decision if ceiling == "allowed" else "implicitly denied"


def _decide(policies: Sequence[Mapping[str, Any]], request: Request) -> Decision:
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
    negated = base in _NEGATED
    if not present:
        if qualifier == "ForAnyValue":
            return False
        return if_exists or negated or qualifier == "ForAllValues"
    raw = context[key.lower()]
    values = [raw] if isinstance(raw, str) else list(raw)
    positive = base.replace("Not", "", 1) if negated else base
    resolved = [r for w in wanted if (r := _substitute(str(w), context)) is not None]

    def holds(value: str) -> bool:
        """The operator for one request value: a negated one holds when no policy value matches."""
        hit = any(_compare(positive, value, w) for w in resolved)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(holds(v) for v in values)
    if qualifier == "ForAnyValue":
        return any(holds(v) for v in values)
    # A single-valued operator: a negated one holds when no request value matches any policy value.
    if negated:
        return all(holds(v) for v in values)
    return any(holds(v) for v in values)


_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_LITERALS = {"*": "*", "?": "?", "$": "$"}


def _substitute(value: str, context: Mapping[str, ContextValue]) -> str | None:
    """A policy value with its `${key}` variables replaced from the request; None when one has no value."""
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        if name in _LITERALS:
            return _LITERALS[name]
        found = context.get(name.lower())
        if not isinstance(found, str):
            missing = True
            return ""
        return found

    filled = _VARIABLE.sub(fill, value)
    return None if missing else filled


def _compare(operator: str, value: str, wanted: str) -> bool:
    if operator == "StringEquals":
        return value == wanted
    if operator == "StringEqualsIgnoreCase":
        return value.lower() == wanted.lower()
    if operator == "StringLike":
        return _matches(wanted, value)
    if operator in ("ArnEquals", "ArnLike"):
        return _arn_matches(wanted, value)
    if operator == "Bool":
        return value.lower() == wanted.lower()
    if operator.startswith("Numeric"):
        return _numeric(operator, float(value), float(wanted))
    raise ValueError(f"condition operator {operator!r} is not supported by this evaluator")


def _arn_matches(pattern: str, arn: str) -> bool:
    """ArnEquals/ArnLike: the six colon-delimited parts compared one by one, wildcards allowed in each."""
    if pattern == "*":  # the usual "any ARN"
        return True
    wanted, actual = pattern.split(":", 5), arn.split(":", 5)
    if len(wanted) != 6 or len(actual) != 6:
        return False
    return all(_matches(w, a) for w, a in zip(wanted, actual, strict=True))


def _numeric(operator: str, value: float, wanted: float) -> bool:
    return {
        "NumericEquals": value == wanted,
        "NumericLessThan": value < wanted,
        "NumericLessThanEquals": value <= wanted,
        "NumericGreaterThan": value > wanted,
        "NumericGreaterThanEquals": value >= wanted,
    }[operator]
