"""A database laid out like the managed one: a non-superuser master that owns it, and its secrets.

RDS's master user is not a superuser (it has CREATEROLE and CREATEDB and owns the database RDS
creates), so the tests run the bootstrap and rotation as such a role, never as the test server's
superuser. The RDS-managed master secret holds only `username` and `password`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pg8000.native

from tests.functions.postgres_server import ADMIN, Server

APP_USER = "payments_app"
CLONE_USER = "payments_app_clone"
GROUP = "payments_ledger"


@dataclass(frozen=True)
class LedgerDatabase:
    connection: dict[str, object]  # what the connection secret holds, without masterarn
    master: dict[str, object]  # the master's login, as a connection
    master_secret_arn: str
    secret_arn: str


def superuser(server: Server, database: str = "postgres") -> pg8000.native.Connection:
    return pg8000.native.Connection(
        user=ADMIN, password=server.admin_password, host=server.host, port=server.port, database=database
    )


def login(connection: dict[str, object], **changes: object) -> pg8000.native.Connection:
    merged = {**connection, **changes}
    return pg8000.native.Connection(
        user=str(merged["username"]),
        password=str(merged["password"]),
        host=str(merged["host"]),
        port=int(str(merged["port"])),
        database=str(merged["dbname"]),
    )


@contextmanager
def ledger_database(server: Server, secretsmanager: object) -> Iterator[LedgerDatabase]:
    suffix = uuid.uuid4().hex[:8]
    master_name, master_password = f"master_{suffix}", f"master-{suffix}"
    dbname = f"payments_{suffix}"
    admin = superuser(server)
    ident, literal = pg8000.native.identifier, pg8000.native.literal
    admin.run(
        f"CREATE ROLE {ident(master_name)} LOGIN CREATEROLE CREATEDB PASSWORD {literal(master_password)}"
    )
    # FILE_COPY: faster than PostgreSQL 15's default WAL_LOG for a tiny template on a test server.
    admin.run(f"CREATE DATABASE {ident(dbname)} OWNER {ident(master_name)} STRATEGY FILE_COPY")
    location = {"engine": "postgres", "host": server.host, "port": server.port, "dbname": dbname}
    master_secret = secretsmanager.create_secret(  # type: ignore[attr-defined]
        Name=f"rds!db-{suffix}",
        SecretString=json.dumps({"username": master_name, "password": master_password}),
    )["ARN"]
    connection = {**location, "username": APP_USER, "password": f"initial-{suffix}"}
    secret = secretsmanager.create_secret(  # type: ignore[attr-defined]
        Name=f"secret-database-connection-{suffix}",
        SecretString=json.dumps({**connection, "masterarn": master_secret}),
    )["ARN"]
    try:
        yield LedgerDatabase(
            connection=connection,
            master={**location, "username": master_name, "password": master_password},
            master_secret_arn=master_secret,
            secret_arn=secret,
        )
    finally:
        admin.run(f"DROP DATABASE IF EXISTS {ident(dbname)} WITH (FORCE)")
        for role in (APP_USER, CLONE_USER, GROUP, master_name):
            admin.run(f"DROP ROLE IF EXISTS {ident(role)}")
        admin.close()
