"""The load benchmark's target: 85 % of the ledger chain's throughput and at most 1.5x its p99, same run.

The verdict (each round's ratio, then their median) is computed from made-up rounds here (the
benchmark itself is too slow and too noisy for the suite); the ledger baseline is checked against a
real PostgreSQL: it does the ledger transaction.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import replace

import psycopg
import pytest

from localrun import loadtest
from localrun.loadtest import LEDGER_BASELINE, SERVICES, Run, ledger_chain, render, round_order
from localrun.local_backing import DATABASE
from localrun.local_postgres import find_bin_dir
from shared.catalogue import CATALOGUE


def rounds(throughput: float, p99_ms: float, processes: list[str], statements: int = 0) -> list[Run]:
    """Three identical rounds of 1,000 payments at `throughput`/s whose p99 is `p99_ms`."""
    latencies = [p99_ms / 2] * 980 + [p99_ms] * 20
    seconds = 1000 / throughput
    return [
        Run(
            ok=1000,
            failed=0,
            seconds=seconds,
            latencies_ms=latencies,
            cpu_seconds=dict.fromkeys(processes, 0.3),
            generator_cpu_seconds=0.1,
            statements={"BEGIN": 1000 * statements} if statements else {},
        )
        for _ in range(3)
    ]


SERVICE_PROCESSES = [spec.name for spec in CATALOGUE]
HOPS = ["hop 1", "hop 2", "hop 3"]


@pytest.mark.parametrize(
    ("services_throughput", "services_p99", "met"),
    [
        (900, 60, True),  # 90 %, 1.2x
        (850, 75, True),  # exactly at both limits
        (840, 60, False),  # 84 %: too slow
        (1000, 76, False),  # fast enough, but p99 1.52x
    ],
)
def test_the_target_is_85_percent_of_the_ledger_chain_and_a_p99_within_1_5x(
    services_throughput, services_p99, met
):
    results = {
        LEDGER_BASELINE: rounds(1000, 50, HOPS, statements=4),
        SERVICES: rounds(services_throughput, services_p99, SERVICE_PROCESSES, statements=2),
    }
    report = render(results, "test conditions")
    assert report.met is met
    assert report.figures.baseline == LEDGER_BASELINE
    assert f"target {'met' if met else 'missed'}" in report.text


def test_the_verdict_pairs_each_round_with_the_same_rounds_baseline():
    """A machine twice as fast in one round lifts both contenders: the paired ratios stay at 90 %."""
    ledger = rounds(1000, 50, HOPS, statements=4)
    services = rounds(900, 60, SERVICE_PROCESSES, statements=2)
    for each in (ledger, services):
        each[2] = replace(each[2], seconds=each[2].seconds / 2)  # round 3 on a quieter machine
    figures = render({LEDGER_BASELINE: ledger, SERVICES: services}, "test conditions").figures
    assert [round(ratio, 3) for ratio in figures.throughput_ratios] == [0.9, 0.9, 0.9]
    assert figures.p99_ratio == pytest.approx(1.2)
    assert figures.met


def test_one_bad_round_does_not_decide_the_verdict_and_is_shown():
    ledger = rounds(1000, 50, HOPS, statements=4)
    services = rounds(900, 60, SERVICE_PROCESSES, statements=2)
    services[0] = replace(services[0], seconds=services[0].seconds * 2)  # 45 % in one round
    report = render({LEDGER_BASELINE: ledger, SERVICES: services}, "test conditions")
    assert report.met
    assert "throughput 90% of the ledger chain (uvicorn)'s (45%-90%; target >= 85%)" in report.text


def test_a_round_without_one_answer_is_reported_not_divided_by():
    assert (
        loadtest.progress(Run(0, 3000, 1.0, [], {"hop 1": 0.1}, 0.1)) == "no payment answered (3000 failed)"
    )


def test_a_failed_payment_misses_the_target_however_fast_the_rest():
    ledger = rounds(1000, 50, HOPS, statements=4)
    services = rounds(1000, 50, SERVICE_PROCESSES, statements=2)
    services[1] = replace(services[1], failed=3)
    report = render({LEDGER_BASELINE: ledger, SERVICES: services}, "test conditions")
    assert not report.met
    assert "; 3 payments failed: target missed" in report.text


def test_the_services_and_the_ledger_baseline_run_back_to_back_each_first_in_turn():
    names = ["chain (uvicorn)", "chain (aiohttp)", LEDGER_BASELINE, SERVICES]
    orders = [round_order(names, round_) for round_ in range(4)]
    assert [order[:2] for order in orders] == [[LEDGER_BASELINE, SERVICES], [SERVICES, LEDGER_BASELINE]] * 2
    assert [order[2] for order in orders] == ["chain (uvicorn)", "chain (aiohttp)"] * 2
    assert all(sorted(order) == sorted(names) for order in orders)
    assert round_order([LEDGER_BASELINE, SERVICES], 1) == [SERVICES, LEDGER_BASELINE]


def test_the_forwarding_chains_do_not_decide_the_target():
    results = {
        "chain (uvicorn)": rounds(3000, 10, HOPS),  # far faster, but it does no ledger transaction
        LEDGER_BASELINE: rounds(1000, 50, HOPS, statements=4),
        SERVICES: rounds(900, 60, SERVICE_PROCESSES, statements=2),
    }
    report = render(results, "test conditions")
    assert report.met
    assert "services / chain (uvicorn), medians over the rounds: throughput 30%" in report.text


def test_services_that_answered_almost_nothing_fail_the_benchmark():
    results = {LEDGER_BASELINE: rounds(1000, 50, HOPS), SERVICES: rounds(1000, 50, SERVICE_PROCESSES)}
    results[SERVICES][1] = Run(1, 999, 1.0, [5.0], dict.fromkeys(SERVICE_PROCESSES, 0.1), 0.1)
    report = render(results, "test conditions")
    assert report.services_failed
    assert not report.met


def test_the_statements_per_payment_come_from_each_contenders_database():
    results = {
        LEDGER_BASELINE: rounds(1000, 50, HOPS, statements=4),
        SERVICES: rounds(900, 60, SERVICE_PROCESSES, statements=2),
    }
    figures = render(results, "test conditions").figures
    assert figures.statements == {LEDGER_BASELINE: {"BEGIN": 4.0}, SERVICES: {"BEGIN": 2.0}}
    assert [row.statements for row in figures.rows] == [4.0, 2.0]


@pytest.mark.skipif(find_bin_dir() is None, reason="Debian's PostgreSQL server is not installed")
def test_the_ledger_baseline_claims_each_key_and_stores_its_row_in_one_transaction():
    """The yardstick must do the work it stands for: one key row and one payment row per payment."""
    with ledger_chain() as chain:
        assert chain.database is not None
        loadtest.reset_statements(chain.database)
        answers = []
        for _ in range(5):
            _latencies, ok, failed, _seconds = loadtest.uvloop.run(loadtest.drive(chain.url, 1, 1))
            answers.append((ok, failed))
        statements = loadtest.read_statements(chain.database)
        with psycopg.connect(chain.database.admin_conninfo(DATABASE), autocommit=True) as admin:
            counted = admin.execute(
                "SELECT (SELECT count(*) FROM ledger.payments), "
                "(SELECT count(*) FROM ledger.idempotency_keys), "
                "(SELECT count(*) FROM ledger.payments JOIN ledger.idempotency_keys USING (payment_id))"
            ).fetchone()
    assert answers == [(1, 0)] * 5
    assert counted == (5, 5, 5)
    assert statements.get("BEGIN") == 5
    assert statements.get("COMMIT") == 5
    assert sum(calls for text, calls in statements.items() if text.startswith("INSERT INTO ledger.")) == 10


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="pinning needs two CPUs")
def test_every_thread_of_the_servers_and_the_database_is_pinned_apart():
    """A server's helper threads and a database's backends (its children) go where their process goes."""
    program = (
        "import subprocess, sys, threading, time\n"
        "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    # Each in a session of its own, so the whole group (the child too) is killed at the end.
    server, database = (
        subprocess.Popen(
            [sys.executable, "-c", program], stdout=subprocess.PIPE, text=True, start_new_session=True
        )
        for _ in range(2)
    )
    own = os.sched_getaffinity(0)
    others = set(range(os.cpu_count() or 1)) - {1}  # where pin puts the generator and the database
    try:
        assert server.stdout is not None
        assert database.stdout is not None
        backend = int(database.stdout.readline())
        server.stdout.readline()
        loadtest.pin({"server": server.pid}, {1}, database.pid)
        server_threads = loadtest.threads(server.pid)
        assert len(server_threads) >= 2  # the main thread and the helper
        assert all(os.sched_getaffinity(thread) == {1} for thread in server_threads)
        assert {frozenset(os.sched_getaffinity(t)) for t in loadtest.threads(backend)} == {frozenset(others)}
        assert os.sched_getaffinity(0) == others  # the load generator: beside the database
    finally:
        os.sched_setaffinity(0, own)
        for process in (server, database):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
