"""The rules as `pulumi_policy` policies: adapters only, the logic lives in `policy.rules`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyProviderResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy.model import ADVISORY, Context, Resource, Rule
from policy.rules import RULES

SUFFIX_CONFIG = {"environmentSuffix": {"type": "string", "minLength": 1, "maxLength": 8}}
Report = Callable[[str, str | None], None]


def _default_tags(provider: PolicyProviderResource | None) -> dict[str, str]:
    if provider is None:
        return {}
    tags = (provider.props.get("defaultTags") or {}).get("tags") or {}
    return {str(k): str(v) for k, v in tags.items()}


def _context(config: Mapping[str, Any] | None) -> Context:
    return Context(suffix=str((config or {}).get("environmentSuffix", "")))


def resource_from(args: ResourceValidationArgs) -> Resource:
    return Resource(
        args.resource_type,
        args.name,
        args.props,
        protect=args.opts.protect,
        provider_default_tags=_default_tags(args.provider),
        arn=args.props.get("arn"),
    )


def _resource_policy(rule: Rule, level: EnforcementLevel) -> ResourceValidationPolicy:
    check = rule.resource_check
    assert check is not None

    def validate(args: ResourceValidationArgs, report: Report) -> None:
        for violation in check(resource_from(args), _context(args.get_config())):
            report(violation, None)

    return ResourceValidationPolicy(
        f"{rule.name}-resource" if rule.stack_check else rule.name,
        f"{rule.description} ({rule.source})",
        validate,
        enforcement_level=level,
        config_schema=PolicyConfigSchema(SUFFIX_CONFIG),
    )


def _stack_policy(rule: Rule, level: EnforcementLevel) -> StackValidationPolicy:
    check = rule.stack_check
    assert check is not None

    def validate(args: StackValidationArgs, report: Report) -> None:
        resources = [
            Resource(
                r.resource_type,
                r.name,
                r.props,
                protect=r.opts.protect,
                provider_default_tags=_default_tags(r.provider),
                arn=r.props.get("arn"),
            )
            for r in args.resources
        ]
        for violation in check(resources, _context(args.get_config())):
            report(violation, None)

    return StackValidationPolicy(
        rule.name,
        f"{rule.description} ({rule.source})",
        validate,
        enforcement_level=level,
        config_schema=PolicyConfigSchema(SUFFIX_CONFIG),
    )


def policies() -> list[Policy]:
    """One policy per check of every rule; advisory rules stay advisory under a mandatory pack."""
    found: list[Policy] = []
    for rule in RULES:
        level = EnforcementLevel.ADVISORY if rule.enforcement == ADVISORY else EnforcementLevel.MANDATORY
        if rule.resource_check is not None:
            found.append(_resource_policy(rule, level))
        if rule.stack_check is not None:
            found.append(_stack_policy(rule, level))
    return found
