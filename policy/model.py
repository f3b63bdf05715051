"""What a rule sees: a resource's type, name, input properties and options, and the stack's context.

The Pulumi policy pack builds these from `pulumi_policy` arguments; the offline checks build them from
the offline engine's record. Both therefore run the very same rule functions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MANDATORY = "mandatory"
ADVISORY = "advisory"


@dataclass(frozen=True)
class Resource:
    type: str
    name: str  # the logical (URN) name
    props: Mapping[str, Any]
    protect: bool = False
    retain_on_delete: bool = False
    provider_default_tags: Mapping[str, str] = field(default_factory=dict)
    arn: str | None = None  # known after creation (offline: the mocked state); None in a preview

    def get(self, path: str, default: Any = None) -> Any:
        """A nested property by dotted path (`networkConfiguration.assignPublicIp`)."""
        value: Any = self.props
        for part in path.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return default
            value = value[part]
        return value

    def json(self, key: str) -> Any:
        """A property holding JSON text (policies, container definitions), parsed; None if absent."""
        raw = self.props.get(key)
        if isinstance(raw, str):
            return json.loads(raw)
        return raw


@dataclass(frozen=True)
class Context:
    suffix: str  # the stack's environmentSuffix


ResourceCheck = Callable[[Resource, Context], list[str]]
StackCheck = Callable[[Sequence[Resource], Context], list[str]]


@dataclass(frozen=True)
class Rule:
    """One compliance rule.

    `source` is "platform" (a requirement of this platform) or an AWS Foundational Security Best
    Practices control id.
    """

    name: str
    source: str
    description: str
    resource_check: ResourceCheck | None = None
    stack_check: StackCheck | None = None
    enforcement: str = MANDATORY

    def violations(self, resources: Sequence[Resource], context: Context) -> list[str]:
        found: list[str] = []
        if self.resource_check is not None:
            for resource in resources:
                found.extend(f"{resource.name}: {v}" for v in self.resource_check(resource, context))
        if self.stack_check is not None:
            found.extend(self.stack_check(resources, context))
        return found
