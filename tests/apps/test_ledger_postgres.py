"""The ledger against a real PostgreSQL with TLS (verify-full): migrations, idempotency, races, logins."""

from __future__ import annotations

import asyncio
import os
import socket
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from apps.common.downstream import DownstreamUnavailableError
from apps.common.payments import PaymentRequest
from apps.common.runtime_secrets import RuntimeSecrets
from apps.payment_processor.ledger import Decision, KeyReusedError, Ledger, Outcome
from apps.payment_processor.ledger_connections import (
    Credentials,
    LedgerConnectionConfig,
    connection_kwargs,
    open_pool,
)
from apps.payment_processor.migrate import (
    MIGRATION_LOCK_KEY,
    Migration,
    MigrationError,
    load_migrations,
    migrate,
)
from localrun.local_postgres import provision_ledger_database, write_test_pki
from tests.apps.conftest import DATABASE_ARN, FakeSecrets, runtime_secrets

PAYMENT = PaymentRequest(Decimal("12.5"), "USD", "tok_4242424242424242")
OTHER = PaymentRequest(Decimal("13"), "USD", "tok_4242424242424242")


def credentials(db, source: FakeSecrets | None = None) -> Credentials:
    source = source or FakeSecrets({DATABASE_ARN: db.secret()})
    return Credentials(runtime_secrets(source), db.config())


async def migrated(db) -> None:
    connection = await credentials(db).connect()
    async with connection:
        await migrate(connection, load_migrations())


def rows(db, query: str) -> list[tuple]:
    with db.admin() as admin:
        return admin.execute(query).fetchall()


def test_migrations_apply_once_record_their_checksum_and_belong_to_the_ledger_role(ledger_db):
    async def scenario() -> tuple[list[str], list[str]]:
        first = await credentials(ledger_db).connect()
        second = await credentials(ledger_db).connect()
        async with first, second:
            # Two tasks starting together: one applies, the other waits on the lock and finds it done.
            results = await asyncio.gather(
                migrate(first, load_migrations()), migrate(second, load_migrations())
            )
        return results[0], results[1]

    one, two = asyncio.run(scenario())
    assert sorted([one, two]) == [[], ["0001_ledger.sql"]]
    [(version, name, checksum)] = rows(
        ledger_db, "SELECT version, name, checksum FROM ledger.schema_migrations"
    )
    assert (version, name, checksum) == (1, "ledger", load_migrations()[0].checksum)
    owners = rows(
        ledger_db,
        "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'ledger'",
    )
    assert owners == [("payments_ledger",)]
    assert rows(
        ledger_db, f"SELECT count(*) FROM pg_locks WHERE objid = {MIGRATION_LOCK_KEY & 0xFFFFFFFF}"
    ) == [(0,)]


def test_a_changed_applied_migration_is_refused_naming_the_file(ledger_db):
    asyncio.run(migrated(ledger_db))
    [original] = load_migrations()
    changed = Migration(original.version, original.name, original.sql + "\n-- edited\n")

    async def again() -> None:
        connection = await credentials(ledger_db).connect()
        async with connection:
            await migrate(connection, [changed])

    with pytest.raises(MigrationError, match=r"0001_ledger\.sql was applied .* must never change"):
        asyncio.run(again())


def test_a_misnamed_migration_file_is_refused(tmp_path):
    (tmp_path / "1_first.sql").write_text("SELECT 1")
    with pytest.raises(MigrationError, match=r"1_first\.sql: migration files are named NNNN_"):
        load_migrations(tmp_path)


def test_a_payment_is_stored_once_replayed_and_its_key_refused_for_other_content(ledger_db):
    calls = []

    async def process() -> Decision:
        calls.append(1)
        return Decision(True, 5, ("test_token",))

    async def scenario():
        asyncio_pool = open_pool(credentials(ledger_db))
        await asyncio_pool.open(wait=True)
        async with asyncio_pool:
            ledger = Ledger(asyncio_pool)
            first = await ledger.once("order-0001", PAYMENT, process)
            again = await ledger.once("order-0001", PAYMENT, process)
            with pytest.raises(KeyReusedError):
                await ledger.once("order-0001", OTHER, process)
            return first, again

    asyncio.run(migrated(ledger_db))
    first, again = asyncio.run(scenario())
    assert calls == [1]
    assert (first.replayed, again.replayed) == (False, True)
    assert again.result == first.result
    assert first.result["amount"] == "12.50"
    assert rows(ledger_db, "SELECT count(*) FROM ledger.payments") == [(1,)]


