"""The bootstrap's pgaudit extension (`complianceProfile: pci`) against a real PostgreSQL with pgaudit.

The server runs with the pci parameter group's own settings (`AUDIT_PARAMETERS`): pgaudit preloaded,
`pgaudit.log = ddl,role,write`, connections logged. What they log is read from the server's log, the
file RDS exports to CloudWatch Logs as the `postgresql` log.

pgaudit's control file does not mark it trusted, so on a plain PostgreSQL only a superuser may create
it; on RDS the master may, as a member of `rds_superuser` ("Setting up the pgAudit extension", RDS user
guide: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.pgaudit.basic-setup.html).
The tests stand for that by making the test's master a superuser; everything else runs as on RDS.
"""

from __future__ import annotations

import csv
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pg8000.native
import pytest

from functions.secret_rotation import handler as rotation
from functions.secret_rotation.bootstrap import AUDIT_EXTENSION
from functions.secret_rotation.errors import RotationError
from localrun.local_postgres import running_postgres
from stacks.platform.managed_database import AUDIT_PARAMETERS
from tests.functions.ledger_database import APP_USER, GROUP, LedgerDatabase, ledger_database, login, superuser
from tests.functions.postgres_server import ADMIN, Server, find_bin_dir

LOG_WAIT_SECONDS = 10.0


def _pgaudit_bin_dir() -> Path:
    bin_dir = find_bin_dir()
    message = (
        "PostgreSQL with pgaudit is not installed (apt-get install postgresql-<major>-pgaudit, the "
        "server's major version); .ci/run installs it"
    )
    if bin_dir is None or not (bin_dir.parent / "lib" / "pgaudit.so").exists():
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return bin_dir


@pytest.fixture(scope="module")
def audited() -> Iterator[Server]:
    """A server configured as the pci parameter group configures the RDS instance."""
    settings = {name: value for name, value, _apply in AUDIT_PARAMETERS}
    with running_postgres(_pgaudit_bin_dir(), tls=False, admin_user=ADMIN, settings=settings) as server:
        yield server


@pytest.fixture
def ledger(audited, secretsmanager, monkeypatch) -> Iterator[LedgerDatabase]:
    monkeypatch.setenv("DATABASE_TLS", "disable")
    with ledger_database(audited, secretsmanager) as database:
        as_rds_superuser(audited, database)
        yield database


def as_rds_superuser(server: Server, database: LedgerDatabase) -> None:
    """The master may create pgaudit, as RDS's master may through rds_superuser (module docstring)."""
    admin = superuser(server)
    try:
        admin.run(f"ALTER ROLE {pg8000.native.identifier(str(database.master['username']))} SUPERUSER")
    finally:
        admin.close()


def bootstrap(arn: str, **fields: object) -> dict[str, object] | None:
    return rotation.handler({"Action": "bootstrapDatabase", "SecretId": arn, **fields}, None)


def extensions(connection: dict[str, object]) -> list[str]:
    session = login(connection)
    try:
        return [row[0] for row in session.run("SELECT extname FROM pg_extension ORDER BY extname")]
    finally:
        session.close()


def audit_records(server: Server, marker: str, *, expected: int) -> list[list[str]]:
    """The server log's AUDIT records whose statement mentions `marker`, once `expected` are there.

    A record is pgaudit's CSV: audit type, statement id, substatement id, class, command, object
    type, object name, statement, parameter. The wait is bounded (LOG_WAIT_SECONDS).
    """
    deadline = time.monotonic() + LOG_WAIT_SECONDS
    while True:
        records = [
            next(csv.reader([line.split("AUDIT: ", 1)[1]]))
            for line in server.log_file.read_text(errors="replace").splitlines()
            if "AUDIT: " in line
        ]
        found = [record for record in records if marker in record[7]]
        if len(found) >= expected or time.monotonic() > deadline:
            return found


def write_and_read_a_ledger_table(connection: dict[str, object]) -> str:
    """A DDL, a write and a read on a new ledger table, as the application's user; the table's name."""
    table = f"audit_{uuid.uuid4().hex[:8]}"
    session = login(connection)
    try:
        session.run(f"CREATE TABLE ledger.{table} (id int PRIMARY KEY, amount bigint)")
        session.run(f"INSERT INTO ledger.{table} VALUES (:id, :amount)", id=1, amount=1234)
        assert session.run(f"SELECT amount FROM ledger.{table}") == [[1234]]
    finally:
        session.close()
    return table


