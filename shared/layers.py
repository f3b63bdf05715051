"""The layers, in deploy order: each is one Pulumi project under `stacks/<layer>`."""

from __future__ import annotations

from typing import Literal

Layer = Literal["network", "platform", "services"]
LAYERS: tuple[Layer, ...] = ("network", "platform", "services")  # destroy runs in reverse
