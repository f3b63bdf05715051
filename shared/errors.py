"""The one error type bad configuration raises, before any resource is created."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any


class Verbatim(str):
    """A value an error shows as it is, not quoted: a stand-in such as `<hidden>`."""


HIDDEN = Verbatim("<hidden>")  # what an error shows in place of a credential


def shown(value: object) -> str:
    """A value as a person typed it: strings in double quotes, lists and maps as JSON, booleans in
    lowercase, and no Python spelling (`None`, `'x'`, `True`) anywhere."""
    if isinstance(value, Verbatim):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return json.dumps([v if isinstance(v, str | int | float | bool) else str(v) for v in value])
    if isinstance(value, Mapping):
        return json.dumps(
            {str(k): v if isinstance(v, str | int | float | bool) else str(v) for k, v in value.items()}
        )
    return json.dumps(str(value))


class ConfigError(ValueError):
    """A configuration value that AWS or this project would reject.

    The message names the config key, the offending value, the rule and how to fix it, so the person
    running `pulumi up` can act on it without reading code:

        natGateways: must be one of "perAz", "single", got "two". Fix: in stacks/network:
        pulumi config set natGateways perAz; with plan: --config network:natGateways=perAz

    key, value, rule: what was refused and why; `value` None means the key is unset.
    fix: the command or step that fixes it, when it needs more than setting the key to `example`.
    example: a value of `key`, as the stack stores it (`["10.0.0.0/8"]` for a list), that passes
        validation; the layer's loader fills it in from the key's declaration when the raiser does
        not know one (`shared.config.declared.load_layer`).
    layer: the layer whose stack config holds the key; the loader fills it in. The fix then names
        `stacks/<layer>` and the plan's `--config <layer>:<key>=<example>` form.
    set_command: how to set `key` to a value (`pulumi config set --path 'key[0]' ...` for a list);
        from the key's declaration, like `example`.
    plannable: whether the plan's `--config` form may be shown: not for a credential, which only
        `pulumi config set --secret` stores as one.
    """

    def __init__(
        self,
        key: str,
        value: object,
        rule: str,
        fix: str | None = None,
        *,
        example: str | None = None,
        layer: str | None = None,
    ) -> None:
        self.key = key
        self.value = value
        self.rule = rule
        self.custom_fix = fix
        self.example = example
        self.layer = layer
        self.set_command: str | None = None
        self.plannable = True  # the plan's --config can set it (not a credential, which needs --secret)
        super().__init__(key, value, rule)

    @property
    def fix(self) -> str:
        """What to do, in the layer's directory when the layer is known."""
        if self.custom_fix is not None:
            fix = self.custom_fix
        elif self.set_command is not None:
            fix = self.set_command
        elif self.example is not None:
            fix = f"pulumi config set {self.key} {shlex.quote(self.example)}"
        else:
            fix = f"pulumi config set {self.key} <value>"
        if self.custom_fix is not None and self.set_command is not None and not self.plannable:
            fix = f"{fix}, e.g. {self.set_command}"
        if self.layer is None:
            return fix
        where = "" if f"stacks/{self.layer}" in fix else f"in stacks/{self.layer}: "
        plan = (
            ""
            if self.example is None or not self.plannable
            else f"; with plan: --config {shlex.quote(f'{self.layer}:{self.key}={self.example}')}"
        )
        return f"{where}{fix}{plan}"

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.key}: {self.rule}, and it is unset. Fix: {self.fix}"
        return f"{self.key}: {self.rule}, got {shown(self.value)}. Fix: {self.fix}"

    def __reduce__(self) -> tuple[Any, ...]:
        """Picklable with its own arguments: a layer's refusal crosses from its process (offline.host)."""
        return (type(self), (self.key, self.value, self.rule, self.custom_fix), self.__dict__)