def test_with_pci_the_bootstrap_creates_pgaudit_once(ledger):
    assert bootstrap(ledger.secret_arn, Extensions=[AUDIT_EXTENSION])["created"][-1] == "extension pgaudit"
    assert AUDIT_EXTENSION in extensions(ledger.master)
    assert bootstrap(ledger.secret_arn, Extensions=[AUDIT_EXTENSION]) == {"status": "ok", "created": []}


def test_the_baseline_bootstrap_does_not_create_it(ledger):
    assert not any(item.startswith("extension") for item in bootstrap(ledger.secret_arn)["created"])
    assert AUDIT_EXTENSION not in extensions(ledger.master)


def test_the_pci_settings_log_ddl_and_writes_to_the_ledger_but_not_reads(audited, ledger):
    bootstrap(ledger.secret_arn, Extensions=[AUDIT_EXTENSION])
    table = write_and_read_a_ledger_table(ledger.connection)

    records = audit_records(audited, table, expected=3)
    # class, command, object type, object name: the extension's event trigger names each object the
    # DDL made (the table and its primary key's index).
    assert [record[3:7] for record in records] == [
        ["DDL", "CREATE TABLE", "TABLE", f"ledger.{table}"],
        ["DDL", "CREATE INDEX", "INDEX", f"ledger.{table}_pkey"],
        ["WRITE", "INSERT", "TABLE", f"ledger.{table}"],
    ]
    assert not [record for record in records if record[3] == "READ" or "SELECT" in record[7]]
    # pgaudit.log_parameter is off: the bound amount is not in the log.
    assert [record[8] for record in records] == ["<not logged>"] * 3
    assert "1234" not in "".join(record[7] for record in records)


def test_without_the_extension_ddl_is_still_logged_but_names_no_object(audited, ledger):
    bootstrap(ledger.secret_arn)  # baseline: the library is loaded, the extension not created
    table = write_and_read_a_ledger_table(ledger.connection)

    records = audit_records(audited, table, expected=2)
    assert [record[3:7] for record in records] == [
        ["DDL", "CREATE TABLE", "", ""],
        ["WRITE", "INSERT", "TABLE", f"ledger.{table}"],
    ]


def test_the_pci_settings_log_role_statements_without_passwords_and_connections(audited, ledger):
    bootstrap(ledger.secret_arn, Extensions=[AUDIT_EXTENSION])
    records = audit_records(audited, APP_USER, expected=1)
    created = [record for record in records if record[3:5] == ["ROLE", "CREATE ROLE"]]
    assert created
    assert all("PASSWORD <REDACTED>" in record[7] for record in created)
    log = audited.log_file.read_text(errors="replace")
    assert (
        f"connection authorized: user={ledger.master['username']} database={ledger.connection['dbname']}"
        in log
    )


def test_an_extension_the_bootstrap_does_not_know_is_refused_before_anything_is_created(ledger):
    with pytest.raises(RotationError) as caught:
        bootstrap(ledger.secret_arn, Extensions=["postgis"])
    assert str(caught.value) == "Extensions names postgis: the bootstrap creates only pgaudit"
    with pytest.raises(RotationError) as caught:
        bootstrap(ledger.secret_arn, Extensions="pgaudit")
    assert str(caught.value) == "Extensions must be a list of names, got 'pgaudit'"
    master = login(ledger.master)
    try:
        assert master.run("SELECT 1 FROM pg_roles WHERE rolname = :name", name=GROUP) == []
    finally:
        master.close()


def test_a_library_not_preloaded_yet_is_refused_with_the_reboot_as_the_fix(
    postgres, secretsmanager, monkeypatch
):
    # The plain test server does not preload pgaudit, as an instance whose parameter group changed
    # (baseline -> pci) does not until it reboots; the extension itself must be installed.
    _pgaudit_bin_dir()
    monkeypatch.setenv("DATABASE_TLS", "disable")
    with ledger_database(postgres, secretsmanager) as database:
        as_rds_superuser(postgres, database)
        with pytest.raises(RotationError) as caught:
            bootstrap(database.secret_arn, Extensions=[AUDIT_EXTENSION])
    assert str(caught.value) == (
        "pgaudit is not loaded: pgaudit must be loaded via shared_preload_libraries. The parameter "
        "group's shared_preload_libraries applies at the next reboot: reboot the instance "
        "(aws rds reboot-db-instance) and run up again"
    )
