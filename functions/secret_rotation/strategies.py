"""How each secret gets a new value, installs it, proves it works, and retires the old one.

A database connection is recognised by its value (a JSON object with `"engine": "postgres"`, the
shape AWS's own rotation templates use): alternating users with `masterarn`, single user without.
An API key's strategy comes from the function's environment, `ROTATION_STRATEGIES`: a JSON object
`{"<secret name>": {"strategy": "notify" | "http-key-api", "keyApiUrl": "https://..."}}` that the
platform layer writes from stack config. A secret it does not name gets `notify`, which never
invents a key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any, Protocol

from .errors import RotationError

Random = Callable[[int], str]  # returns a random string of the given length (GetRandomPassword)

DATABASE_PASSWORD_LENGTH = int(os.environ.get("DATABASE_PASSWORD_LENGTH", "32"))
STRATEGIES_VARIABLE = "ROTATION_STRATEGIES"


class Strategy(Protocol):
    def create(self, current: str) -> str:
        """The pending value; raises ManualRotationError when the strategy may not make one."""
        ...

    def set(self, pending: str, current: str, previous: str | None) -> None:
        """Make the pending value valid where it is used (database, provider)."""
        ...

    def test(self, pending: str) -> None:
        """Prove the pending value works; raise RotationError if not."""
        ...

    def retire(self, old: str, current: str) -> None:
        """After finishSecret: invalidate the value AWSCURRENT no longer points at (if anything)."""
        ...


def strategy_for(name: str, value: str, client: Any, random: Random, token: str) -> Strategy:
    from . import api_keys, database_credentials  # pg8000 loads only for database secrets

    document = _json_object(value)
    if document is not None and "engine" in document:
        if document["engine"] != "postgres":
            raise RotationError(
                f"no rotation strategy for engine {document['engine']!r}; supported: postgres"
            )
        new_password = lambda: random(DATABASE_PASSWORD_LENGTH)  # noqa: E731 - only create calls it
        if database_credentials.is_alternating(value):
            return database_credentials.AlternatingUsers(client, new_password)
        return database_credentials.SingleUser(new_password)
    return api_keys.for_secret(name, configured(name), token)


def configured(name: str) -> dict[str, str]:
    """This secret's entry of ROTATION_STRATEGIES, `{}` when it has none."""
    raw = os.environ.get(STRATEGIES_VARIABLE, "{}")
    try:
        table = json.loads(raw)
    except json.JSONDecodeError as error:
        raise RotationError(f"{STRATEGIES_VARIABLE} is not JSON: {error}") from error
    entry = table.get(name, {}) if isinstance(table, dict) else None
    if not isinstance(entry, dict):
        raise RotationError(f"{STRATEGIES_VARIABLE}[{name!r}] must be an object")
    return {str(k): str(v) for k, v in entry.items()}


def _json_object(value: str) -> dict[str, Any] | None:
    try:
        document = json.loads(value)
    except json.JSONDecodeError:
        return None
    return document if isinstance(document, dict) else None