def failed_then_retried(ledger_db, key, failing, retry):
    """An attempt that fails with the callee unavailable leaves no claim; then the retry's outcome."""

    async def scenario():
        pool = open_pool(credentials(ledger_db))
        await pool.open(wait=True)
        async with pool:
            ledger = Ledger(pool)
            with pytest.raises(DownstreamUnavailableError):
                await ledger.once(key, PAYMENT, failing)
            assert rows(ledger_db, "SELECT count(*) FROM ledger.idempotency_keys") == [(0,)]
            return await ledger.once(key, PAYMENT, retry)

    asyncio.run(migrated(ledger_db))
    return asyncio.run(scenario())


def test_a_failed_attempt_leaves_no_row_and_the_retry_processes_the_payment(ledger_db):
    async def down() -> Decision:
        raise DownstreamUnavailableError("fraud-detector", "cannot connect")

    async def up() -> Decision:
        return Decision(False, 80, ("amount_over_10000",))

    outcome = failed_then_retried(ledger_db, "order-0002", down, up)
    assert (outcome.replayed, outcome.result["status"]) == (False, "declined")


def test_concurrent_requests_with_one_key_make_one_payment_and_all_get_it(ledger_db):
    started = []

    async def slow() -> Decision:
        started.append(1)
        await asyncio.sleep(0.3)  # the others arrive while this one holds the key
        return Decision(True, 0, ())

    async def scenario():
        pool = open_pool(credentials(ledger_db))
        await pool.open(wait=True)
        async with pool:
            ledger = Ledger(pool)
            return await asyncio.gather(*(ledger.once("order-0003", PAYMENT, slow) for _ in range(6)))

    asyncio.run(migrated(ledger_db))
    outcomes = asyncio.run(scenario())
    assert started == [1]
    assert sorted(o.replayed for o in outcomes) == [False] + [True] * 5
    assert len({o.result["payment_id"] for o in outcomes}) == 1
    assert rows(ledger_db, "SELECT count(*) FROM ledger.payments") == [(1,)]


