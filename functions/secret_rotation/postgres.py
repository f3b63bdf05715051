"""Logging in to PostgreSQL, and the role statements rotation and the bootstrap run.

pg8000 is pure Python, so the Lambda zip needs no platform-specific wheel. `DATABASE_TLS` chooses
the transport: `verify-full` (the default: TLS, the server's certificate must chain to
`DATABASE_CA_BUNDLE` and name the host), `require` (TLS without verification, like libpq's
sslmode=require) or `disable`. `DATABASE_CA_BUNDLE` defaults to the RDS CA bundle packaged next to
this module (shared/certs/rds-ca-bundle.pem, put there by the platform layer's archive): the Lambda
runtime's default trust store does not hold Amazon RDS's certificate authorities.

DDL takes no bind parameters, so every role name is quoted with pg8000's `identifier`, never formatted
in raw. A password is never in a statement at all: it is sent as the SCRAM-SHA-256 verifier computed
here (`scram.py`), so the statement PostgreSQL logs when one fails holds no password.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pg8000.native

from .scram import password_verifier

CONNECT_TIMEOUT_SECONDS = 5
# The archive carries this package only, so not `shared.container_settings.DATABASE_TLS_MODES`, which
# tests/shared/test_container_settings.py checks this copy against.
_TLS_MODES = ("verify-full", "require", "disable")
# Where the function's archive carries the RDS CA bundle (stacks/platform/secret_rotation.py).
PACKAGED_CA_BUNDLE = Path(__file__).resolve().with_name("rds-ca-bundle.pem")
# What a failed login looks like: refused credentials, an unreachable host, a broken handshake.
LOGIN_ERRORS = (pg8000.native.DatabaseError, pg8000.native.InterfaceError, OSError)

RDS_SUPERUSER = "rds_superuser"
PG16 = 160000  # server_version_num of PostgreSQL 16.0
Connection = dict[str, object]  # the secret's JSON: host, port, username, password, dbname


def _ssl_context() -> ssl.SSLContext | None:
    mode = os.environ.get("DATABASE_TLS", "verify-full")
    if mode not in _TLS_MODES:
        raise ValueError(f"DATABASE_TLS must be one of {', '.join(_TLS_MODES)}, got {mode!r}")
    if mode == "disable":
        return None
    if mode == "require":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    bundle = Path(os.environ.get("DATABASE_CA_BUNDLE") or PACKAGED_CA_BUNDLE)
    if not bundle.is_file():
        raise ValueError(
            f"DATABASE_CA_BUNDLE is {str(bundle)!r}, which is not a readable file: with DATABASE_TLS="
            "verify-full it must name the CA certificates that signed the database's certificate"
        )
    # Only these CAs: a certificate from the system store's public CAs must not pass for the database.
    return ssl.create_default_context(cafile=str(bundle))


def connect(connection: Connection) -> pg8000.native.Connection:
    return pg8000.native.Connection(
        user=str(connection["username"]),
        password=str(connection["password"]),
        host=str(connection["host"]),
        port=int(str(connection["port"])),
        database=str(connection["dbname"]),
        timeout=CONNECT_TIMEOUT_SECONDS,
        ssl_context=_ssl_context(),
    )


@contextmanager
def session(connection: Connection) -> Iterator[pg8000.native.Connection]:
    opened = connect(connection)
    try:
        yield opened
    finally:
        opened.close()


def check_login(connection: Connection) -> bool:
    """Whether these credentials log in and can run a query."""
    try:
        opened = connect(connection)
    except LOGIN_ERRORS:
        return False
    try:
        opened.run("SELECT 1")
        return True
    finally:
        opened.close()


def quoted(name: str) -> str:
    return str(pg8000.native.identifier(name))


def set_password(admin: Connection, username: str, password: str) -> None:
    """Change `username`'s password, logged in as `admin` (the same role in single-user rotation)."""
    with session(admin) as opened:
        opened.run(f"ALTER ROLE {quoted(username)} WITH PASSWORD {verifier_literal(password)}")


def verifier_literal(password: str) -> str:
    """The SQL literal of `password`'s SCRAM-SHA-256 verifier (base64, `$` and `:` only)."""
    return str(pg8000.native.literal(password_verifier(password)))


def role_exists(opened: pg8000.native.Connection, name: str) -> bool:
    return bool(opened.run("SELECT 1 FROM pg_roles WHERE rolname = :name", name=name))


def ensure_login_user(
    opened: pg8000.native.Connection, username: str, password: str | None, group: str
) -> bool:
    """A LOGIN role, member of `group` (INHERIT), that can create neither roles nor databases.

    `password` None leaves an existing role's password alone. Returns whether the role was created.
    """
    attributes = "LOGIN INHERIT NOCREATEDB NOCREATEROLE"
    secret = "" if password is None else f" PASSWORD {verifier_literal(password)}"
    created = not role_exists(opened, username)
    if created:
        opened.run(f"CREATE ROLE {quoted(username)} WITH {attributes}{secret}")
    else:
        opened.run(f"ALTER ROLE {quoted(username)} WITH {attributes}{secret}")
    if not has_role(opened, username, group, "USAGE"):
        grant(opened, group, username, "INHERIT")
    # On RDS the master may hand out rds_superuser; an application user never keeps it.
    if role_exists(opened, RDS_SUPERUSER) and has_role(opened, username, RDS_SUPERUSER, "MEMBER"):
        opened.run(f"REVOKE {quoted(RDS_SUPERUSER)} FROM {quoted(username)}")
    return created


def ensure_can_set_role(opened: pg8000.native.Connection, member: str, group: str) -> None:
    """`member` may SET ROLE to `group`, which CREATE SCHEMA ... AUTHORIZATION `group` requires.

    From PostgreSQL 16 a CREATEROLE user that creates a role only gets ADMIN OPTION on it, without
    INHERIT or SET (PostgreSQL 16 release notes, "Restrict the privileges of CREATEROLE roles";
    `createrole_self_grant` is empty by default), so membership alone is not enough: the SET option is.
    """
    if not has_role(opened, member, group, "SET"):
        grant(opened, group, member, "SET")


def has_role(opened: pg8000.native.Connection, member: str, group: str, mode: str) -> bool:
    """pg_has_role: MEMBER, USAGE (inherits its privileges) or SET (may SET ROLE to it).

    PostgreSQL before 16 has no SET mode; there any member may SET ROLE, so MEMBER answers it.
    """
    if mode == "SET" and server_version(opened) < PG16:
        mode = "MEMBER"
    rows = opened.run("SELECT pg_has_role(:member, :group, :mode)", member=member, group=group, mode=mode)
    return bool(rows and rows[0][0] is True)


def grant(opened: pg8000.native.Connection, group: str, member: str, option: str) -> None:
    """GRANT group TO member, with INHERIT or SET spelled out where PostgreSQL (16+) has the options."""
    options = f" WITH {option} TRUE" if server_version(opened) >= PG16 else ""
    opened.run(f"GRANT {quoted(group)} TO {quoted(member)}{options}")


def server_version(opened: pg8000.native.Connection) -> int:
    return int(opened.run("SHOW server_version_num")[0][0])
