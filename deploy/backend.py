"""The Pulumi side of a deployment: the CLI, the logged-in backend and the stacks, behind one protocol.

`AutomationBackend` drives the real Pulumi CLI through `pulumi.automation` (a `LocalWorkspace` per
`stacks/<layer>` folder). The runner and the preflight checks only see the `Backend` protocol, so the
tests replace it with an in-memory fake and check ordering and refusals without a CLI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from deploy.policy_pack import policy_pack_arguments
from deploy.stacks import StackId
from offline.layer_projects import Layer

OnOutput = Callable[[str], None]
# Backends that keep state in storage the user owns; their organization is always "organization".
SELF_MANAGED_SCHEMES = ("file", "s3", "azblob", "gs", "postgres")
SELF_MANAGED_ORGANIZATION = "organization"


class NotLoggedInError(Exception):
    """`pulumi whoami` failed: no backend is selected, or its credentials are gone."""


class StackMissingError(Exception):
    """The stack does not exist in the logged-in backend."""


class OperationError(Exception):
    """A Pulumi operation (preview, up, destroy) ran and failed; its output was already streamed."""


@dataclass(frozen=True)
class Identity:
    """Who `pulumi whoami` says is logged in, and where."""

    user: str
    url: str
    organizations: tuple[str, ...] = ()

    @property
    def self_managed(self) -> bool:
        """A DIY backend (local files, S3...): secrets need a passphrase or a KMS secrets provider."""
        return urlparse(self.url).scheme in SELF_MANAGED_SCHEMES


@dataclass(frozen=True)
class StackOutput:
    value: Any
    secret: bool

    def shown(self) -> Any:
        """What a summary may print: secrets never."""
        return "[secret]" if self.secret else self.value


class LayerStack(Protocol):
    """One layer's stack, selected in its `stacks/<layer>` workspace."""

    def preview(self, on_output: OnOutput) -> dict[str, int]: ...
    def up(self, on_output: OnOutput) -> dict[str, StackOutput]: ...
    def destroy(self, on_output: OnOutput, remove: bool) -> None: ...
    def outputs(self) -> dict[str, StackOutput]: ...
    def set_secret(self, key: str, value: str) -> None: ...


class Backend(Protocol):
    def cli_version(self) -> str | None:
        """`pulumi version` without its leading v, or None when no CLI is on PATH."""

    def identity(self) -> Identity:
        """The logged-in backend; raises NotLoggedInError."""

    def default_organization(self, identity: Identity) -> str:
        """The organization stack references resolve in (what `pulumi.get_organization()` returns)."""

    def resource_count(self, stack: StackId) -> int | None:
        """Resources in the stack's state (0 once destroyed), or None when no such stack exists."""

    def open_stack(self, layer: str, stack: str, *, create: bool) -> LayerStack:
        """Select `stack` in `stacks/<layer>`, creating it when `create`; raises StackMissingError."""


def _outputs(raw: Mapping[str, Any]) -> dict[str, StackOutput]:
    return {name: StackOutput(value.value, bool(value.secret)) for name, value in raw.items()}


def _tail(error: Exception, lines: int = 3) -> str:
    """What went wrong, from a CLI error: its `error:` lines, else the last lines it printed."""
    text = [line.strip().removeprefix("stderr:").strip() for line in str(error).splitlines()]
    errors = [line for line in text if line.startswith("error:")]
    kept = errors or [line for line in text if line and not line.startswith(("code:", "stdout:"))]
    return " | ".join(kept[-lines:]) or type(error).__name__


