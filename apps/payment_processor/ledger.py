"""The payment ledger in PostgreSQL: one payment per idempotency key, whichever task gets the request.

One transaction per request (READ COMMITTED):

1. `INSERT INTO ledger.idempotency_keys ... ON CONFLICT DO NOTHING` claims the key. While this
   transaction is open its uncommitted row holds the key: a concurrent INSERT of the same key, from
   any task or process, waits until it commits or rolls back (PostgreSQL documentation, INSERT,
   "ON CONFLICT Clause": the conflicting row is waited for, then DO NOTHING applies).
2. Claimed: fraud-detector is asked for a score (the transaction stays open meanwhile), then the
   payment row is inserted and both rows commit together. The key row's foreign key to the payment is
   deferred to COMMIT, so neither can exist without the other.
3. Not claimed (the key was stored, or a concurrent request stored it while this one waited): the
   stored payment is read and returned as a replay (200, `Idempotent-Replayed: true`), or refused
   with `KeyReusedError` (422) when the request's content differs from the stored one's.

A failed attempt (fraud-detector down: 503, the database gone, the task killed) rolls back or is
rolled back by the server when the session ends, so it leaves no row and a retry processes the
payment. A request that waits for a concurrent one with the same key waits at most `lock_timeout`
(longer than the first one's worst case) and then gets the first one's result, or processes the
payment itself if the first one failed: no payment is processed twice, and no request fails only
because it raced another. The unique constraints (`payments.idempotency_key`, the key's primary
key, `idempotency_keys.payment_id`) make a second payment for one key impossible whatever the code.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from apps.common.downstream import DownstreamUnavailableError
from apps.common.payments import PaymentRequest

DATABASE = "ledger-database"  # how a 503 names the database to the caller


class KeyReusedError(Exception):
    """The idempotency key already belongs to a different request."""


@dataclass(frozen=True)
class Decision:
    """What processing a new payment decided."""

    approved: bool
    risk_score: int
    risk_reasons: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    result: dict[str, Any]
    replayed: bool


# The statements of one payment, shared with the load benchmark's ledger baseline (localrun/bench_chain.py).
CLAIM_SQL = """
INSERT INTO ledger.idempotency_keys (idempotency_key, request_fingerprint, payment_id)
VALUES (%s, %s, %s)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING payment_id
"""
STORED_SQL = """
SELECT k.request_fingerprint, p.payment_id, p.status, p.amount, p.currency, p.card_token,
       p.risk_score, p.risk_reasons
FROM ledger.idempotency_keys k JOIN ledger.payments p ON p.payment_id = k.payment_id
WHERE k.idempotency_key = %s
"""
RECORD_SQL = """
INSERT INTO ledger.payments
    (payment_id, idempotency_key, status, amount, currency, card_token, risk_score, risk_reasons)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
