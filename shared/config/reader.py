"""Typed reads of raw stack configuration, each failing with a `ConfigError` that names the key.

A `ConfigReader` wraps anything that maps a key to its raw string (as `pulumi.Config.get` does), so the
same validation runs under `pulumi up`, the offline engine and plain unit tests.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import pulumi

from shared.errors import ConfigError

T = TypeVar("T")
RawGet = Callable[[str], str | None]
IsSecret = Callable[[str], bool]
PresentKeys = Callable[[], Iterable[str]]
HIDDEN = "<hidden>"  # what an error shows in place of a credential


class ConfigReader:
    """Reads one Pulumi project's config keys as typed, validated values."""

    def __init__(
        self, raw: RawGet, is_secret: IsSecret = lambda key: False, present: PresentKeys = tuple
    ) -> None:
        self._raw = raw
        self._is_secret = is_secret
        self._present = present

    @classmethod
    def from_pulumi(cls) -> ConfigReader:
        """Read the current project's config (`pulumi config set <key> <value>`)."""
        from pulumi.runtime.config import is_config_secret

        config = pulumi.Config()
        return cls(config.get, lambda key: is_config_secret(config.full_key(key)), _project_keys)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], secret_keys: Iterable[str] = ()) -> ConfigReader:
        """Read from a plain mapping; non-string values are encoded the way Pulumi stores them."""
        encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
        secrets = frozenset(secret_keys)
        return cls(encoded.get, secrets.__contains__, encoded.keys)

    def present_keys(self) -> frozenset[str]:
        """Every key the stack sets (this project's namespace, without its prefix)."""
        return frozenset(self._present())

    def shown_value(self, key: str) -> str | None:
        """The raw value as an error may show it: a secret is never shown."""
        return HIDDEN if self._is_secret(key) else self.raw(key)

    def raw(self, key: str) -> str | None:
        value = self._raw(key)
        return None if value is None or value == "" else value

    def string(self, key: str, default: str) -> str:
        value = self.raw(key)
        return default if value is None else value

    def optional_string(self, key: str) -> str | None:
        return self.raw(key)

    def integer(
        self, key: str, default: int, *, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        value = self.raw(key)
        if value is None:
            number = default
        else:
            try:
                number = int(value)
            except ValueError:
                raise ConfigError(key, value, "must be a whole number") from None
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            low = "" if minimum is None else f"at least {minimum}"
            high = "" if maximum is None else f"at most {maximum}"
            raise ConfigError(key, number, "must be " + " and ".join(p for p in (low, high) if p))
        return number

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise ConfigError(key, value, "must be true or false")

    def choice(self, key: str, default: str, choices: Iterable[str]) -> str:
        allowed = tuple(choices)
        value = self.string(key, default)
        if value not in allowed:
            raise ConfigError(
                key,
                value,
                "must be one of " + ", ".join(repr(c) for c in allowed),
                f"pulumi config set {key} {allowed[0]}",
            )
        return value

    def json_value(self, key: str, default: T) -> T | Any:
        value = self.raw(key)
        if value is None:
            return default
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise ConfigError(key, value, "must be valid JSON (a list or an object)") from None

    def string_list(self, key: str, default: Iterable[str]) -> tuple[str, ...]:
        value = self.json_value(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(
                key,
                value,
                "must be a list of strings",
                f"pulumi config set --path '{key}[0]' <value> (or a JSON list)",
            )
        return tuple(value)

    def secret(self, key: str) -> pulumi.Output[str] | None:
        """A credential: must be stored with `--secret`, and stays a secret `Output` from here on.

        A plaintext credential in `Pulumi.<stack>.yaml` would sit in git; refusing it is cheaper than
        rotating it after the fact. The error never shows the value.
        """
        value = self.raw(key)
        if value is None:
            return None
        if not self._is_secret(key):
            raise ConfigError(
                key,
                HIDDEN,
                "holds a credential, so it must be stored encrypted; it is plaintext in the stack config",
                f"pulumi config rm {key} && pulumi config set --secret {key} <value>",
            )
        return pulumi.Output.secret(value)

    def cidr(self, key: str, default: str) -> ipaddress.IPv4Network:
        return parse_cidr(key, self.string(key, default))


def _project_keys() -> list[str]:
    """The current project's keys in the program's config (`<project>:<key>` in Pulumi's settings)."""
    from pulumi.runtime.config import CONFIG, get_config_env

    prefix = f"{pulumi.get_project()}:"
    every = {**get_config_env(), **CONFIG.get()}
    return [key.removeprefix(prefix) for key in every if key.startswith(prefix)]


def parse_cidr(key: str, value: str) -> ipaddress.IPv4Network:
    """An IPv4 network in CIDR notation whose address is the network address (10.0.0.0/16)."""
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as error:
        raise ConfigError(key, value, f"must be an IPv4 CIDR block such as 10.0.0.0/16 ({error})") from None
    if not isinstance(network, ipaddress.IPv4Network):
        raise ConfigError(key, value, "must be an IPv4 CIDR block such as 10.0.0.0/16")
    return network
