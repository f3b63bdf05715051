"""The one error type bad configuration raises, before any resource is created."""

from __future__ import annotations

from typing import Any


class ConfigError(ValueError):
    """A configuration value that AWS or this project would reject.

    The message always names the config key, the offending value, the rule and how to fix it, so the
    person running `pulumi up` can act on it without reading code.
    """

    def __init__(self, key: str, value: object, rule: str, fix: str | None = None) -> None:
        self.key = key
        self.value = value
        self.rule = rule
        self.fix = fix or f"set it with: pulumi config set {key} <value>"
        super().__init__(f"{key}: {rule}, got {value!r}. Fix: {self.fix}")

    def __reduce__(self) -> tuple[Any, ...]:
        """Picklable with its own arguments: a layer's refusal crosses from its process (offline.host)."""
        return (type(self), (self.key, self.value, self.rule, self.fix), self.__dict__)
