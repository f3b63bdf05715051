"""Apply every rule to offline evaluations: the tests and `python3 dev.py plan` use this, as the pack does."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from offline.engine import Evaluation
from policy.model import Context, Resource, Rule
from policy.rules import RULES


@dataclass(frozen=True)
class RuleResult:
    rule: Rule
    violations: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.violations


def resources_of(evaluation: Evaluation) -> list[Resource]:
    """The evaluation's AWS resources as rules see them, with their provider's default tags."""
    default_tags: dict[str, dict[str, str]] = {}
    for provider in evaluation.all():
        if provider.type.startswith("pulumi:providers:"):
            raw = provider.inputs.get("defaultTags") or "{}"
            default_tags[provider.urn] = dict(
                (json.loads(raw) if isinstance(raw, str) else raw).get("tags", {})
            )
    return [
        Resource(
            type=r.type,
            name=r.name,
            props=r.inputs,
            protect=r.protect,
            retain_on_delete=r.retain_on_delete,
            provider_default_tags=default_tags.get(r.provider_urn or "", {}),
            arn=r.state.get("arn"),
        )
        for r in evaluation.aws_resources()
    ]


def check(evaluations: Mapping[str, Evaluation] | Iterable[Evaluation], suffix: str) -> list[RuleResult]:
    """Every rule over all the given layers' resources together (cross-layer rules see them all)."""
    layers = evaluations.values() if isinstance(evaluations, Mapping) else evaluations
    resources = [resource for evaluation in layers for resource in resources_of(evaluation)]
    context = Context(suffix=suffix)
    return [RuleResult(rule, tuple(rule.violations(resources, context))) for rule in RULES]
