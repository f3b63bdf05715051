"""The bootstrapDatabase action against a real PostgreSQL: roles, schema, grants, and what they forbid."""

from __future__ import annotations

import json

import pg8000.native
import pytest

from functions.secret_rotation import handler as rotation
from functions.secret_rotation.errors import RotationError
from functions.secret_rotation.postgres import check_login
from tests.functions.conftest import start_rotation
from tests.functions.ledger_database import APP_USER, CLONE_USER, GROUP, ledger_database, login

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


@pytest.fixture
def ledger(postgres, secretsmanager, monkeypatch):
    monkeypatch.setenv("DATABASE_TLS", "disable")
    with ledger_database(postgres, secretsmanager) as database:
        yield database


def bootstrap(arn):
    return rotation.handler({"Action": "bootstrapDatabase", "SecretId": arn}, None)


def current(client, arn):
    return json.loads(client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])


def rotate(client, arn):
    token = start_rotation(client, arn)
    for step in STEPS:
        rotation.Rotation(client, arn, token).run(step)


def refused(session, statement):
    with pytest.raises(pg8000.native.DatabaseError) as caught:
        session.run(statement)
    return caught.value.args[0]["C"]  # the SQLSTATE


def test_the_first_run_creates_everything_and_the_second_nothing(ledger):
    assert bootstrap(ledger.secret_arn) == {
        "status": "ok",
        "created": [f"role {GROUP}", "schema ledger", f"role {APP_USER}"],
    }
    assert bootstrap(ledger.secret_arn) == {"status": "ok", "created": []}
    assert check_login(ledger.connection)


def test_an_existing_user_gets_the_secrets_password(ledger):
    master = login(ledger.master)
    master.run(f"CREATE ROLE {APP_USER} LOGIN CREATEDB PASSWORD 'something-else-0000'")
    master.close()
    assert bootstrap(ledger.secret_arn)["created"] == [f"role {GROUP}", "schema ledger"]
    assert check_login(ledger.connection)
    session = login(ledger.connection)
    assert session.run("SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user") == [[False]]
    session.close()


def test_after_a_rotation_the_bootstrap_keeps_both_users_working(secretsmanager, ledger):
    bootstrap(ledger.secret_arn)
    rotate(secretsmanager, ledger.secret_arn)
    assert current(secretsmanager, ledger.secret_arn)["username"] == CLONE_USER
    assert bootstrap(ledger.secret_arn) == {"status": "ok", "created": []}
    assert check_login(current(secretsmanager, ledger.secret_arn))
    assert check_login(ledger.connection)  # the previous user keeps its password


def test_the_app_user_can_create_neither_roles_nor_databases_nor_objects_in_public(ledger):
    bootstrap(ledger.secret_arn)
    session = login(ledger.connection)
    assert refused(session, "CREATE ROLE intruder") == "42501"  # insufficient_privilege
    assert refused(session, "CREATE DATABASE intruder") == "42501"
    assert refused(session, "CREATE TABLE public.intruder (id int)") == "42501"
    session.close()


def test_a_table_made_under_the_ledger_role_is_usable_by_the_clone(secretsmanager, ledger):
    bootstrap(ledger.secret_arn)
    app = login(ledger.connection)
    app.run(f"SET ROLE {GROUP}")
    app.run("CREATE TABLE ledger.payments (id text PRIMARY KEY, amount bigint NOT NULL)")
    app.run("INSERT INTO ledger.payments VALUES ('p1', 100)")
    app.close()
    rotate(secretsmanager, ledger.secret_arn)
    clone = login(current(secretsmanager, ledger.secret_arn))
    clone.run("INSERT INTO ledger.payments VALUES ('p2', 250)")
    clone.run("UPDATE ledger.payments SET amount = 101 WHERE id = 'p1'")
    assert clone.run("SELECT id, amount FROM ledger.payments ORDER BY id") == [["p1", 101], ["p2", 250]]
    assert clone.run("SELECT tableowner FROM pg_tables WHERE tablename = 'payments'") == [[GROUP]]
    clone.close()


def test_only_the_ledger_role_may_connect(postgres, ledger):
    bootstrap(ledger.secret_arn)
    master = login(ledger.master)
    master.run("CREATE ROLE outsider LOGIN PASSWORD 'outsider-password-0'")
    master.close()
    try:
        with pytest.raises(pg8000.native.DatabaseError, match="permission denied for database"):
            login(ledger.connection, username="outsider", password="outsider-password-0")
    finally:
        master = login(ledger.master)
        master.run("DROP ROLE outsider")
        master.close()


def test_a_secret_without_masterarn_is_refused(secretsmanager, ledger):
    plain = secretsmanager.create_secret(Name="external", SecretString=json.dumps(ledger.connection))["ARN"]
    with pytest.raises(RotationError, match="has no masterarn"):
        bootstrap(plain)


def test_a_wrong_master_password_fails_without_creating_anything(secretsmanager, ledger):
    secretsmanager.put_secret_value(
        SecretId=ledger.master_secret_arn,
        SecretString=json.dumps({"username": ledger.master["username"], "password": "wrong-000000"}),
    )
    with pytest.raises(RotationError, match="cannot log in as the master"):
        bootstrap(ledger.secret_arn)
    assert not check_login(ledger.connection)
