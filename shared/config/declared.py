"""The refusal of any config key a layer does not declare, with the declared key it resembles.

The Pulumi CLI checks only the keys a project declares and passes any other one through in silence
(`mergeConfig` and `validateStackConfigValues` in pulumi/pulumi, sdk/go/common/workspace/config.go),
so a misspelled `maxCapacty` would leave maxCapacity at its default. The program refuses it instead,
which covers `pulumi up`, `plan` and preflight alike.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from shared.config.keys import LAYER_KEYS
from shared.config.reader import ConfigReader
from shared.contracts import NETWORK_PROJECT, PLATFORM_PROJECT, SERVICES_PROJECT
from shared.errors import ConfigError
from shared.layers import Layer


def declared_keys(layer: Layer) -> frozenset[str]:
    """The keys `shared/config/keys.py` declares for the layer."""
    return frozenset(LAYER_KEYS[layer])


def layer_reader(layer: Layer, reader: ConfigReader) -> ConfigReader:
    """`reader` bound to the layer's declarations, once no undeclared key is set."""
    bound = reader.declared(LAYER_KEYS[layer])
    refuse_unknown_keys(layer, bound)
    return bound


def refuse_unknown_keys(layer: Layer, reader: ConfigReader) -> None:
    """Raise a ConfigError for the first key the layer does not declare, with the closest known key."""
    known = declared_keys(layer)
    for key in sorted(reader.present_keys()):
        if ":" in key:
            _refuse_unknown_namespace(layer, key)
            continue  # another package's key (aws:region) is that package's to check
        if key.split(".", 1)[0] in known:  # `images.api-gateway` is a path inside `images`
            continue
        close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}" if close else f"known keys: {', '.join(sorted(known))}"
        intended = close[0] if close else "<key>"
        raise ConfigError(
            key,
            reader.shown_value(key),
            f"is not a config key of the {layer} layer ({hint})",
            f"pulumi config rm {key} && pulumi config set {intended} <value> in stacks/{layer}, or correct "
            f"the key given to --config (stacks/{layer}/README.md lists every key)",
        )


PROJECTS: dict[Layer, str] = {
    "network": NETWORK_PROJECT,
    "platform": PLATFORM_PROJECT,
    "services": SERVICES_PROJECT,
}
# The packages a layer's program reads config from: its own project, the AWS provider, Pulumi itself.
KNOWN_NAMESPACES = ("aws", "pulumi")


def _refuse_unknown_namespace(layer: Layer, key: str) -> None:
    namespace, _, name = key.partition(":")
    if namespace in KNOWN_NAMESPACES or namespace == PROJECTS[layer]:
        return
    raise ConfigError(
        key,
        "(set)",
        f"is in namespace {namespace!r}, which nothing in the {layer} layer reads "
        f"(did you mean {PROJECTS[layer]}:{name})",
        f"pulumi config rm {key!r} and set {name} again in stacks/{layer}",
    )


def refuse_values_pulumi_would_reject(layer: str, stored: Mapping[str, Any]) -> None:
    """Stack-file values of a type the Pulumi CLI refuses for a declared key, before `up` finds out.

    Pulumi checks a declared array key's stored value as an array, so a JSON string (what
    `pulumi config set key '["a"]'` stores) fails `pulumi up` with "must be of type 'array<string>'"
    (`validateStackConfigValue`, pulumi/pulumi sdk/go/common/workspace/config.go); only
    `pulumi config set --path 'key[0]' a` stores a list.
    """
    keys = next((declared for name, declared in LAYER_KEYS.items() if name == layer), {})
    for name, value in sorted(stored.items()):
        key = keys.get(name)
        if key is not None and key.type == "array" and not isinstance(value, list):
            raise ConfigError(
                name,
                value,
                "must be stored as a list; `pulumi up` refuses a string for this array key",
                f"pulumi config rm {name} && pulumi config set --path '{name}[0]' <first value> "
                f"(and [1], ... for more) in stacks/{layer}",
            )