"""


def payment_result(
    payment_id: uuid.UUID, status: str, request: PaymentRequest, risk_score: int, risk_reasons: list[str]
) -> dict[str, Any]:
    """The response body of a payment, the same when it is made and whenever it is replayed."""
    return {
        "payment_id": str(payment_id),
        "status": status,
        **request.as_json(),
        "risk_score": risk_score,
        "risk_reasons": risk_reasons,
    }


# SQLSTATE class 57 errors that end the session (PostgreSQL docs, "PostgreSQL Error Codes").
_SESSION_ENDED = (psycopg.errors.AdminShutdown, psycopg.errors.CrashShutdown, psycopg.errors.CannotConnectNow)


class _StaleConnectionError(Exception):
    """The pooled connection was found broken before the claim came back: nothing of it was kept."""


def _jsonb_text(value: Any) -> str:
    return orjson.dumps(value).decode()


class Ledger:
    """Payments and idempotency keys in PostgreSQL, through a connection pool.

    The pool's connections are in autocommit mode and the transaction is spelled out, one statement
    a round trip, on one cursor (`connection.execute` sets up a cursor per statement): BEGIN, the
    claim, the payment row, COMMIT, with BEGIN and COMMIT unprepared. psycopg's own
    `transaction()` block does the same with more Python around it. libpq's pipeline mode would send
    BEGIN with the claim and the row with COMMIT, two round trips instead of four, but psycopg's
    pipeline machinery is Python: under load it cost payment-processor more CPU than the two round
    trips it saved, and fewer payments/s (docs/benchmarks.md). A pooled connection is not checked
    before use (a round trip per payment); instead, one found broken before the claim came back (a
    restart or failover of the database ended the session) is dropped and the payment tried once on
    another, which is safe: the session's end rolled back whatever of the payment had reached the
    database, and fraud-detector had not been asked.
    """

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    async def once(
        self, key: str, request: PaymentRequest, process: Callable[[], Awaitable[Decision]]
    ) -> Outcome:
        """The payment for `key`: processed now (exactly once across tasks) or the stored one."""
        fingerprint = request.fingerprint()
        try:
            try:
                return await self._once(key, request, fingerprint, process)
            except _StaleConnectionError:
                # A restart or failover ends every connection the pool holds, not just this one: test the
                # idle ones and replace the broken (psycopg_pool `check`) before the one retry.
                await self.pool.check()
                return await self._once(key, request, fingerprint, process)
        except _StaleConnectionError as stale:
            raise DownstreamUnavailableError(DATABASE, str(stale.__cause__ or stale)) from None
        except PoolTimeout:
            raise DownstreamUnavailableError(DATABASE, "no database connection became free") from None
        except psycopg.errors.LockNotAvailable:
            raise DownstreamUnavailableError(
                DATABASE, "a request with the same key is still being processed"
            ) from None
        except psycopg.OperationalError as failed:
            raise DownstreamUnavailableError(DATABASE, type(failed).__name__) from None

    async def _once(
        self,
        key: str,
        request: PaymentRequest,
        fingerprint: str,
        process: Callable[[], Awaitable[Decision]],
    ) -> Outcome:
        payment_id = uuid.uuid4()
        async with self.pool.connection() as connection:
            # One cursor for the whole transaction: `connection.execute` makes one per statement.
            cursor = connection.cursor()
            try:
                try:  # round trips 1 and 2: BEGIN, the claim
                    await cursor.execute("BEGIN", prepare=False)
                    await cursor.execute(CLAIM_SQL, (key, fingerprint, payment_id))
                    claimed = await cursor.fetchone()
                except psycopg.OperationalError as failed:
                    # The server may say why before it closes (57P01 admin_shutdown after a
                    # pg_terminate_backend, a restart or a failover): psycopg has not marked the
                    # connection broken yet, but the session is gone, and with it the open
                    # transaction: nothing of this payment is left in the database, and fraud-detector
                    # was not asked yet. (A lock wait that ran out is not this: it is answered 503.)
                    if connection.broken or isinstance(failed, _SESSION_ENDED):
                        raise _StaleConnectionError(type(failed).__name__) from failed
                    raise
                if claimed is None:
                    outcome = await self._stored(cursor, key, fingerprint)
                    await cursor.execute("COMMIT", prepare=False)
                    return outcome
                decision = await process()
                status = "approved" if decision.approved else "declined"
                reasons = list(decision.risk_reasons)
                await cursor.execute(
                    RECORD_SQL,
                    (payment_id, key, status, request.amount, request.currency, request.card_token,
                     decision.risk_score, Jsonb(reasons, dumps=_jsonb_text)),
                )  # fmt: skip
                await cursor.execute("COMMIT", prepare=False)
            except BaseException:
                await _roll_back(connection)
                raise
        return Outcome(
            payment_result(payment_id, status, request, decision.risk_score, reasons), replayed=False
        )

    async def _stored(self, cursor: psycopg.AsyncCursor[Any], key: str, fingerprint: str) -> Outcome:
        await cursor.execute(STORED_SQL, (key,))
        row = await cursor.fetchone()
        if row is None:  # the foreign key makes this impossible; say so rather than guess
            raise RuntimeError(f"idempotency key {key!r} is stored without its payment")
        stored_fingerprint, payment_id, status, amount, currency, card_token, score, reasons = row
        if stored_fingerprint != fingerprint:
            raise KeyReusedError(key)
        request = PaymentRequest(Decimal(amount), str(currency), str(card_token))
        return Outcome(payment_result(payment_id, status, request, int(score), list(reasons)), replayed=True)


async def _roll_back(connection: psycopg.AsyncConnection[Any]) -> None:
    """End a failed payment's transaction, so the pool gets the connection back idle (or drops it)."""
    if connection.broken or connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        return
    with contextlib.suppress(psycopg.Error):
        await connection.execute("ROLLBACK")
