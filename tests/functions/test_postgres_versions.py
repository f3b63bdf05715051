"""The statements that differ on PostgreSQL 16 (RDS's engine), which the local server (15) cannot run.

From 16, a CREATEROLE user only gets ADMIN OPTION on the roles it creates, neither INHERIT nor SET, so
the master must grant itself SET on the group role before CREATE SCHEMA ... AUTHORIZATION (PostgreSQL 16
release notes, "Restrict the privileges of CREATEROLE roles"); and pg_has_role has a SET mode only there.
"""

from __future__ import annotations

import pytest

from functions.secret_rotation import postgres


class Recorder:
    """Answers SHOW server_version_num and pg_has_role, and records every statement."""

    def __init__(self, version: int, has_role: bool) -> None:
        self.version, self.answer, self.statements = version, has_role, []

    def run(self, sql: str, **params: object) -> list[list[object]]:
        self.statements.append((sql, params))
        if sql.startswith("SHOW server_version_num"):
            return [[str(self.version)]]
        if sql.startswith("SELECT pg_has_role"):
            return [[self.answer]]
        return []


@pytest.mark.parametrize(
    ("version", "mode", "grant"),
    [
        (160004, "SET", 'GRANT "payments_ledger" TO "master" WITH SET TRUE'),
        (150018, "MEMBER", 'GRANT "payments_ledger" TO "master"'),
    ],
)
def test_the_master_gets_the_right_to_set_role_in_the_syntax_of_its_version(version, mode, grant):
    session = Recorder(version, has_role=False)
    postgres.ensure_can_set_role(session, "master", "payments_ledger")
    [check] = [params for sql, params in session.statements if sql.startswith("SELECT pg_has_role")]
    assert check == {"member": "master", "group": "payments_ledger", "mode": mode}
    assert session.statements[-1][0] == grant


def test_a_master_that_may_already_set_role_is_granted_nothing():
    session = Recorder(160004, has_role=True)
    postgres.ensure_can_set_role(session, "master", "payments_ledger")
    assert not [sql for sql, _ in session.statements if sql.startswith("GRANT")]
