"""Idempotent results per key, in memory.

The first request with a key is processed. Retries with the same key and the same content get the
stored result. The same key with different content is refused. A per-key lock makes concurrent
retries wait for the first one instead of processing twice. Failed attempts are not stored, so a
retry after a 503 can succeed. This is in memory, per task, for now: a shared store
such as DynamoDB would be the next step for more than one task per service.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

MAX_ENTRIES = 100_000  # oldest keys are forgotten first


class KeyReusedError(Exception):
    """The idempotency key already belongs to a different request."""


@dataclass(frozen=True)
class Outcome:
    result: dict[str, Any]
    replayed: bool


class Ledger:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._results: OrderedDict[str, tuple[str, dict[str, Any]]] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        self._max_entries = max_entries

    async def once(
        self, key: str, fingerprint: str, process: Callable[[], Awaitable[dict[str, Any]]]
    ) -> Outcome:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            stored = self._results.get(key)
            if stored is not None:
                if stored[0] != fingerprint:
                    raise KeyReusedError(key)
                return Outcome(stored[1], replayed=True)
            result = await process()
            self._results[key] = (fingerprint, result)
            while len(self._results) > self._max_entries:
                old, _ = self._results.popitem(last=False)
                self._locks.pop(old, None)
            return Outcome(result, replayed=False)
