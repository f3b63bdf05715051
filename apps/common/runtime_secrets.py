"""Secrets read at run time through the task role, cached with a TTL and refreshed on demand.

A task definition names each secret of its catalogue entry by ARN, in `<ENV>_SECRET_ARN` (for example
`DATABASE_CONNECTION_SECRET_ARN`); no secret value is ever in the environment. Reads go through AWS's
caching library for Python (`aws-secretsmanager-caching`, `SecretCache`): it calls DescribeSecret to
find the version labelled AWSCURRENT, then GetSecretValue for that version once, and asks again after
`secret_refresh_interval` (randomised between half of it and all of it; the library's
`cache/items.py`, `SecretCacheItem._execute_refresh`). So the task role needs both
`secretsmanager:DescribeSecret` and `secretsmanager:GetSecretValue` on its secrets.

`RuntimeSecrets` keeps the value it last got for `SECRET_CACHE_TTL_SECONDS` (`SECRET_CACHE_TTL` of
`shared/container_settings.py`: its default and bounds), so a
request costs no thread hop; past that it asks the library again, in a worker thread, because the
library is synchronous botocore and must not block the event loop. A consumer whose credentials are
refused (a database login after a rotation) calls `refresh_now`: at most one forced refresh per secret
every `FORCED_REFRESH_INTERVAL_SECONDS`, shared by every caller waiting for it, through the library's
`refresh_secret_now` (which first sleeps a random 2.5-5 s so that many tasks do not call at once).
When Secrets Manager cannot be reached, the last value keeps being served (the library's behaviour),
and a secret that was never read fails with `SecretUnavailableError`.

The endpoint is the AWS SDKs' own setting: `AWS_ENDPOINT_URL_SECRETS_MANAGER` (the service id
"Secrets Manager" in upper case with underscores; botocore ignores `..._SECRETSMANAGER`: its
`configprovider.ConfiguredEndpointProvider`, and https://docs.aws.amazon.com/sdkref/latest/guide/ss-endpoints-table.html)
points it at an emulator locally.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from shared.catalogue import secret_arn_env as arn_env
from shared.container_settings import SECRET_CACHE_TTL

__all__ = ["TTL_ENV", "RuntimeSecrets", "SecretSource", "SecretUnavailableError", "arn_env", "describe"]

TTL_ENV = SECRET_CACHE_TTL.env
DEFAULT_TTL_SECONDS = SECRET_CACHE_TTL.default
FORCED_REFRESH_INTERVAL_SECONDS = 5.0


class SecretUnavailableError(RuntimeError):
    """A secret could not be read and no earlier value is known."""


class SecretSource(Protocol):
    """What `RuntimeSecrets` needs of AWS's `SecretCache` (a fake in unit tests)."""

    def get_secret_string(self, secret_id: str, version_stage: str | None = None) -> str | None: ...

    def refresh_secret_now(self, secret_id: str) -> bool: ...


def aws_secret_cache(ttl_seconds: int) -> SecretSource:
    """AWS's SecretCache over a botocore client with short timeouts and standard retries."""
    import botocore.config
    import botocore.session
    from aws_secretsmanager_caching import SecretCache, SecretCacheConfig

    client = botocore.session.get_session().create_client(
        "secretsmanager",
        config=botocore.config.Config(
            connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3}
        ),
    )
    cache: SecretSource = SecretCache(SecretCacheConfig(secret_refresh_interval=ttl_seconds), client)
    return cache


@dataclass
class _Held:
    value: str
    fetched_at: float


class RuntimeSecrets:
    """A service's secrets by env name (`DATABASE_CONNECTION`), read by ARN through a `SecretSource`."""

    def __init__(
        self,
        arns: Mapping[str, str],
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        source: SecretSource | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        forced_refresh_interval_seconds: float = FORCED_REFRESH_INTERVAL_SECONDS,
    ) -> None:
        self.arns = dict(arns)
        self.ttl_seconds = ttl_seconds
        self._source = source if source is not None else aws_secret_cache(ttl_seconds)
        self._clock = clock
        self._forced_interval = forced_refresh_interval_seconds
        self._held: dict[str, _Held] = {}
        self._last_forced: dict[str, float] = {}
        self._refreshing: dict[str, asyncio.Lock] = {}

    def names(self) -> list[str]:
        return sorted(self.arns)

    async def get(self, name: str) -> str:
        """The secret's current value: from memory within the TTL, else from the cache (off the loop)."""
        held = self._held.get(name)
        if held is not None and self._clock() - held.fetched_at < self.ttl_seconds:
            return held.value
        return await asyncio.to_thread(self._read, name)

    def get_blocking(self, name: str) -> str:
        """`get` for code outside the event loop (start-up checks)."""
        held = self._held.get(name)
        if held is not None and self._clock() - held.fetched_at < self.ttl_seconds:
            return held.value
        return self._read(name)

    async def refresh_now(self, name: str) -> bool:
        """Ask Secrets Manager again now, unless that was done in the last few seconds.

        Returns True when the value was read again (the caller may retry once), False when a forced
        refresh happened too recently (the caller should not retry in a loop).
        """
        lock = self._refreshing.setdefault(name, asyncio.Lock())
        asked_at = self._clock()
        async with lock:
            last = self._last_forced.get(name)
            if last is not None and last >= asked_at:
                return True  # another caller refreshed while this one waited: use its value
            if last is not None and asked_at - last < self._forced_interval:
                return False
            await asyncio.to_thread(self._source.refresh_secret_now, self._arn(name))
            self._held.pop(name, None)
            await asyncio.to_thread(self._read, name)
            self._last_forced[name] = self._clock()
            return True

    def _arn(self, name: str) -> str:
        try:
            return self.arns[name]
        except KeyError:
            raise SecretUnavailableError(
                f"{name} is not one of this service's secrets ({', '.join(self.names()) or 'none'})"
            ) from None

    def _read(self, name: str) -> str:
        arn = self._arn(name)
        try:
            value = self._source.get_secret_string(arn)
        except Exception as failed:
            held = self._held.get(name)
            if held is not None:
                return held.value  # Secrets Manager unreachable: keep serving the last value
            raise SecretUnavailableError(
                f"cannot read {name} ({arn}): {type(failed).__name__}: {failed}"
            ) from failed
        if value is None:
            raise SecretUnavailableError(f"{name} ({arn}) has no AWSCURRENT string value")
        self._held[name] = _Held(value, self._clock())
        return value


def describe(secrets: RuntimeSecrets) -> dict[str, Any]:
    """What may be logged about the secrets: names and ARNs, never values."""
    return {
        "secrets": {name: secrets.arns[name] for name in secrets.names()},
        "ttl_seconds": secrets.ttl_seconds,
    }
