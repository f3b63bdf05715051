"""Third-party API keys: one strategy per secret purpose, chosen by ROTATION_STRATEGIES."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import RotationError

# Provider keys come in many shapes (sk_live_..., UUIDs); what every usable one has in common.
_API_KEY = re.compile(r"[\x21-\x7e]{16,}")


class RandomKey:
    """A new random value each rotation (interim: replaced by the provider strategies)."""

    def __init__(self, new_key: Callable[[], str]) -> None:
        self._new_key = new_key

    def create(self, current: str) -> str:
        return self._new_key()

    def set(self, pending: str, current: str, previous: str | None) -> None:
        return None

    def test(self, pending: str) -> None:
        if not _API_KEY.fullmatch(pending):
            raise RotationError("the pending API key is not 16 or more printable characters without spaces")

    def retire(self, old: str, current: str) -> None:
        return None


def for_secret(name: str, entry: dict[str, str], client: Any, new_key: Callable[[], str]) -> RandomKey:
    return RandomKey(new_key)
