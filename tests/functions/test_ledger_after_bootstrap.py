"""The ledger's migrations on a database the rotation function bootstrapped, as RDS's non-superuser
master would leave it: the login user can SET ROLE payments_ledger, and after an alternating-users
rotation the other user uses the same tables."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import psycopg
import pytest

from apps.common.payments import PaymentRequest
from apps.payment_processor.ledger import Decision, Ledger
from apps.payment_processor.migrate import load_migrations, migrate
from functions.secret_rotation import handler as rotation
from tests.functions.conftest import start_rotation
from tests.functions.ledger_database import APP_USER, CLONE_USER, ledger_database

PAYMENT = PaymentRequest(Decimal("9.99"), "GBP", "tok_4242424242424242")


@pytest.fixture
def ledger(postgres, secretsmanager, monkeypatch):
    monkeypatch.setenv("DATABASE_TLS", "disable")
    with ledger_database(postgres, secretsmanager) as database:
        yield database


def current(client, arn) -> dict:
    return json.loads(client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])


async def pay_as(secret: dict, key: str, *, migrate_first: bool) -> tuple[str, bool]:
    kwargs = {"host": secret["host"], "port": secret["port"], "user": secret["username"],
              "password": secret["password"], "dbname": secret["dbname"], "sslmode": "disable"}  # fmt: skip
    async with await psycopg.AsyncConnection.connect(**kwargs) as connection:
        if migrate_first:
            assert await migrate(connection, load_migrations()) == ["0001_ledger.sql"]
        await connection.set_autocommit(False)
        ledger = Ledger(_OnePool(connection))

        async def decide() -> Decision:
            return Decision(True, 10, ("test",))

        outcome = await ledger.once(key, PAYMENT, decide)
        return secret["username"], outcome.replayed


class _OnePool:
    """The pool interface `Ledger` uses, over one connection."""

    def __init__(self, connection: psycopg.AsyncConnection) -> None:
        self._connection = connection

    def connection(self):
        connection = self._connection

        class _Lease:
            async def __aenter__(self):
                return connection

            async def __aexit__(self, *exc):
                return False

        return _Lease()


def test_the_bootstrapped_user_migrates_and_the_rotated_user_uses_the_same_ledger(ledger, secretsmanager):
    rotation.handler({"Action": "bootstrapDatabase", "SecretId": ledger.secret_arn}, None)
    first = current(secretsmanager, ledger.secret_arn)
    assert asyncio.run(pay_as(first, "order-boot-1", migrate_first=True)) == (APP_USER, False)

    token = start_rotation(secretsmanager, ledger.secret_arn)
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        rotation.Rotation(secretsmanager, ledger.secret_arn, token).run(step)
    rotated = current(secretsmanager, ledger.secret_arn)
    assert asyncio.run(pay_as(rotated, "order-boot-1", migrate_first=False)) == (CLONE_USER, True)
    assert asyncio.run(pay_as(first, "order-boot-2", migrate_first=False)) == (APP_USER, False)
