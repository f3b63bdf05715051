"""The two things rotation does to PostgreSQL: try a login, and change a role's password.

pg8000 is pure Python, so the Lambda zip needs no platform-specific wheel. `DATABASE_TLS` chooses
the transport: `verify-full` (TLS, certificate and host checked against the system CAs), `require`
(TLS without verification, like libpq's sslmode=require; the default) or `disable`.
"""

from __future__ import annotations

import os
import ssl

import pg8000.native

CONNECT_TIMEOUT_SECONDS = 5
_TLS_MODES = ("verify-full", "require", "disable")


def _ssl_context() -> ssl.SSLContext | None:
    mode = os.environ.get("DATABASE_TLS", "require")
    if mode not in _TLS_MODES:
        raise ValueError(f"DATABASE_TLS must be one of {', '.join(_TLS_MODES)}, got {mode!r}")
    if mode == "disable":
        return None
    context = ssl.create_default_context()
    if mode == "require":
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def connect(connection: dict[str, object]) -> pg8000.native.Connection:
    return pg8000.native.Connection(
        user=str(connection["username"]),
        password=str(connection["password"]),
        host=str(connection["host"]),
        port=int(str(connection["port"])),
        database=str(connection["dbname"]),
        timeout=CONNECT_TIMEOUT_SECONDS,
        ssl_context=_ssl_context(),
    )


def check_login(connection: dict[str, object]) -> bool:
    """Whether these credentials log in and can run a query."""
    try:
        session = connect(connection)
    except (pg8000.native.DatabaseError, pg8000.native.InterfaceError, OSError):
        return False
    try:
        session.run("SELECT 1")
        return True
    finally:
        session.close()


def set_password(admin: dict[str, object], username: str, password: str) -> None:
    """Change `username`'s password, logged in as `admin` (the same role in single-user rotation).

    ALTER ROLE takes no bind parameters, so the role and the password are quoted with pg8000's
    `identifier` and `literal`, never formatted in raw.
    """
    session = connect(admin)
    try:
        session.run(
            f"ALTER ROLE {pg8000.native.identifier(username)} WITH PASSWORD {pg8000.native.literal(password)}"
        )
    finally:
        session.close()