def end_the_sessions(db) -> list[tuple]:
    """What a restart or failover of the database does to the connections the pool holds."""
    return rows(db, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{db.user}'")


def two_payments(db, keys: tuple[str, str], between) -> tuple[Outcome, list[int]]:
    """Two new payments on one pool, `between()` run after the first: the second's outcome, and how
    many times fraud-detector was asked in all."""
    calls: list[int] = []

    async def process() -> Decision:
        calls.append(1)
        return Decision(True, 0, ())

    async def scenario() -> Outcome:
        pool = open_pool(credentials(db))
        await pool.open(wait=True)
        async with pool:
            ledger = Ledger(pool)
            await ledger.once(keys[0], PAYMENT, process)
            between()
            return await ledger.once(keys[1], PAYMENT, process)

    asyncio.run(migrated(db))
    outcome = asyncio.run(scenario())
    assert rows(db, "SELECT idempotency_key FROM ledger.payments ORDER BY 1") == [(keys[0],), (keys[1],)]
    return outcome, calls


def test_a_pooled_connection_the_server_ended_is_replaced_and_the_payment_made_once(ledger_db):
    """No check before use: a connection found broken on its first round trip is retried on a new one."""

    def restart() -> None:
        ended = end_the_sessions(ledger_db)
        assert ended
        assert all(done for (done,) in ended)

    outcome, calls = two_payments(ledger_db, ("order-0005", "order-0006"), restart)
    assert (outcome.replayed, outcome.result["status"]) == (False, "approved")
    assert calls == [1, 1]


def test_a_session_ended_between_begin_and_the_claim_is_retried_on_a_new_connection(ledger_db, monkeypatch):
    """BEGIN went through, then the server ended the session: its end rolled the transaction back, so
    the payment is tried again on another connection (once), not refused with a 503."""
    armed = {"after_begin": False}
    execute = psycopg.AsyncCursor.execute

    async def ends_the_session_after_begin(self, query, *args, **kwargs):
        result = await execute(self, query, *args, **kwargs)
        if armed["after_begin"] and query == "BEGIN":
            armed["after_begin"] = False
            end_the_sessions(ledger_db)
        return result

    monkeypatch.setattr(psycopg.AsyncCursor, "execute", ends_the_session_after_begin)
    outcome, calls = two_payments(
        ledger_db, ("order-0031", "order-0032"), lambda: armed.update(after_begin=True)
    )
    assert not armed["after_begin"]  # the session was ended where the test meant it to be
    assert (outcome.replayed, calls) == (False, [1, 1])


def test_a_waiter_processes_the_payment_itself_when_the_first_attempt_fails(ledger_db):
    async def fails_late() -> Decision:
        await asyncio.sleep(0.3)
        raise DownstreamUnavailableError("fraud-detector", "answered 503")

    async def works() -> Decision:
        return Decision(True, 0, ())

    async def scenario():
        pool = open_pool(credentials(ledger_db))
        await pool.open(wait=True)
        async with pool:
            ledger = Ledger(pool)
            first = asyncio.create_task(ledger.once("order-0004", PAYMENT, fails_late))
            await asyncio.sleep(0.1)
            second = await ledger.once("order-0004", PAYMENT, works)
            with pytest.raises(DownstreamUnavailableError):
                await first
            return second

    asyncio.run(migrated(ledger_db))
    assert asyncio.run(scenario()).replayed is False
    assert rows(ledger_db, "SELECT count(*) FROM ledger.payments") == [(1,)]


def test_verify_full_refuses_a_server_whose_certificate_another_ca_signed(ledger_db, tmp_path):
    stranger = write_test_pki(tmp_path).ca_cert
    wrong = LedgerConnectionConfig(tls="verify-full", ca_bundle=stranger)
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        psycopg.connect(**connection_kwargs(ledger_db.secret(), wrong)).close()
    right = connection_kwargs(ledger_db.secret(), ledger_db.config())
    with psycopg.connect(**right) as connection:
        assert connection.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone() == (
            True,
        )


def test_the_connection_probes_a_silent_server_and_bounds_unacknowledged_data(ledger_db):
    """libpq takes the keepalive settings and the socket carries them (a vanished host is noticed)."""
    with psycopg.connect(**connection_kwargs(ledger_db.secret(), ledger_db.config())) as connection:
        info = connection.info.get_parameters()  # what libpq was given, as it understood it
        sock = socket.socket(fileno=os.dup(connection.pgconn.socket))
        try:
            options = (
                sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
                sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
            )
        finally:
            sock.close()
    assert options == (1, 10, 5, 3, 15_000)
    assert info.get("connect_timeout") == "5"


def test_the_server_admits_no_unencrypted_login(ledger_db):
    plain = connection_kwargs(ledger_db.secret(), LedgerConnectionConfig(tls="disable"))
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        psycopg.connect(**plain).close()


def test_a_refused_login_reads_the_secret_again_and_retries_once(ledger_db):
    source = FakeSecrets({DATABASE_ARN: ledger_db.secret(password="before-the-rotation")})
    source.next = {DATABASE_ARN: ledger_db.secret()}

    async def scenario() -> str:
        connection = await credentials(ledger_db, source).connect()
        async with connection:
            row = await (await connection.execute("SELECT current_user")).fetchone()
            return str(row[0])

    assert asyncio.run(scenario()) == ledger_db.user
    assert source.refreshes == 1


def test_a_login_still_refused_after_the_refresh_fails_with_the_servers_message(ledger_db):
    source = FakeSecrets({DATABASE_ARN: ledger_db.secret(password="wrong")})
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        asyncio.run(credentials(ledger_db, source).connect())
    assert source.refreshes == 1


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_TLS": "prefer"}, "DATABASE_TLS must be one of verify-full, require, disable"),
        ({}, "DATABASE_CA_BUNDLE must name the CA bundle"),
        ({"DATABASE_CA_BUNDLE": "/nonexistent/ca.pem"}, "which is not a readable file"),
        ({"DATABASE_TLS": "require", "DATABASE_POOL_SIZE": "0"}, "DATABASE_POOL_SIZE must be a whole number"),
        (
            {"DATABASE_TLS": "require", "DATABASE_POOL_MAX_LIFETIME_SECONDS": "0"},
            "DATABASE_POOL_MAX_LIFETIME_SECONDS must be a positive number of seconds, got '0'",
        ),
        (
            {"DATABASE_TLS": "require", "DATABASE_POOL_MAX_LIFETIME_SECONDS": "soon"},
            "DATABASE_POOL_MAX_LIFETIME_SECONDS must be a positive number",
        ),
    ],
)
def test_bad_database_settings_are_refused_naming_the_variable(env, message):
    from apps.common.runtime_config import RuntimeConfigError

    with pytest.raises(RuntimeConfigError, match=message):
        LedgerConnectionConfig.from_env(env)


