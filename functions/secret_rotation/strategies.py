"""How each kind of secret gets a new value, installs it and proves it works.

The kind is read from the value itself: a JSON object with `"engine": "postgres"` is a database
connection (the shape AWS's own rotation templates use); anything else is an opaque API key.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from typing import Protocol

Random = Callable[[int], str]  # returns a random string of the given length (GetRandomPassword)

API_KEY_LENGTH = int(os.environ.get("API_KEY_LENGTH", "48"))
DATABASE_PASSWORD_LENGTH = int(os.environ.get("DATABASE_PASSWORD_LENGTH", "32"))
# Provider keys come in many shapes (sk_live_..., UUIDs); what every usable one has in common.
_API_KEY = re.compile(r"[\x21-\x7e]{16,}")
CONNECTION_FIELDS = ("engine", "host", "port", "username", "password", "dbname")


class RotationError(RuntimeError):
    """The rotation cannot go on; Secrets Manager marks it failed and AWSCURRENT stays as it was."""


class Strategy(Protocol):
    def next_value(self, current: str, random: Random) -> str: ...
    def apply(self, pending: str, current: str, previous: str | None) -> None: ...
    def verify(self, pending: str) -> None: ...


class ApiKeyStrategy:
    """A third-party API key: a new random value each rotation.

    The providers here have no key-management API, so there is nothing to install (setSecret is a
    no-op); a provider that has one would register the new key in `apply`.
    """

    def next_value(self, current: str, random: Random) -> str:
        return random(API_KEY_LENGTH)

    def apply(self, pending: str, current: str, previous: str | None) -> None:
        return None

    def verify(self, pending: str) -> None:
        if not _API_KEY.fullmatch(pending):
            raise RotationError("the pending API key is not 16 or more printable characters without spaces")


class PostgresStrategy:
    """A PostgreSQL login (single-user rotation): the password changes, nothing else does."""

    def __init__(self) -> None:
        from .postgres import check_login, set_password  # pg8000 only loads for database secrets

        self._check_login = check_login
        self._set_password = set_password

    def next_value(self, current: str, random: Random) -> str:
        connection = parse_connection(current)
        return json.dumps({**connection, "password": random(DATABASE_PASSWORD_LENGTH)})

    def apply(self, pending: str, current: str, previous: str | None) -> None:
        new, now = parse_connection(pending), parse_connection(current)
        for field in ("host", "port", "username", "dbname"):
            if new[field] != now[field]:
                raise RotationError(f"the pending secret changes {field}; rotation only changes the password")
        if self._check_login(new):
            return  # a retry after the password was already changed
        for candidate in (now, parse_connection(previous) if previous else None):
            if candidate is not None and self._check_login(candidate):
                self._set_password(candidate, str(new["username"]), str(new["password"]))
                return
        raise RotationError("cannot log in with the current or the previous credentials")

    def verify(self, pending: str) -> None:
        if not self._check_login(parse_connection(pending)):
            raise RotationError("the pending credentials cannot log in")


def parse_connection(value: str) -> dict[str, object]:
    connection = json.loads(value)
    missing = [f for f in CONNECTION_FIELDS if f not in connection]
    if missing:
        raise RotationError(f"the connection secret lacks {', '.join(missing)}")
    return dict(connection)


def strategy_for(value: str) -> Strategy:
    try:
        document = json.loads(value)
    except json.JSONDecodeError:
        return ApiKeyStrategy()
    if not isinstance(document, dict):
        return ApiKeyStrategy()
    engine = document.get("engine")
    if engine == "postgres":
        return PostgresStrategy()
    raise RotationError(f"no rotation strategy for engine {engine!r}; supported: postgres")
