"""How payment-processor reaches PostgreSQL: credentials from the secret, TLS, a pool, login retries.

- Credentials come from the `DATABASE_CONNECTION` secret (JSON: host, port, username, password,
  dbname), read through `RuntimeSecrets` for every NEW connection (psycopg_pool calls `kwargs` when it
  is a callable, `AsyncConnectionPool._resolve_kwargs`), so a rotated password reaches a running task
  within the cache TTL, without a release.
- A login refused for its password makes the secret be read again at once (rate-limited) and the login
  retried once. psycopg does not give connection failures a SQLSTATE (psycopg/psycopg#1188), so the
  server's message (28P01, "password authentication failed") is matched as well.
- `DATABASE_TLS`: `verify-full` (default: encrypted, and the server's certificate must chain to
  `DATABASE_CA_BUNDLE` and name the host), `require` (encrypted, unverified) or `disable`.
  The image ships AWS's RDS CA bundle and points `DATABASE_CA_BUNDLE` at it.
- Every session: `lock_timeout` bounds how long a request waits for a concurrent one with the same
  idempotency key (longer than that request's fraud-detector worst case), and
  `idle_in_transaction_session_timeout` lets the server end a transaction whose task stopped
  answering, releasing its key.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from apps.common.runtime_config import RuntimeConfigError, declared
from apps.common.runtime_secrets import RuntimeSecrets
from shared.container_settings import DATABASE_POOL_SIZE, DATABASE_TLS_MODES, DatabaseTls

CONNECTION_SECRET = "DATABASE_CONNECTION"
TLS_ENV = "DATABASE_TLS"
CA_BUNDLE_ENV = "DATABASE_CA_BUNDLE"
POOL_SIZE_ENV = DATABASE_POOL_SIZE.env  # set from `databasePoolSize` by the services layer
POOL_MAX_LIFETIME_ENV = "DATABASE_POOL_MAX_LIFETIME_SECONDS"
TLS_MODES = DATABASE_TLS_MODES
DEFAULT_POOL_SIZE = DATABASE_POOL_SIZE.default
# psycopg_pool's own default: a connection is replaced after about an hour (with 5 % jitter).
DEFAULT_POOL_MAX_LIFETIME_SECONDS = 3600.0
CONNECT_TIMEOUT_SECONDS = 5
# TCP keepalives and a bound on unacknowledged data (libpq parameters,
# https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-PARAMKEYWORDS): a database host that
# goes away without closing its connections (a failover moves the endpoint to another instance) is
# noticed about 15-20 s after it last answered, idle or in a request, instead of after Linux's
# retransmission timeout (`tcp_retries2`, about 15 minutes: https://docs.kernel.org/networking/ip-sysctl.html).
# On Linux TCP_USER_TIMEOUT also decides when unanswered keepalive probes end the connection, overriding
# their count (tcp(7): https://man7.org/linux/man-pages/man7/tcp.7.html); the count is kept for other
# kernels. AWS's advice for fast failover, short client keepalives:
# https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.BestPractices.FastFailover.html
TCP_KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 10,  # seconds idle before the first probe
    "keepalives_interval": 5,  # seconds between unanswered probes
    "keepalives_count": 3,  # unanswered probes before the connection is dead (where no user timeout rules)
    "tcp_user_timeout": 15_000,  # milliseconds sent data may stay unacknowledged
}
POOL_WAIT_SECONDS = 5.0  # a request waits this long for a free connection, then gets a 503
LOCK_TIMEOUT = "10s"  # above payment-processor's fraud-detector worst case (about 3.3 s)
IDLE_IN_TRANSACTION_TIMEOUT = "30s"
SESSION_OPTIONS = (
    f"-c lock_timeout={LOCK_TIMEOUT} -c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_TIMEOUT}"
)
AUTH_FAILURE_STATES = frozenset({"28P01", "28000"})
log = logging.getLogger("payment-processor")


@dataclass(frozen=True, kw_only=True)
class LedgerConnectionConfig:
    """The transport to PostgreSQL, from the environment.

    tls: `DATABASE_TLS`, default "verify-full".
    ca_bundle: `DATABASE_CA_BUNDLE`, the CA certificates to verify the server against; required with
        verify-full (the image sets it to AWS's RDS global bundle).
    pool_size: `DATABASE_POOL_SIZE`, the most connections one task opens (`DATABASE_POOL_SIZE` of
        `shared/container_settings.py`: its default and bounds).
    pool_max_lifetime_seconds: `DATABASE_POOL_MAX_LIFETIME_SECONDS`, how long a pooled connection
        lives before the pool replaces it with one made from the secret's current value, default
        3600 (the rotation-under-load run sets 1, so every rotation reaches the pool within seconds).
    """

    tls: DatabaseTls = "verify-full"
    ca_bundle: Path | None = None
    pool_size: int = DEFAULT_POOL_SIZE
    pool_max_lifetime_seconds: float = DEFAULT_POOL_MAX_LIFETIME_SECONDS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LedgerConnectionConfig:
        env = os.environ if environ is None else environ
        tls = env.get(TLS_ENV) or "verify-full"
        if tls not in TLS_MODES:
            raise RuntimeConfigError(f"{TLS_ENV} must be one of {', '.join(TLS_MODES)}, got {tls!r}")
        bundle = env.get(CA_BUNDLE_ENV) or None
        if tls == "verify-full":
            if bundle is None:
                raise RuntimeConfigError(
                    f"{CA_BUNDLE_ENV} must name the CA bundle to verify the database with "
                    f"({TLS_ENV}=verify-full)"
                )
            if not Path(bundle).is_file():
                raise RuntimeConfigError(f"{CA_BUNDLE_ENV} is {bundle!r}, which is not a readable file")
        pool_size = declared(DATABASE_POOL_SIZE, env)
        raw_lifetime = env.get(POOL_MAX_LIFETIME_ENV) or str(DEFAULT_POOL_MAX_LIFETIME_SECONDS)
        try:
            lifetime = float(raw_lifetime)
        except ValueError:
            lifetime = 0.0
        if not lifetime > 0:
            raise RuntimeConfigError(
                f"{POOL_MAX_LIFETIME_ENV} must be a positive number of seconds, got {raw_lifetime!r}"
            )
        return cls(
            tls=tls,
            ca_bundle=Path(bundle) if bundle else None,
            pool_size=pool_size,
            pool_max_lifetime_seconds=lifetime,
        )

    def tls_kwargs(self) -> dict[str, str]:
        if self.tls == "verify-full":
            return {"sslmode": "verify-full", "sslrootcert": str(self.ca_bundle)}
        return {"sslmode": self.tls}


def connection_kwargs(secret_value: str, config: LedgerConnectionConfig) -> dict[str, Any]:
    """psycopg's connect() keyword arguments from the connection secret's JSON."""
    try:
        secret = json.loads(secret_value)
        kwargs: dict[str, Any] = {
            "host": str(secret["host"]),
            "port": int(secret.get("port", 5432)),
            "user": str(secret["username"]),
            "password": str(secret["password"]),
            "dbname": str(secret.get("dbname") or "postgres"),
        }
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        raise RuntimeConfigError(
            f"{CONNECTION_SECRET} must be the platform's JSON connection secret (host, port, username, "
            "password, dbname)"
        ) from None
    return {
        **kwargs,
        **config.tls_kwargs(),
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        **TCP_KEEPALIVES,
        "application_name": "payment-processor",
        "options": SESSION_OPTIONS,
    }


def is_auth_failure(error: psycopg.OperationalError) -> bool:
    return error.sqlstate in AUTH_FAILURE_STATES or "password authentication failed" in str(error)


class Credentials:
    """Connection arguments for every new connection, from the secret cache; refreshed on a refused login."""

    def __init__(self, secrets: RuntimeSecrets, config: LedgerConnectionConfig) -> None:
        self.secrets = secrets
        self.config = config

    async def kwargs(self) -> dict[str, Any]:
        return connection_kwargs(await self.secrets.get(CONNECTION_SECRET), self.config)

    async def connect(self, **extra: Any) -> psycopg.AsyncConnection[Any]:
        """A new connection; after a refused login, the secret is read again and the login retried once."""
        try:
            return await psycopg.AsyncConnection.connect(**{**await self.kwargs(), **extra})
        except psycopg.OperationalError as failed:
            if not is_auth_failure(failed):
                raise
            log.warning("database login refused; reading the connection secret again")
            if not await self.secrets.refresh_now(CONNECTION_SECRET):
                raise
            return await psycopg.AsyncConnection.connect(**{**await self.kwargs(), **extra})


def open_pool(credentials: Credentials) -> AsyncConnectionPool[psycopg.AsyncConnection[Any]]:
    """A pool whose new connections log in through `credentials` (not opened yet: `await pool.open()`)."""

    class RefreshingLogin(psycopg.AsyncConnection[Any]):
        @classmethod
        async def connect(cls, conninfo: str = "", **kwargs: Any) -> Any:
            return await credentials.connect(**kwargs)

    return AsyncConnectionPool(
        min_size=1,
        max_size=credentials.config.pool_size,
        connection_class=RefreshingLogin,
        # Autocommit: the ledger spells its transaction out (apps.payment_processor.ledger).
        kwargs={"autocommit": True},
        timeout=POOL_WAIT_SECONDS,
        # No `check` before use (a round trip per payment): the ledger retries a payment once on
        # another connection when the one it got turns out broken on its first round trip.
        # Connections are replaced after DATABASE_POOL_MAX_LIFETIME_SECONDS (hourly by default), so
        # even open ones move to the current credentials after a rotation.
        max_lifetime=credentials.config.pool_max_lifetime_seconds,
        open=False,
        name="ledger",
    )
