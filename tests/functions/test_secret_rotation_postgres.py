"""Rotating the database connection secret against a real PostgreSQL server."""

from __future__ import annotations

import json
import uuid

import pg8000.native
import pytest

from functions.secret_rotation import handler as rotation
from functions.secret_rotation.errors import RotationError
from functions.secret_rotation.postgres import check_login
from tests.functions.conftest import start_rotation

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


@pytest.fixture
def database(postgres, monkeypatch):
    """A fresh login role per test, and its connection as the platform stores it."""
    monkeypatch.setenv("DATABASE_TLS", "disable")  # the throwaway server has no certificate
    suffix = uuid.uuid4().hex[:8]
    role, password = f"payments_app_{suffix}", f"initial-{suffix}"
    admin = pg8000.native.Connection(
        user="rotation_test_admin", password=postgres.admin_password, host=postgres.host, port=postgres.port,
        database="postgres",
    )  # fmt: skip
    admin.run(
        f"CREATE ROLE {pg8000.native.identifier(role)} LOGIN PASSWORD {pg8000.native.literal(password)}"
    )
    connection = {
        "engine": "postgres",
        "host": postgres.host,
        "port": postgres.port,
        "username": role,
        "password": password,
        "dbname": "postgres",  # every role may connect to it; a database per test costs 0.3 s
    }
    yield connection
    admin.run(f"DROP ROLE {pg8000.native.identifier(role)}")
    admin.close()


@pytest.fixture
def database_secret(secretsmanager, database):
    return secretsmanager.create_secret(
        Name="secret-database-connection-dev", SecretString=json.dumps(database)
    )["ARN"]


def current(client, arn, stage="AWSCURRENT"):
    return json.loads(client.get_secret_value(SecretId=arn, VersionStage=stage)["SecretString"])


def run(client, arn, token, *steps):
    for step in steps:
        rotation.Rotation(client, arn, token).run(step)


def test_rotation_changes_the_password_and_only_the_new_one_logs_in(
    secretsmanager, database, database_secret
):
    token = start_rotation(secretsmanager, database_secret)
    run(secretsmanager, database_secret, token, *STEPS)
    rotated = current(secretsmanager, database_secret)
    assert rotated["password"] != database["password"]
    assert {k: v for k, v in rotated.items() if k != "password"} == {
        k: v for k, v in database.items() if k != "password"
    }
    assert check_login(rotated)
    assert not check_login(database)
    assert current(secretsmanager, database_secret, "AWSPREVIOUS") == database


def test_a_retried_set_step_after_the_password_changed_succeeds(secretsmanager, database, database_secret):
    token = start_rotation(secretsmanager, database_secret)
    run(secretsmanager, database_secret, token, "createSecret", "setSecret", "setSecret", "testSecret")
    run(secretsmanager, database_secret, token, "finishSecret")
    assert check_login(current(secretsmanager, database_secret))


def test_a_test_step_whose_password_was_never_set_fails_and_leaves_current_working(
    secretsmanager, database, database_secret
):
    token = start_rotation(secretsmanager, database_secret)
    run(secretsmanager, database_secret, token, "createSecret")
    with pytest.raises(RotationError, match="cannot log in"):
        run(secretsmanager, database_secret, token, "testSecret")
    assert current(secretsmanager, database_secret) == database
    assert check_login(database)


def test_set_falls_back_to_the_previous_credentials(secretsmanager, database, database_secret):
    # A first rotation completes; then someone restores the old password by hand.
    first = start_rotation(secretsmanager, database_secret)
    run(secretsmanager, database_secret, first, *STEPS)
    rotated = current(secretsmanager, database_secret)
    session = pg8000.native.Connection(
        user=rotated["username"], password=rotated["password"], host=rotated["host"],
        port=rotated["port"], database=rotated["dbname"],
    )  # fmt: skip
    session.run(
        f"ALTER ROLE {pg8000.native.identifier(database['username'])} "
        f"WITH PASSWORD {pg8000.native.literal(database['password'])}"
    )
    session.close()
    second = start_rotation(secretsmanager, database_secret)
    run(secretsmanager, database_secret, second, *STEPS)
    assert check_login(current(secretsmanager, database_secret))


def test_set_refuses_a_pending_secret_that_changes_more_than_the_password(
    secretsmanager, database, database_secret
):
    token = start_rotation(secretsmanager, database_secret)
    moved = {**database, "host": "10.9.9.9", "password": "another-password-000"}
    secretsmanager.put_secret_value(
        SecretId=database_secret,
        ClientRequestToken=token,
        SecretString=json.dumps(moved),
        VersionStages=["AWSPENDING"],
    )
    with pytest.raises(RotationError, match="changes host"):
        run(secretsmanager, database_secret, token, "setSecret")
    assert check_login(database)


def test_set_fails_clearly_when_no_known_credentials_log_in(secretsmanager, database):
    wrong = {**database, "password": "not-the-password"}
    arn = secretsmanager.create_secret(Name="stale", SecretString=json.dumps(wrong))["ARN"]
    token = start_rotation(secretsmanager, arn)
    run(secretsmanager, arn, token, "createSecret")
    with pytest.raises(RotationError, match="cannot log in with the current or the previous credentials"):
        run(secretsmanager, arn, token, "setSecret")
    assert check_login(database)


def test_a_password_with_quotes_is_set_safely(postgres, database, monkeypatch):
    from functions.secret_rotation.postgres import set_password

    tricky = "it's; DROP ROLE x; --"
    set_password(database, str(database["username"]), tricky)
    assert check_login({**database, "password": tricky})
