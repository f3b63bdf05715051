"""Alternating-users rotation of the connection secret, against a real PostgreSQL and moto."""

from __future__ import annotations

import json

import pg8000.native
import pytest

from functions.secret_rotation import handler as rotation
from functions.secret_rotation.database_credentials import alternate_username
from functions.secret_rotation.errors import RotationError
from functions.secret_rotation.postgres import check_login
from tests.functions.conftest import start_rotation
from tests.functions.ledger_database import APP_USER, CLONE_USER, ledger_database, login

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


@pytest.fixture
def ledger(postgres, secretsmanager, monkeypatch):
    monkeypatch.setenv("DATABASE_TLS", "disable")  # the throwaway server has no certificate
    with ledger_database(postgres, secretsmanager) as database:
        rotation.handler({"Action": "bootstrapDatabase", "SecretId": database.secret_arn}, None)
        yield database


def value(client, arn, stage="AWSCURRENT"):
    return json.loads(client.get_secret_value(SecretId=arn, VersionStage=stage)["SecretString"])


def rotate(client, arn, *steps):
    token = start_rotation(client, arn)
    for step in steps or STEPS:
        rotation.Rotation(client, arn, token).run(step)
    return token


def test_the_first_rotation_creates_the_clone_and_the_old_user_keeps_working(secretsmanager, ledger):
    rotate(secretsmanager, ledger.secret_arn)
    current, previous = (
        value(secretsmanager, ledger.secret_arn),
        value(secretsmanager, ledger.secret_arn, "AWSPREVIOUS"),
    )
    assert current["username"] == CLONE_USER
    assert previous["username"] == APP_USER
    assert current["masterarn"] == ledger.master_secret_arn  # every other field is carried over
    assert check_login(current)
    assert check_login(previous)  # a task holding the old credentials still connects


def test_users_alternate_and_each_rotation_changes_only_the_user_that_is_not_current(secretsmanager, ledger):
    seen = []
    for _ in range(3):
        rotate(secretsmanager, ledger.secret_arn)
        current = value(secretsmanager, ledger.secret_arn)
        previous = value(secretsmanager, ledger.secret_arn, "AWSPREVIOUS")
        assert check_login(current)
        assert check_login(previous)
        seen.append((current["username"], current["password"]))
    assert [user for user, _ in seen] == [CLONE_USER, APP_USER, CLONE_USER]
    assert len({password for _, password in seen}) == 3
    # Two rotations later, the clone's first password is gone: its user got a new one.
    first_clone = {**ledger.connection, "username": CLONE_USER, "password": seen[0][1]}
    assert not check_login(first_clone)


def test_the_clone_is_a_member_of_the_ledger_role_and_nothing_more(secretsmanager, ledger):
    rotate(secretsmanager, ledger.secret_arn)
    admin = as_master(ledger)
    rows = admin.run(
        "SELECT rolcanlogin, rolinherit, rolcreatedb, rolcreaterole, rolsuper, "
        "pg_has_role(rolname, 'payments_ledger', 'MEMBER') FROM pg_roles WHERE rolname = :name",
        name=CLONE_USER,
    )
    admin.close()
    assert rows == [[True, True, False, False, False, True]]


def as_master(ledger):
    return login(ledger.master)  # RDS's master: CREATEROLE, CREATEDB, owner of the database


def test_every_step_can_be_retried(secretsmanager, ledger):
    rotate(secretsmanager, ledger.secret_arn, *(step for step in STEPS for _ in range(2)))
    assert value(secretsmanager, ledger.secret_arn)["username"] == CLONE_USER
    assert check_login(value(secretsmanager, ledger.secret_arn))
    assert check_login(value(secretsmanager, ledger.secret_arn, "AWSPREVIOUS"))


