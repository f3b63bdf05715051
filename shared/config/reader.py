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

from shared.config.keys import Key
from shared.errors import HIDDEN, ConfigError, shown

T = TypeVar("T")
RawGet = Callable[[str], str | None]
IsSecret = Callable[[str], bool]
PresentKeys = Callable[[], Iterable[str]]
__all__ = ["HIDDEN", "ConfigReader", "parse_cidr"]


class ConfigReader:
    """Reads one Pulumi project's config keys as typed, validated values.

    Bound to a layer's declarations (`declared`), every read takes the key's default and limits from
    `shared/config/keys.py`; a read of an undeclared key, or as the wrong type, is a programming error.
    """

    def __init__(
        self,
        raw: RawGet,
        is_secret: IsSecret = lambda key: False,
        present: PresentKeys = tuple,
        keys: Mapping[str, Key] | None = None,
    ) -> None:
        self._raw = raw
        self._is_secret = is_secret
        self._present = present
        self._keys: Mapping[str, Key] = keys or {}

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

    def declared(self, keys: Mapping[str, Key]) -> ConfigReader:
        """The same values, read against one layer's declarations."""
        return ConfigReader(self._raw, self._is_secret, self._present, keys)

    def with_value(self, key: str, raw: str) -> ConfigReader:
        """The same values with `key` set to `raw` (stored as a secret if the key is declared one):
        how a refusal's example is tried before it is shown."""
        secret = key in self._keys and self._keys[key].secret
        return ConfigReader(
            lambda name: raw if name == key else self._raw(name),
            lambda name: secret if name == key else self._is_secret(name),
            lambda: {*self._present(), key},
            self._keys,
        )

    @property
    def keys(self) -> Mapping[str, Key]:
        return self._keys

    def present_keys(self) -> frozenset[str]:
        """Every key the stack sets (this project's namespace, without its prefix)."""
        return frozenset(self._present())

    def shown_value(self, key: str) -> str | None:
        """The raw value as an error may show it: a secret is never shown."""
        return HIDDEN if self._is_secret(key) else self.raw(key)

    def raw(self, key: str) -> str | None:
        value = self._raw(key)
        return None if value is None or value == "" else value

    def _key(self, name: str, *types: str) -> Key:
        key = self._keys.get(name)
        if key is None:
            raise LookupError(f"config key {name!r} is read but not declared in shared/config/keys.py")
        if key.type not in types:
            raise TypeError(f"config key {name!r} is declared as {key.type}, read as {'/'.join(types)}")
        return key

    @staticmethod
    def _default(key: Key, given: T | None) -> T | Any:
        """The declared default, or `given` for a key whose default follows another value."""
        if given is not None:
            if key.default is not None or key.default_from is None:
                raise TypeError(f"config key {key.name!r} has a declared default; do not pass another")
            return given
        return key.default

    def string(self, name: str, *, default: str | None = None) -> str:
        key = self._key(name, "string")
        value = self.raw(name)
        fallback = self._default(key, default)
        if value is None and fallback is None:
            raise TypeError(f"config key {name!r} has no default; read it with optional_string")
        return str(fallback) if value is None else value

    def optional_string(self, name: str) -> str | None:
        self._key(name, "string")
        return self.raw(name)

    def integer(
        self, name: str, *, default: int | None = None, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        """An integer within the declared bounds and, where given, the bounds other keys set."""
        key = self._key(name, "integer")
        value = self.raw(name)
        if value is None:
            number = self._default(key, default)
            if number is None:
                raise TypeError(f"config key {name!r} has no default")
        else:
            try:
                number = int(value)
            except ValueError:
                raise ConfigError(name, value, "must be a whole number") from None
        low = _tightest(max, key.minimum, minimum)
        high = _tightest(min, key.maximum, maximum)
        if (low is not None and number < low) or (high is not None and number > high):
            parts = [
                f"at least {low}" if low is not None else "",
                f"at most {high}" if high is not None else "",
            ]
            raise ConfigError(name, number, "must be " + " and ".join(p for p in parts if p))
        return int(number)

    def boolean(self, name: str) -> bool:
        key = self._key(name, "boolean")
        value = self.raw(name)
        if value is None:
            return bool(key.default)
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise ConfigError(name, value, "must be true or false")

    def choice(self, name: str) -> str:
        key = self._key(name, "string")
        value = self.string(name)
        if value not in key.choices:
            raise ConfigError(
                name,
                value,
                "must be one of " + ", ".join(shown(c) for c in key.choices),
                example=str(key.default or key.choices[0]),
            )
        return value

    def json_value(self, name: str) -> Any:
        """A map or list as JSON (what `pulumi config set --path` stores); the declared default if unset."""
        key = self._key(name, "map", "array")
        value = self.raw(name)
        if value is None:
            return {} if key.type == "map" and key.default is None else key.default
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            # A bare value where a list belongs is most likely its one item: suggest it as a list.
            wrapped = json.dumps([value] if key.type == "array" else {"<name>": value})
            what = "a list" if key.type == "array" else "an object"
            raise ConfigError(name, value, f"must be {what} written as JSON", example=wrapped) from None

    def string_list(self, name: str) -> tuple[str, ...]:
        self._key(name, "array")
        value = self.json_value(name)
        if isinstance(value, tuple):
            value = list(value)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(name, value, "must be a list of strings")
        return tuple(value)

    def secret(self, name: str) -> pulumi.Output[str] | None:
        """A credential: must be stored with `--secret`, and stays a secret `Output` from here on.

        A plaintext credential in `Pulumi.<stack>.yaml` would sit in git; refusing it is cheaper than
        rotating it after the fact. The error never shows the value.
        """
        key = self._key(name, "string")
        if not key.secret:
            raise TypeError(f"config key {name!r} is not declared secret")
        value = self.raw(name)
        if value is None:
            return None
        if not self._is_secret(name):
            raise ConfigError(
                name,
                HIDDEN,
                "holds a credential, so it must be stored encrypted; it is plaintext in the stack config",
                f"pulumi config set --secret {name} <the value> (this replaces the plaintext)",
            )
        return pulumi.Output.secret(value)

    def cidr(self, name: str) -> ipaddress.IPv4Network:
        return parse_cidr(name, self.string(name))


def _tightest(pick: Callable[[Iterable[int]], int], *bounds: int | None) -> int | None:
    given = [b for b in bounds if b is not None]
    return pick(given) if given else None


def _project_keys() -> list[str]:
    """The keys in the program's config: this project's without their `<project>:` prefix, every
    other namespace's as they are (`aws:region`), so a misspelled namespace can be refused too."""
    from pulumi.runtime.config import CONFIG, get_config_env

    prefix = f"{pulumi.get_project()}:"
    every = {**get_config_env(), **CONFIG.get()}
    return [key.removeprefix(prefix) for key in every]


def parse_cidr(key: str, value: str) -> ipaddress.IPv4Network:
    """An IPv4 network in CIDR notation whose address is the network address (10.0.0.0/16)."""
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as error:
        raise ConfigError(key, value, f"must be an IPv4 CIDR block such as 10.0.0.0/16 ({error})") from None
    if not isinstance(network, ipaddress.IPv4Network):
        raise ConfigError(key, value, "must be an IPv4 CIDR block such as 10.0.0.0/16")
    return network
