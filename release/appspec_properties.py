"""The settings a release carries to a service, from the services stack's `appSpecProperties` output.

UpdateService cannot change a CODE_DEPLOY service's network configuration, platform version or
capacity provider strategy, so `pulumi up` leaves them alone and exports what they should be
(stacks/services/appspec_properties.py). A release reads them here and puts them into its AppSpec;
without them it keeps what the service runs now.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from release.targets import ReleaseError
from shared.contracts import ServicesExports

# stack -> the services stack's outputs, or None when they cannot be read here (no Pulumi CLI, ...)
OutputsReader = Callable[[str], Mapping[str, Any] | None]
FIELDS = ("networkConfiguration", "platformVersion", "capacityProviderStrategy", "taskDefinition")


def from_file(path: str) -> OutputsReader:
    """Outputs saved with `pulumi stack output --json` in stacks/services, or `payments-deploy outputs
    <stack> --json --layer services` (whose JSON nests them under "services")."""

    def read(stack: str) -> Mapping[str, Any]:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise ReleaseError(f"cannot read stack outputs from {path}: {error}") from None
        if not isinstance(data, dict):
            raise ReleaseError(f"{path} holds no JSON object of stack outputs")
        return dict(data.get("services", data))

    return read


def from_pulumi(stack: str) -> Mapping[str, Any] | None:
    """The services stack's outputs through the Pulumi Automation API, or None without a usable CLI."""
    from pulumi import automation as auto

    from deploy.backend import AutomationBackend, NotLoggedInError, StackMissingError

    backend = AutomationBackend()
    if backend.cli_version() is None:
        return None
    try:
        outputs = backend.open_stack("services", stack, create=False).outputs()
    except (NotLoggedInError, StackMissingError, auto.CommandError):
        return None  # not logged in, no such stack, or a CLI error: the caller says what it keeps
    return {name: output.value for name, output in outputs.items()}


def desired_settings(
    outputs: Mapping[str, Any] | None, service: str, out: Callable[[str], None]
) -> dict[str, Any]:
    """The service's `appSpecProperties` entry (DescribeServices' shape); {} keeps the running ones."""
    settings = (outputs or {}).get(ServicesExports.APPSPEC_PROPERTIES) or {}
    wanted = settings.get(service)
    if not isinstance(wanted, dict):
        out(
            "stack outputs with appSpecProperties not found (no Pulumi CLI here, or a stack from before "
            "they existed): the release keeps the service's running network configuration, platform "
            "version and capacity provider strategy; pass --outputs <file> to carry config changes"
        )
        return {}
    unknown = set(wanted) - set(FIELDS)
    if unknown:
        raise ReleaseError(f"appSpecProperties of {service} has unknown fields {sorted(unknown)}")
    pending = ((outputs or {}).get(ServicesExports.PENDING_RELEASES) or {}).get(service) or []
    if pending:
        out(f"this release carries the config changes waiting for it: {', '.join(pending)}")
    return dict(wanted)
