"""The `bootstrapDatabase` action: the database roles and schema the application needs, idempotently.

Invoked once by the platform layer after the database, the connection secret and this function
exist, and safe to run again at any time (after a rotation too): every statement first looks at
what is there. Logged in as the master (from the connection secret's `masterarn`), it makes
- `payments_ledger`, NOLOGIN, owner of schema `ledger` and so of every ledger object;
- CONNECT on the database for `payments_ledger` only (revoked from PUBLIC), and no CREATE on
  schema `public` for PUBLIC (PostgreSQL 15 and later already revoke it; older databases may not);
- the login user of AWSCURRENT with AWSCURRENT's password, member of `payments_ledger`, without
  CREATEDB/CREATEROLE; the other user of the pair, if rotation already made it, gets the same
  attributes and keeps its password.
On RDS the master is not a superuser: it can do all of this because it owns the database and, with
CREATEROLE, administers the roles it creates (PostgreSQL docs, "Role Attributes" and CREATE SCHEMA:
creating a schema for another role needs the right to SET ROLE to it, hence the GRANT to the master).
"""

from __future__ import annotations

from typing import Any

from . import postgres
from .database_credentials import GROUP_ROLE, AlternatingUsers, alternate_username, parse_connection
from .errors import RotationError

SCHEMA = "ledger"
ACTION = "bootstrapDatabase"


def bootstrap_database(client: Any, secret_id: str) -> list[str]:
    """What it created (what did not exist before); raises on failure."""
    value = client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")["SecretString"]
    current = parse_connection(str(value))
    if "masterarn" not in current:
        raise RotationError(f"{secret_id} has no masterarn: the bootstrap logs in as the master")
    master_connection = AlternatingUsers(client, new_password=str).master_connection(current)
    username, database = str(current["username"]), str(current["dbname"])
    created: list[str] = []
    with postgres.session(master_connection) as master:
        if not postgres.role_exists(master, GROUP_ROLE):
            master.run(f"CREATE ROLE {postgres.quoted(GROUP_ROLE)} WITH NOLOGIN")
            created.append(f"role {GROUP_ROLE}")
        postgres.ensure_can_set_role(master, str(master_connection["username"]), GROUP_ROLE)
        if not master.run("SELECT 1 FROM pg_namespace WHERE nspname = :name", name=SCHEMA):
            master.run(f"CREATE SCHEMA {postgres.quoted(SCHEMA)} AUTHORIZATION {postgres.quoted(GROUP_ROLE)}")
            created.append(f"schema {SCHEMA}")
        else:
            master.run(f"ALTER SCHEMA {postgres.quoted(SCHEMA)} OWNER TO {postgres.quoted(GROUP_ROLE)}")
        master.run(f"REVOKE CONNECT ON DATABASE {postgres.quoted(database)} FROM PUBLIC")
        master.run(f"GRANT CONNECT ON DATABASE {postgres.quoted(database)} TO {postgres.quoted(GROUP_ROLE)}")
        master.run("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        if postgres.ensure_login_user(master, username, str(current["password"]), GROUP_ROLE):
            created.append(f"role {username}")
        other = alternate_username(username)
        if postgres.role_exists(master, other):
            postgres.ensure_login_user(master, other, None, GROUP_ROLE)
    return created


def is_bootstrap(event: dict[str, Any]) -> bool:
    return event.get("Action") == ACTION
