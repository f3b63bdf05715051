"""The refusal of any config key a layer does not declare, with the declared key it resembles.

The Pulumi CLI checks only the keys a project declares and passes any other one through in silence
(`mergeConfig` and `validateStackConfigValues` in pulumi/pulumi, sdk/go/common/workspace/config.go),
so a misspelled `maxCapacty` would leave maxCapacity at its default. The program refuses it instead,
which covers `pulumi up`, `plan` and preflight alike.
"""

from __future__ import annotations

import difflib

from shared.config.keys import LAYER_KEYS
from shared.config.reader import ConfigReader
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
        # Other packages' keys (aws:region) are theirs to check; `images.api-gateway` is a path in `images`.
        if ":" in key or key.split(".", 1)[0] in known:
            continue
        close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(sorted(known))}"
        raise ConfigError(
            key,
            reader.shown_value(key),
            f"is not a config key of the {layer} layer; {hint}",
            f"pulumi config rm {key}, then set the intended key (stacks/{layer}/README.md lists them)",
        )
