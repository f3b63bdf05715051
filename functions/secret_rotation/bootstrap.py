"""The `bootstrapDatabase` action: the database roles and schema the application needs, idempotently.

Invoked once by the platform layer after the database, the connection secret and this function
exist, and safe to run again at any time (after a rotation too): every statement first looks at
what is there. Logged in as the master (from the connection secret's `masterarn`), it makes
- `payments_ledger`, NOLOGIN, owner of schema `ledger` and so of every ledger object;
- CONNECT on the database for `payments_ledger` only (revoked from PUBLIC), and no CREATE on
  schema `public` for PUBLIC (PostgreSQL 15 and later already revoke it; older databases may not);
- the login user of AWSCURRENT with AWSCURRENT's password, member of `payments_ledger`, without
  CREATEDB/CREATEROLE; the other user of the pair, if rotation already made it, gets the same
  attributes and keeps its password;
- with `complianceProfile: pci` (the event's `Extensions: ["pgaudit"]`), the pgaudit extension in the
  ledger database. The parameter group preloads the library and sets `pgaudit.log`, which is what logs
  the session's statements; the extension adds the event triggers with which pgaudit names the objects
  of a DDL statement. The RDS guide's set-up runs it as the master, a member of `rds_superuser`, once
  the library is loaded ("Setting up the pgAudit extension", RDS user guide:
  https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.pgaudit.basic-setup.html).
On RDS the master is not a superuser: it can do all of this because it owns the database and, with
CREATEROLE, administers the roles it creates (PostgreSQL docs, "Role Attributes" and CREATE SCHEMA:
creating a schema for another role needs the right to SET ROLE to it, hence the GRANT to the master).
"""

from __future__ import annotations

from typing import Any

import pg8000.native

from . import postgres
from .database_credentials import GROUP_ROLE, AlternatingUsers, alternate_username, parse_connection
from .errors import RotationError

SCHEMA = "ledger"
ACTION = "bootstrapDatabase"
EXTENSIONS_FIELD = "Extensions"
AUDIT_EXTENSION = "pgaudit"
# What an event may ask for: the bootstrap creates nothing else.
KNOWN_EXTENSIONS = (AUDIT_EXTENSION,)
NOT_PRELOADED = "55000"  # SQLSTATE object_not_in_prerequisite_state


def bootstrap_database(client: Any, secret_id: str, extensions: tuple[str, ...] = ()) -> list[str]:
    """What it created (what did not exist before); raises on failure.

    extensions: names from KNOWN_EXTENSIONS to create in the database (`requested_extensions`).
    """
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
        for extension in extensions:
            if _ensure_extension(master, extension):
                created.append(f"extension {extension}")
    return created


def _ensure_extension(master: Any, name: str) -> bool:
    """CREATE EXTENSION IF NOT EXISTS; whether it was created. A library not preloaded yet is refused."""
    if master.run("SELECT 1 FROM pg_extension WHERE extname = :name", name=name):
        return False
    try:
        master.run(f"CREATE EXTENSION IF NOT EXISTS {postgres.quoted(name)}")
    except pg8000.native.DatabaseError as error:
        # pgaudit refuses to load other than through shared_preload_libraries (55000,
        # object_not_in_prerequisite_state). A parameter group changed on a running instance
        # (baseline -> pci) applies that static parameter at the next reboot only.
        if error.args and isinstance(error.args[0], dict) and error.args[0].get("C") == NOT_PRELOADED:
            raise RotationError(
                f"{name} is not loaded: {error.args[0].get('M')}. The parameter group's "
                "shared_preload_libraries applies at the next reboot: reboot the instance "
                "(aws rds reboot-db-instance) and run up again"
            ) from error
        raise
    return True


def requested_extensions(event: dict[str, Any]) -> tuple[str, ...]:
    """The event's `Extensions`, each one the bootstrap knows; none when the field is absent."""
    names = event.get(EXTENSIONS_FIELD, [])
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise RotationError(f"{EXTENSIONS_FIELD} must be a list of names, got {names!r}")
    unknown = sorted(set(names) - set(KNOWN_EXTENSIONS))
    if unknown:
        raise RotationError(
            f"{EXTENSIONS_FIELD} names {', '.join(unknown)}: the bootstrap creates only "
            f"{', '.join(KNOWN_EXTENSIONS)}"
        )
    return tuple(names)


def is_bootstrap(event: dict[str, Any]) -> bool:
    return event.get("Action") == ACTION
