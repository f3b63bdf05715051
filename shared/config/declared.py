"""The config keys each layer declares, and the refusal of any other key.

A misspelled key (`maxCapacty`) would otherwise be ignored in silence and its default used. The
declaration is the layer's `Pulumi.yaml` `config:` block, the same file the Pulumi CLI reads, plus the
few keys whose type that block cannot express (a map).
"""

from __future__ import annotations

import difflib
import functools
from pathlib import Path

import yaml

from shared.config.reader import ConfigReader
from shared.errors import ConfigError

STACKS_DIRECTORY = Path(__file__).resolve().parents[2] / "stacks"

# Keys a layer reads that Pulumi.yaml cannot declare: it has no map type (pulumi/pulumi#16056).
UNDECLARABLE_KEYS: dict[str, frozenset[str]] = {"services": frozenset({"images"})}


@functools.cache
def declared_keys(layer: str) -> frozenset[str]:
    """The keys of `stacks/<layer>/Pulumi.yaml`'s `config:` block, plus the undeclarable ones."""
    project_file = STACKS_DIRECTORY / layer / "Pulumi.yaml"
    schema = (yaml.safe_load(project_file.read_text()) or {}).get("config") or {}
    # Namespaced entries ("aws:region: us-east-1") set another package's value; they declare nothing.
    own = frozenset(key for key in schema if ":" not in key)
    return own | UNDECLARABLE_KEYS.get(layer, frozenset())


def refuse_unknown_keys(layer: str, reader: ConfigReader) -> None:
    """Raise a ConfigError for the first key the layer does not declare, with the closest known key."""
    known = declared_keys(layer)
    for key in sorted(reader.present_keys()):
        if ":" in key or key.split(".", 1)[0] in known:
            continue
        close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(sorted(known))}"
        raise ConfigError(
            key,
            reader.shown_value(key),
            f"is not a config key of the {layer} layer; {hint}",
            f"pulumi config rm {key}, then set the intended key (stacks/{layer}/Pulumi.yaml declares them)",
        )
