"""Which real Pulumi stacks a command touches: one stack per layer, and the stacks each layer is linked
to through `StackReference` (its upstreams) or that link to it (its downstreams).

The links are read the way the layer programs read them (`shared.contracts.upstream_stack_name`): a
stack's `networkStack` / `platformStack` config when set, else the same organization and stack name in
the upstream project. So a refusal here names exactly the stack that `pulumi up` would have read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from offline.layer_projects import LAYER_ORDER, Layer

Command = Literal["preview", "up", "destroy", "outputs"]
COMMANDS: tuple[Command, ...] = ("preview", "up", "destroy", "outputs")
# The config key through which each layer names each of its upstream stacks.
UPSTREAM_CONFIG_KEYS: dict[str, dict[str, str]] = {
    "network": {},
    "platform": {"network": "networkStack"},
    "services": {"network": "networkStack", "platform": "platformStack"},
}


class UnknownLayerError(ValueError):
    """A `--layer` that is not one of the repository's layers."""


@dataclass(frozen=True, order=True)
class StackId:
    """A fully qualified stack: `<organization>/<project>/<stack>`."""

    organization: str
    project: str
    stack: str

    @property
    def full(self) -> str:
        return f"{self.organization}/{self.project}/{self.stack}"

    @classmethod
    def parse(cls, full: str) -> StackId:
        parts = full.split("/")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"{full!r} is not a fully qualified stack name <org>/<project>/<stack>")
        return cls(*parts)

    def __str__(self) -> str:
        return self.full


def layer_order(command: Command, layer: str | None = None) -> tuple[str, ...]:
    """The layers a command runs, in the order it runs them: destroy goes top-down, all else bottom-up."""
    if layer is not None:
        if layer not in LAYER_ORDER:
            raise UnknownLayerError(f"unknown layer {layer!r}: use one of {', '.join(LAYER_ORDER)}")
        return (layer,)
    return tuple(reversed(LAYER_ORDER)) if command == "destroy" else LAYER_ORDER


def layer_of_project(project: str) -> str:
    for name in LAYER_ORDER:
        if Layer(name).project == project:
            return name
    raise UnknownLayerError(f"no layer of this repository is the Pulumi project {project!r}")


def layer_stack(layer: str, stack: str, organization: str) -> StackId:
    return StackId(organization, Layer(layer).project, stack)


def upstream_stacks(layer: str, stack: str, organization: str) -> dict[str, StackId]:
    """The stacks `layer`'s program reads, keyed by upstream layer, as its stack config names them."""
    config = Layer(layer).stack_config(stack)
    upstreams: dict[str, StackId] = {}
    for upstream, key in UPSTREAM_CONFIG_KEYS[layer].items():
        configured = config.get(key)
        upstreams[upstream] = (
            StackId.parse(str(configured)) if configured else layer_stack(upstream, stack, organization)
        )
    return upstreams


def upstream_config_key(layer: str, upstream: str) -> str:
    return UPSTREAM_CONFIG_KEYS[layer][upstream]


def downstream_stacks(layer: str, stack: str, organization: str) -> list[tuple[str, StackId]]:
    """Every stack that may read `layer`'s stack `stack`, with its layer.

    That is each stack config file of a layer above whose links point at it, and, for each layer above,
    the same-named stack when this checkout has no config file for it (another owner's stack).
    """
    target = layer_stack(layer, stack, organization)
    found: set[tuple[str, StackId]] = set()
    for downstream in LAYER_ORDER[LAYER_ORDER.index(layer) + 1 :]:
        directory = Layer(downstream).directory
        local_stacks = [
            p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in directory.glob("Pulumi.*.yaml")
        ]
        for other in local_stacks:
            if upstream_stacks(downstream, other, organization).get(layer) == target:
                found.add((downstream, layer_stack(downstream, other, organization)))
        if stack not in local_stacks:
            found.add((downstream, layer_stack(downstream, stack, organization)))
    return sorted(found, key=lambda item: (LAYER_ORDER.index(item[0]), item[1]))