def test_the_image_default_bundle_setting_is_accepted(tmp_path):
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    config = LedgerConnectionConfig.from_env({"DATABASE_CA_BUNDLE": str(bundle)})
    assert config.tls_kwargs() == {"sslmode": "verify-full", "sslrootcert": str(Path(bundle))}


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_after_a_rotation_new_connections_log_in_as_the_other_user_and_use_the_same_ledger(ledger_db):
    """Alternating users: the rotation moves AWSCURRENT to payments_app_clone; once the cache's TTL has
    passed, new connections log in as the clone, which uses the tables the first user migrated."""
    clone = ledger_db.user + "_clone"
    provision_ledger_database(ledger_db.server, ledger_db.dbname, {clone: "clone-pw"})
    source, clock = FakeSecrets({DATABASE_ARN: ledger_db.secret()}), Clock()
    secrets = RuntimeSecrets({"DATABASE_CONNECTION": DATABASE_ARN}, 300, source, clock=clock)
    login = Credentials(secrets, ledger_db.config())

    async def decide() -> Decision:
        return Decision(True, 0, ())

    async def as_current_user(key: str) -> tuple[str, bool]:
        connection = await login.connect()
        async with connection:
            if key == "order-0005":
                await migrate(connection, load_migrations())
            user = await (await connection.execute("SELECT current_user")).fetchone()
        pool = open_pool(login)
        await pool.open(wait=True)
        async with pool:
            outcome = await Ledger(pool).once(key, PAYMENT, decide)
        return str(user[0]), outcome.replayed

    assert asyncio.run(as_current_user("order-0005")) == (ledger_db.user, False)
    source.values[DATABASE_ARN] = ledger_db.secret(user=clone, password="clone-pw")
    clock.now += 301  # the TTL passed: the next new connection reads the secret again
    assert asyncio.run(as_current_user("order-0005")) == (clone, True)
    assert source.refreshes == 0  # no login was refused: the previous user still works meanwhile


def test_the_pool_opens_after_a_refused_login_once_the_secret_is_read_again(ledger_db):
    source = FakeSecrets({DATABASE_ARN: ledger_db.secret(password="rotated-away")})
    source.next = {DATABASE_ARN: ledger_db.secret()}

    async def scenario() -> int:
        pool = open_pool(credentials(ledger_db, source))
        await pool.open(wait=True, timeout=10)
        async with pool, pool.connection() as connection:
            row = await (await connection.execute("SELECT 1")).fetchone()
            return int(row[0])

    assert asyncio.run(scenario()) == 1
    assert source.refreshes == 1


def test_a_failing_migration_leaves_no_trace_and_releases_the_lock(ledger_db):
    broken = Migration(2, "broken", "CREATE TABLE ledger.half (id int);\nSELECT no_such_function();")

    async def scenario() -> None:
        connection = await credentials(ledger_db).connect()
        async with connection:
            with pytest.raises(psycopg.errors.UndefinedFunction):
                await migrate(connection, [*load_migrations(), broken])

    asyncio.run(scenario())
    assert rows(ledger_db, "SELECT version FROM ledger.schema_migrations") == [(1,)]
    assert rows(ledger_db, "SELECT count(*) FROM pg_tables WHERE tablename = 'half'") == [(0,)]
    asyncio.run(migrated(ledger_db))  # the lock was released: the next start goes on


def test_a_session_ended_between_the_round_trips_is_a_503_not_retried_and_leaves_no_row(ledger_db):
    """The claim went through; the payment row and COMMIT meet a dead session: the one payment's
    transaction is gone with it, so the caller's retry processes the payment on a new connection."""
    calls = []

    async def terminated_meanwhile() -> Decision:
        calls.append(1)
        end_the_sessions(ledger_db)
        return Decision(True, 0, ())

    async def works() -> Decision:
        calls.append(2)
        return Decision(True, 0, ())

    outcome = failed_then_retried(ledger_db, "order-0007", terminated_meanwhile, works)
    assert (outcome.replayed, calls) == (False, [1, 2])  # not retried inside: it may have committed
    assert rows(ledger_db, "SELECT count(*) FROM ledger.payments") == [(1,)]


def test_a_row_the_database_refuses_rolls_the_claim_back_and_the_connection_serves_the_next(ledger_db):
    """An error in the payment row's statement ends the payment's one transaction: no
    key is left claimed, and the pooled connection comes back idle for the next payment."""

    async def out_of_range() -> Decision:
        return Decision(False, 101, ())  # risk_score CHECK (0-100)

    async def works() -> Decision:
        return Decision(True, 0, ())

    async def scenario():
        config = credentials(ledger_db)
        pool = open_pool(config)
        await pool.open(wait=True)
        async with pool:
            await pool.resize(1, 1)  # the next payments get the same connection
            ledger = Ledger(pool)
            with pytest.raises(psycopg.errors.CheckViolation):
                await ledger.once("order-0008", PAYMENT, out_of_range)
            async with pool.connection() as connection:
                status = connection.info.transaction_status
            first = await ledger.once("order-0008", PAYMENT, works)
            again = await ledger.once("order-0008", PAYMENT, works)
            return status, first, again

    asyncio.run(migrated(ledger_db))
    status, first, again = asyncio.run(scenario())
    assert status == psycopg.pq.TransactionStatus.IDLE
    assert (first.replayed, again.replayed) == (False, True)
    assert again.result == first.result
    assert rows(ledger_db, "SELECT count(*) FROM ledger.payments") == [(1,)]
