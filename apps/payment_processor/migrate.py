"""Schema migrations of the ledger: versioned SQL files, applied at start, once, never racing.

`migrations/NNNN_<name>.sql` are applied in version order by the first task of a release to start;
every other task waits on the same PostgreSQL advisory lock (session level, `pg_advisory_lock`) and then
finds nothing left to do. Each file runs in its own transaction together with its row in
`ledger.schema_migrations` (version, name, SHA-256 of the file), so a failed migration leaves no trace
and is tried again by the next start. An applied migration whose file has changed is refused: the
service does not start, and the error names the file (write a new migration instead). Versions in the
table that this release does not know are a newer release's (blue/green runs old and new tasks side by
side): they are accepted, which is why migrations must stay backward compatible (docs/services.md).

Everything runs under `SET ROLE payments_ledger`, so the objects belong to the group role and both
login users of the alternating-users rotation can use them.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
LEDGER_ROLE = "payments_ledger"
# One application-wide key for pg_advisory_lock: "ledger" in ASCII.
MIGRATION_LOCK_KEY = 0x6C6564676572
MIGRATION_LOCK_TIMEOUT = "120s"  # another task's migration may take a while; never wait for ever
_FILE_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")
log = logging.getLogger("payment-processor")


class MigrationError(RuntimeError):
    """The migrations cannot be applied; the message names the file and the fix."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def file_name(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in version order; a misnamed file or a repeated version is refused."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.iterdir()):
        if path.suffix != ".sql":
            continue
        match = _FILE_NAME.fullmatch(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNNN_<lowercase_name>.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"{path.name}: version {version:04d} is also {found[version].file_name}")
        found[version] = Migration(version, match.group(2), path.read_text())
    return [found[v] for v in sorted(found)]


async def migrate(connection: psycopg.AsyncConnection[Any], migrations: list[Migration]) -> list[str]:
    """Apply what is missing, holding the advisory lock; returns the files applied now."""
    await connection.set_autocommit(True)
    await connection.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(MIGRATION_LOCK_TIMEOUT)))
    await connection.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
    try:
        await connection.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(LEDGER_ROLE)))
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS ledger.schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cursor = await connection.execute("SELECT version, name, checksum FROM ledger.schema_migrations")
        applied = {int(row[0]): (str(row[1]), str(row[2])) for row in await cursor.fetchall()}
        done = []
        for migration in migrations:
            if migration.version in applied:
                name, checksum = applied[migration.version]
                if checksum != migration.checksum:
                    raise MigrationError(
                        f"{migration.file_name} was applied as {migration.version:04d}_{name}.sql with "
                        f"checksum {checksum[:12]}... but the file's is now {migration.checksum[:12]}...: an "
                        "applied migration must never change; restore it and add a new migration"
                    )
                continue
            async with connection.transaction():
                await connection.execute(migration.sql.encode(), prepare=False)
                await connection.execute(
                    "INSERT INTO ledger.schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
            done.append(migration.file_name)
            log.info("migration applied", extra={"migration": migration.file_name})
        newer = sorted(set(applied) - {m.version for m in migrations})
        if newer:
            log.info("the schema has newer migrations than this release", extra={"versions": newer})
        return done
    finally:
        if not connection.closed:
            await connection.execute("RESET ROLE")
            await connection.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
