"""A layer's config as a whole: loading it, refusing keys it does not declare, and the fix of a refusal.

Every refusal while a layer's config loads leaves `load_layer` naming the layer's directory and an
example value of the refused key that has been tried and passes validation: the raiser's own (a
list made of the bare value given, a memory size that suits the CPU), else the key's declared
`example_value`. A key given to the wrong layer is refused with the layer it belongs to.

The Pulumi CLI checks only the keys a project declares and passes any other one through in silence
(`mergeConfig` and `validateStackConfigValues` in pulumi/pulumi, sdk/go/common/workspace/config.go),
so a misspelled `maxCapacty` would leave maxCapacity at its default. The program refuses it instead,
which covers `pulumi up`, `plan` and preflight alike.
"""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from shared.config.keys import LAYER_KEYS
from shared.config.reader import ConfigReader
from shared.contracts import NETWORK_PROJECT, PLATFORM_PROJECT, SERVICES_PROJECT
from shared.errors import HIDDEN, ConfigError, shown
from shared.layers import Layer

T = TypeVar("T")


def declared_keys(layer: Layer) -> frozenset[str]:
    """The keys `shared/config/keys.py` declares for the layer."""
    return frozenset(LAYER_KEYS[layer])


def layer_reader(layer: Layer, reader: ConfigReader) -> ConfigReader:
    """`reader` bound to the layer's declarations, once no undeclared key is set."""
    bound = reader.declared(LAYER_KEYS[layer])
    refuse_unknown_keys(layer, bound)
    return bound


def load_layer(layer: Layer, reader: ConfigReader, build: Callable[[ConfigReader], T]) -> T:
    """`build` the layer's config from `reader`, once no undeclared key is set; a refusal names the
    layer's directory and a tried example of the refused key."""
    bound = layer_reader(layer, reader)
    try:
        return build(bound)
    except ConfigError as error:
        error.layer = error.layer or layer
        key = LAYER_KEYS[layer].get(error.key)
        if key is not None:
            error.plannable = not key.secret
            error.example = _valid_example(bound, build, error.key, (error.example, key.example_raw))
            if error.example is not None:
                error.set_command = key.set_command(error.example)
        raise


def _valid_example(
    reader: ConfigReader, build: Callable[[ConfigReader], Any], key: str, candidates: tuple[str | None, ...]
) -> str | None:
    """The first candidate with which the layer's config no longer refuses `key`."""
    for candidate in candidates:
        if candidate is None:
            continue
        try:
            build(reader.with_value(key, candidate))
        except ConfigError as error:
            if error.key == key or error.key.startswith(f"{key}."):  # images.<service> is images
                continue
        except Exception:  # past validation (e.g. a secret Output outside a program): it passed
            return candidate
        return candidate
    return None


def refuse_unknown_keys(layer: Layer, reader: ConfigReader) -> None:
    """Raise a ConfigError for the first key the layer does not declare: the layer it belongs to,
    else the closest known key."""
    known = declared_keys(layer)
    for key in sorted(reader.present_keys()):
        if ":" in key:
            _refuse_unknown_namespace(layer, key)
            continue  # another package's key (aws:region) is that package's to check
        if key.split(".", 1)[0] in known:  # `images.api-gateway` is a path inside `images`
            continue
        owners = [other for other in LAYER_KEYS if key.split(".", 1)[0] in LAYER_KEYS[other]]
        if owners:
            _refuse_misplaced_key(layer, key, owners, reader)
        close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}" if close else f"known keys: {', '.join(sorted(known))}"
        intended = LAYER_KEYS[layer][close[0]] if close else None
        set_it = (
            "pulumi config set <key> <value>"
            if intended is None or intended.example_raw is None
            else intended.set_command(intended.example_raw)
        )
        plan = (
            ""
            if intended is None or intended.example_raw is None or intended.secret
            else f"; with plan: --config {shlex.quote(f'{layer}:{intended.name}={intended.example_raw}')}"
        )
        raise ConfigError(
            key,
            reader.shown_value(key),
            f"is not a config key of the {layer} layer ({hint})",
            f"in stacks/{layer}: pulumi config rm {key} && {set_it}{plan} "
            f"(stacks/{layer}/README.md lists every key)",
        )


def _refuse_misplaced_key(layer: Layer, key: str, owners: list[Layer], reader: ConfigReader) -> None:
    """A key another layer declares (`network:taskCpu`): name the layer(s) it belongs to."""
    owner = owners[0]
    declared = LAYER_KEYS[owner][key.split(".", 1)[0]]
    example = declared.example_raw
    set_it = declared.set_command(example) if example is not None else f"pulumi config set {key} <value>"
    override = shlex.quote(f"{owner}:{key}={example}")
    plan = "" if example is None or declared.secret else f"; with plan: --config {override}"
    raise ConfigError(
        key,
        reader.shown_value(key),
        "belongs to " + " and to ".join(f"the {o} layer (stacks/{o})" for o in owners) + f", not to {layer}",
        f"in stacks/{layer}: pulumi config rm {key}; then in stacks/{owner}: {set_it}{plan}",
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
        HIDDEN,
        f"is in namespace {shown(namespace)}, which nothing in the {layer} layer reads "
        f"(did you mean {PROJECTS[layer]}:{name})",
        f"in stacks/{layer}: pulumi config rm {shlex.quote(key)}, then set {name} again",
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
            example = key.example_raw or "[]"
            raise ConfigError(
                name,
                value,
                "must be stored as a list; `pulumi up` refuses a string for this array key",
                f"in stacks/{layer}: pulumi config rm {name} && {key.set_command(example)}",
            )
