"""The compliance tags: Environment and CostCenter on the provider, Service on every resource.

Environment and CostCenter go into the AWS provider's `default_tags`, so every taggable resource the
provider creates carries them. `Service` names the owner of a resource and differs per component, so a
component hands `tags.for_resource(...)` to each child explicitly. That is deliberate: Pulumi's
`transforms` option runs in the engine and is not applied under `set_mocks`, so tags added that way
would be invisible to the tests and the offline plan (docs/architecture.md, "Naming and tags").
"""

from __future__ import annotations

from dataclasses import dataclass

ENVIRONMENT = "Environment"
COST_CENTER = "CostCenter"
SERVICE = "Service"
NAME = "Name"
REQUIRED_TAGS = (ENVIRONMENT, SERVICE, COST_CENTER)


def base_tags(environment: str, cost_center: str) -> dict[str, str]:
    """The tags the AWS provider applies to everything through `default_tags`."""
    return {ENVIRONMENT: environment, COST_CENTER: cost_center}


@dataclass(frozen=True)
class ServiceTags:
    """The `Service` tag a component puts on each of its children, plus a readable `Name`."""

    service: str

    def for_resource(self, name: str | None = None, **extra: str) -> dict[str, str]:
        """Tags for one child resource; `name` becomes the console-visible `Name` tag."""
        tags = {SERVICE: self.service, **extra}
        if name is not None:
            tags[NAME] = name
        return tags
