"""Two payment-processor processes on one PostgreSQL: one payment per key, whichever process is asked."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import psycopg
import pytest

from localrun.local import LocalStack, free_port, running
from localrun.local_backing import DATABASE
from tests.apps.conftest import Answer, SlowScorer, post

PAYMENT = {"amount": "250.00", "currency": "EUR", "card_token": "tok_4242424242424242"}


class HalfSecondScorer(SlowScorer):
    delay = 0.5  # long enough for every request of a burst to arrive while the first one holds the key


@pytest.fixture(scope="module")
def scorer() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), HalfSecondScorer)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()


def processor(backing, scorer: int) -> LocalStack:
    """One payment-processor process against the shared database and the fake fraud-detector."""
    return LocalStack(
        {"api-gateway": free_port(), "payment-processor": free_port(), "fraud-detector": scorer},
        backing,
        skip=frozenset({"api-gateway", "fraud-detector"}),
    )


def burst(urls: list[str], key: str) -> list[Answer]:
    answers: list[Answer] = []
    lock = threading.Lock()

    def send(url: str) -> None:
        answer = post(f"{url}/payments", PAYMENT, {"Idempotency-Key": key})
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=send, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def payment_rows(backing, key: str) -> int:
    with psycopg.connect(backing.postgres.admin_conninfo(DATABASE)) as admin:
        row = admin.execute(
            "SELECT count(*) FROM ledger.payments WHERE idempotency_key = %s", (key,)
        ).fetchone()
        assert row is not None
        return int(row[0])


def test_concurrent_requests_with_one_key_to_two_processes_make_exactly_one_payment(backing, scorer):
    first, second = processor(backing, scorer), processor(backing, scorer)
    with running(first), running(second):
        urls = [first.url("payment-processor"), second.url("payment-processor")] * 4
        key = "two-processes-" + uuid.uuid4().hex
        answers = burst(urls, key)
        assert len(answers) == 8
        assert sorted(a.status for a in answers) == [200] * 7 + [201]
        assert len({a.body["payment_id"] for a in answers}) == 1
        assert {a.headers["idempotent-replayed"] for a in answers if a.status == 200} == {"true"}
        assert payment_rows(backing, key) == 1

        # The payment outlives the process that made it: a restarted task replays it.
        first.stop("payment-processor")
        first.start()
        again = post(f"{first.url('payment-processor')}/payments", PAYMENT, {"Idempotency-Key": key})
        assert (again.status, again.body["payment_id"]) == (200, answers[0].body["payment_id"])
        reused = post(
            f"{second.url('payment-processor')}/payments",
            {**PAYMENT, "amount": "251.00"},
            {"Idempotency-Key": key},
        )
        assert (reused.status, reused.body["error"]) == (422, "idempotency_key_reused")
        assert payment_rows(backing, key) == 1


def test_a_task_killed_mid_payment_leaves_nothing_that_blocks_the_retry(backing, scorer):
    first, second = processor(backing, scorer), processor(backing, scorer)
    with running(first), running(second):
        key = "killed-" + uuid.uuid4().hex
        lost: list[BaseException] = []

        def doomed() -> None:
            try:
                post(f"{first.url('payment-processor')}/payments", PAYMENT, {"Idempotency-Key": key})
            except OSError as gone:  # the process died before answering
                lost.append(gone)

        client = threading.Thread(target=doomed)
        client.start()
        time.sleep(0.25)  # the first process holds the key and waits for its score
        first.processes["payment-processor"].kill()
        client.join(timeout=10)
        assert lost
        retried = post(f"{second.url('payment-processor')}/payments", PAYMENT, {"Idempotency-Key": key})
        assert retried.status == 201
        assert payment_rows(backing, key) == 1
        first.processes["payment-processor"].wait(timeout=10)