class AutomationStack:
    """A `pulumi.automation.Stack`, streaming the CLI's output as it comes.

    `policy`: the policy-pack arguments `preview` and `up` pass on (deploy/policy_pack.py). Default: none.
    """

    def __init__(self, stack: Any, policy: Mapping[str, list[str]] | None = None) -> None:
        self._stack = stack
        self._color = "always" if sys.stdout.isatty() else "never"
        self._policy = dict(policy or {})

    def preview(self, on_output: OnOutput) -> dict[str, int]:
        from pulumi import automation as auto

        try:
            result = self._stack.preview(on_output=on_output, color=self._color, diff=False, **self._policy)
        except auto.CommandError as error:
            raise OperationError(_tail(error)) from None
        return {str(op): int(count) for op, count in result.change_summary.items()}

    def up(self, on_output: OnOutput) -> dict[str, StackOutput]:
        from pulumi import automation as auto

        try:
            result = self._stack.up(on_output=on_output, color=self._color, **self._policy)
        except auto.CommandError as error:
            raise OperationError(_tail(error)) from None
        return _outputs(result.outputs)

    def destroy(self, on_output: OnOutput, remove: bool) -> None:
        from pulumi import automation as auto

        try:
            self._stack.destroy(on_output=on_output, color=self._color, remove=remove)
        except auto.CommandError as error:
            raise OperationError(_tail(error)) from None

    def outputs(self) -> dict[str, StackOutput]:
        return _outputs(self._stack.outputs())

    def set_secret(self, key: str, value: str) -> None:
        from pulumi import automation as auto

        self._stack.set_config(key, auto.ConfigValue(value=value, secret=True))


class AutomationBackend:
    """The real thing: the Pulumi CLI on PATH, driven through `pulumi.automation`.

    `policy_pack`: run the compliance policy pack (`policy/`) with every `preview` and `up`. Default: off.
    """

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        secrets_provider: str | None = None,
        *,
        policy_pack: bool = False,
    ) -> None:
        self._env = dict(env or {})
        self._secrets_provider = secrets_provider
        self._policy_pack = policy_pack
        self._policy_configs: Path | None = None

    def _policy_arguments(self, layer: str, stack: str) -> dict[str, list[str]]:
        if not self._policy_pack:
            return {}
        if self._policy_configs is None:
            self._policy_configs = Path(tempfile.mkdtemp(prefix="payments-policy-"))
        return policy_pack_arguments(layer, stack, self._policy_configs)

    def cli_version(self) -> str | None:
        path = shutil.which("pulumi")
        if path is None:
            return None
        result = subprocess.run(
            [path, "version"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **self._env, "PULUMI_SKIP_UPDATE_CHECK": "true"},
            check=False,
        )
        return result.stdout.strip().removeprefix("v") or None

    def _workspace(self, layer: str = "network") -> Any:
        from pulumi import automation as auto

        return auto.LocalWorkspace(
            work_dir=str(Layer(layer).directory),
            env_vars=self._env,
            secrets_provider=self._secrets_provider,
        )

    def identity(self) -> Identity:
        from pulumi import automation as auto

        try:
            who = self._workspace().who_am_i()
        except auto.CommandError as error:
            raise NotLoggedInError(_tail(error)) from None
        return Identity(who.user, who.url or "", tuple(who.organizations or ()))

    def default_organization(self, identity: Identity) -> str:
        from pulumi import automation as auto

        if identity.self_managed:
            return SELF_MANAGED_ORGANIZATION
        try:
            organization = str(self._workspace().org_get_default()).strip()
        except auto.CommandError:
            organization = ""
        return organization or identity.user

    def resource_count(self, stack: StackId) -> int | None:
        from pulumi import automation as auto

        # `stack export` without --show-secrets: counting resources must not decrypt anyone's secrets.
        command = auto.PulumiCommand(skip_version_check=True)
        try:
            result = command.run(
                ["stack", "export", "--stack", stack.full],
                cwd=str(Layer("network").directory),
                additional_env=self._env,
            )
        except auto.StackNotFoundError:
            return None
        except auto.CommandError as error:
            if "no stack named" in str(error):
                return None
            raise
        state = json.loads(result.stdout or "{}")
        return len((state.get("deployment") or {}).get("resources") or [])

    def open_stack(self, layer: str, stack: str, *, create: bool) -> LayerStack:
        from pulumi import automation as auto

        options = auto.LocalWorkspaceOptions(env_vars=self._env, secrets_provider=self._secrets_provider)
        work_dir = str(Layer(layer).directory)
        try:
            if create:
                selected = auto.create_or_select_stack(stack_name=stack, work_dir=work_dir, opts=options)
            else:
                selected = auto.select_stack(stack_name=stack, work_dir=work_dir, opts=options)
        except auto.StackNotFoundError:
            raise StackMissingError(f"stacks/{layer} has no stack {stack!r} in this backend") from None
        return AutomationStack(selected, self._policy_arguments(layer, stack))