def test_a_rotation_that_fails_at_test_leaves_current_in_place(secretsmanager, ledger, monkeypatch):
    token = start_rotation(secretsmanager, ledger.secret_arn)
    rotation.Rotation(secretsmanager, ledger.secret_arn, token).run("createSecret")
    # setSecret never ran: the clone does not exist, so the test step must refuse it.
    with pytest.raises(RotationError, match="cannot log in"):
        rotation.Rotation(secretsmanager, ledger.secret_arn, token).run("testSecret")
    assert value(secretsmanager, ledger.secret_arn)["username"] == APP_USER
    assert check_login(value(secretsmanager, ledger.secret_arn))


def test_the_master_is_read_again_when_rds_has_rotated_it(secretsmanager, ledger):
    """RDS rotates the master secret on its own; the next step must use the new password."""
    new_password = "master-rotated-by-rds-0123"
    master = as_master(ledger)
    master.run(f"ALTER ROLE {pg8000.native.identifier(str(ledger.master['username']))} "
               f"PASSWORD {pg8000.native.literal(new_password)}")  # fmt: skip
    master.close()
    secretsmanager.put_secret_value(
        SecretId=ledger.master_secret_arn,
        SecretString=json.dumps({"username": ledger.master["username"], "password": new_password}),
    )
    rotate(secretsmanager, ledger.secret_arn)
    assert check_login(value(secretsmanager, ledger.secret_arn))


def test_a_master_rotation_in_progress_is_tolerated(secretsmanager, ledger):
    """The database already has the master's pending password; AWSCURRENT still holds the old one."""
    pending_password = "master-pending-0123456789"
    master = as_master(ledger)
    master.run(f"ALTER ROLE {pg8000.native.identifier(str(ledger.master['username']))} "
               f"PASSWORD {pg8000.native.literal(pending_password)}")  # fmt: skip
    master.close()
    secretsmanager.put_secret_value(
        SecretId=ledger.master_secret_arn,
        SecretString=json.dumps({"username": ledger.master["username"], "password": pending_password}),
        VersionStages=["AWSPENDING"],
    )
    rotate(secretsmanager, ledger.secret_arn)
    assert value(secretsmanager, ledger.secret_arn)["username"] == CLONE_USER


def test_a_master_secret_that_logs_in_nowhere_fails_the_step_clearly(secretsmanager, ledger):
    secretsmanager.put_secret_value(
        SecretId=ledger.master_secret_arn,
        SecretString=json.dumps({"username": ledger.master["username"], "password": "wrong-password-00"}),
    )
    with pytest.raises(RotationError, match="cannot log in as the master with its secret's AWSCURRENT"):
        rotate(secretsmanager, ledger.secret_arn, "createSecret", "setSecret")
    assert check_login(value(secretsmanager, ledger.secret_arn))


def test_set_refuses_a_pending_user_that_is_not_the_clone(secretsmanager, ledger):
    token = start_rotation(secretsmanager, ledger.secret_arn)
    current = value(secretsmanager, ledger.secret_arn)
    secretsmanager.put_secret_value(
        SecretId=ledger.secret_arn,
        ClientRequestToken=token,
        SecretString=json.dumps({**current, "username": "postgres_admin", "password": "pending-0123456789"}),
        VersionStages=["AWSPENDING"],
    )
    with pytest.raises(RotationError, match="neither the current user nor its clone"):
        rotation.Rotation(secretsmanager, ledger.secret_arn, token).run("setSecret")


def test_the_log_holds_no_password(secretsmanager, ledger, caplog):
    with caplog.at_level("INFO", logger="secret_rotation"):
        rotate(secretsmanager, ledger.secret_arn)
    for stage in ("AWSCURRENT", "AWSPREVIOUS"):
        assert value(secretsmanager, ledger.secret_arn, stage)["password"] not in caplog.text
    assert str(ledger.master["password"]) not in caplog.text


@pytest.mark.parametrize(
    ("current", "alternate"),
    [("payments_app", "payments_app_clone"), ("payments_app_clone", "payments_app")],
)
def test_the_alternate_user_swaps_the_clone_suffix(current, alternate):
    assert alternate_username(current) == alternate


def test_a_user_name_too_long_for_a_clone_is_refused():
    with pytest.raises(RotationError, match="63-character"):
        alternate_username("u" * 60)
