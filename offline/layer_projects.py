"""The repository's layers as the offline engine sees them: project, config defaults, example stacks."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from offline.engine import DEFAULT_ORGANIZATION, Evaluation, evaluate
from shared.config.declared import refuse_values_pulumi_would_reject
from shared.layers import LAYERS

REPO_ROOT = Path(__file__).resolve().parents[1]
LAYER_ORDER = LAYERS
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster


def read_yaml(path: Path) -> Any:
    """A YAML file, parsed once per content version (the deploy command reads each file many times)."""
    return _parse_yaml(path, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _parse_yaml(path: Path, mtime_ns: int) -> Any:
    return yaml.load(path.read_text(), Loader=_LOADER)


@dataclass(frozen=True)
class Layer:
    """One Pulumi project under `stacks/`."""

    name: str

    @property
    def directory(self) -> Path:
        return REPO_ROOT / "stacks" / self.name

    @property
    def program(self) -> Path:
        return self.directory / "__main__.py"

    def _project_file(self) -> dict[str, Any]:
        return dict(read_yaml(self.directory / "Pulumi.yaml"))

    @property
    def project(self) -> str:
        return str(self._project_file()["name"])

    def config_schema(self) -> dict[str, dict[str, Any]]:
        """The `config:` block of Pulumi.yaml: key -> {type, default, description}."""
        return dict(self._project_file().get("config") or {})

    def defaults(self) -> dict[str, Any]:
        """Config defaults declared in Pulumi.yaml, as the Pulumi CLI would apply them."""
        return {k: v["default"] for k, v in self.config_schema().items() if "default" in v}

    def stack_config(self, stack: str) -> dict[str, Any]:
        """Values from `Pulumi.<stack>.yaml`, with this project's namespace stripped."""
        path = self.directory / f"Pulumi.{stack}.yaml"
        if not path.exists():
            return {}
        raw = (read_yaml(path) or {}).get("config") or {}
        prefix = f"{self.project}:"
        return {k.removeprefix(prefix): v for k, v in raw.items()}

    def known_stacks(self) -> tuple[str, ...]:
        """The stacks with a `Pulumi.<stack>.yaml` in this layer's folder."""
        return tuple(
            sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in self.directory.glob("Pulumi.*.yaml"))
        )

    def stack_name(self, stack: str, organization: str = DEFAULT_ORGANIZATION) -> str:
        return f"{organization}/{self.project}/{stack}"


def evaluate_layer(
    name: str,
    *,
    stack: str = "dev",
    config: Mapping[str, Any] | None = None,
    upstream: Mapping[str, Mapping[str, Any]] | None = None,
    **options: Any,
) -> Evaluation:
    """Evaluate `stacks/<name>` offline: Pulumi.yaml defaults, then Pulumi.<stack>.yaml, then `config`."""
    layer = Layer(name)
    stored = layer.stack_config(stack)
    refuse_values_pulumi_would_reject(name, stored)
    # A value set with `--secret` is ciphertext only the Pulumi CLI can decrypt: offline it becomes a
    # placeholder that the program sees as a secret, as it would see the decrypted value.
    encrypted = sorted(k for k, v in stored.items() if isinstance(v, dict) and set(v) == {"secure"})
    stored = {k: (f"offline-placeholder-for-{k}" if k in encrypted else v) for k, v in stored.items()}
    merged = {**layer.defaults(), **stored, **(config or {})}
    secret_keys = sorted({*encrypted, *options.pop("secret_keys", ())})
    return evaluate(
        layer.directory,
        project=layer.project,
        stack=stack,
        config=merged,
        secret_keys=secret_keys,
        upstream=upstream,
        **options,
    )


def evaluate_all(
    *,
    stack: str = "dev",
    config: Mapping[str, Mapping[str, Any]] | None = None,
    layers: tuple[str, ...] = LAYER_ORDER,
    live: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
) -> dict[str, Evaluation]:
    """Evaluate layers in deploy order, feeding each one's exports to the next as stack references.

    `live` holds, per layer, the state of a stack that already exists (see `offline.live`)."""
    upstream: dict[str, Mapping[str, Any]] = {}
    results: dict[str, Evaluation] = {}
    for name in layers:
        result = evaluate_layer(
            name,
            stack=stack,
            config=(config or {}).get(name),
            upstream=dict(upstream),
            live=(live or {}).get(name),
        )
        upstream[Layer(name).stack_name(stack)] = result.exports
        results[name] = result
    return results
