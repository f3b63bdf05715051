"""Load benchmark: POST /payments through all three services, side by side with bare baselines.

`nox -s loadtest` (or `python3 dev.py loadtest`) measures, in one run and on one machine:

- the services: api-gateway -> payment-processor -> fraud-detector on loopback (`LocalStack`, with
  PostgreSQL and Secrets Manager as `python3 dev.py local` runs them), each payment with its own
  idempotency key, so every one is validated, scored and recorded in the ledger;
- the ledger baseline, the target's yardstick: a bare three-hop chain on the services' own stack
  (uvicorn, httptools, uvloop, aiohttp's client, orjson) whose middle hop does the ledger's
  transaction and nothing else (`localrun.bench_chain --ledger`), against a PostgreSQL server started
  the same way, with the same pool size and TLS settings;
- three forwarding baselines, bare three-hop chains without a database (`localrun.bench_chain`), on
  uvicorn (httptools), aiohttp's server and granian: the cost of the HTTP stack alone.

Each contender is started, warmed up, then driven with `--concurrency` requests in flight for
`--requests` requests, in `--rounds` rounds (so a noisy neighbour hurts each alike): in each round
the services and the ledger baseline run back to back, each first in every other round, then the
forwarding chains in rotation. The load generator is aiohttp's client on uvloop in this process, on
CPU 0; the contender's processes are on CPU 1, and PostgreSQL, for the contenders that use it, on
CPU 0 beside the load generator (in AWS the database has CPUs of its own). It prints payments/s
and p50/p99 latency (median of the rounds, and their range), the CPU each process spends per
payment, PostgreSQL's statements per payment (`pg_stat_statements`), the ratio of the services to
each baseline, and the Fargate tasks per 1,000 payments/s that follow (1 vCPU per task, scaling out
at 70 % CPU).

The target, against the ledger baseline: at least 85 % of its throughput, with a p99 at most 1.5x
its p99, each the median over the rounds of that round's ratio (services over baseline, measured
back to back; `loadtest_figures.Figures` says why). Exit codes: 0 met, 1 missed (or the services
failed), 2 refused.
`--write-docs` writes the figures, with the commit measured and the date, into docs/benchmarks.md
and apps/README.md (`localrun.loadtest_figures`); it refuses (exit 2) when the measured code has
uncommitted changes, since the commit would not describe what was measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field

import aiohttp
import orjson
import uvloop

from localrun import loadtest_figures
from localrun.bench_chain import DATABASE_CA_ENV, DATABASE_SECRET_ENV, SERVERS
from localrun.loadtest_figures import Figures, Row
from localrun.local import LocalStack, free_port, running
from localrun.local_backing import APP_USER, DATABASE, running_backing
from localrun.local_postgres import (
    LocalPostgres,
    enable_statement_tracking,
    provision_ledger_database,
    running_postgres,
)
from shared.catalogue import CATALOGUE

PAYMENT = orjson.dumps({"amount": "42.00", "currency": "EUR", "card_token": "tok_4242424242424242"})
SERVICES = "services"
LEDGER_BASELINE = "ledger chain (uvicorn)"
TARGET_THROUGHPUT_RATIO = 0.85  # of the ledger baseline's payments/s, at least
TARGET_P99_RATIO = 1.5  # of the ledger baseline's p99, at most
FARGATE_VCPU_PER_TASK = 1.0
SCALE_OUT_CPU = 0.70  # the services' target-tracking CPU utilisation
START_TIMEOUT_SECONDS = 20.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
DATABASE_PROCESS = "postgres"


@dataclass(frozen=True)
class Contender:
    """A running contender: where to send payments, its processes, and its database (each pinned apart)."""

    url: str
    pids: Mapping[str, int]
    database: LocalPostgres | None = None


@dataclass(frozen=True)
class Run:
    ok: int
    failed: int
    seconds: float
    latencies_ms: list[float]
    cpu_seconds: Mapping[str, float]  # process name -> CPU seconds it spent during the run
    generator_cpu_seconds: float
    statements: Mapping[str, int] = field(default_factory=dict)  # statement -> calls during the run

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds

    def percentile(self, q: int) -> float:
        if len(self.latencies_ms) < 2:
            return math.nan  # too few answers to have percentiles
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[q - 1]

    def server_cpu_seconds(self) -> float:
        """CPU of the contender's own processes, the database's left out."""
        return sum(seconds for name, seconds in self.cpu_seconds.items() if name != DATABASE_PROCESS)


async def drive(url: str, requests: int, concurrency: int) -> tuple[list[float], int, int, float]:
    """Latencies (ms) of the 2xx answers, their count, the failures, and the wall-clock seconds."""
    latencies: list[float] = []
    failed = 0
    remaining = requests
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as client:

        async def worker() -> None:
            nonlocal failed, remaining
            while remaining > 0:
                remaining -= 1
                headers = {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
                started = time.perf_counter()
                async with client.post(url, data=PAYMENT, headers=headers) as answer:
                    await answer.read()
                if 200 <= answer.status < 300:
                    latencies.append((time.perf_counter() - started) * 1000)
                else:
                    failed += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, len(latencies), failed, time.perf_counter() - began


def _children(pid: int) -> list[int]:
    children: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as listed:
                children += [int(child) for child in listed.read().split()]
    except (FileNotFoundError, ProcessLookupError):  # it ended meanwhile (a short-lived backend)
        return []
    return children


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (granian serves from a child process)."""
    return [pid, *(grandchild for child in _children(pid) for grandchild in process_tree(child))]


def threads(pid: int) -> list[int]:
    """Every thread of a process (`sched_setaffinity` on a pid sets its main thread's only)."""
    try:
        return [int(task) for task in os.listdir(f"/proc/{pid}/task")]
    except FileNotFoundError:  # it ended meanwhile (a short-lived backend)
        return []


def pin(pids: Mapping[str, int], server_cpus: set[int] | None, database_pid: int | None = None) -> None:
    """Servers on `server_cpus`; this load generator, and the database when there is one, on the other
    CPUs (None: no pinning). In AWS the database has an instance of its own: here it must not take the
    servers' CPU either, or the contender whose backends the scheduler happens to wake there pays for
    it. Every thread of every process and of its children is pinned (a backend forked later inherits
    the postmaster's CPUs)."""
    if server_cpus is None:
        return
    others = set(range(os.cpu_count() or 1)) - server_cpus
    placed = [(pid, server_cpus) for pid in pids.values()]
    placed += [(database_pid, others)] if database_pid is not None else []
    for pid, cpus in placed:
        for each in process_tree(pid):
            for thread in threads(each):
                with contextlib.suppress(ProcessLookupError):  # a thread or backend that just ended
                    os.sched_setaffinity(thread, cpus)
    os.sched_setaffinity(0, others)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a live process and its live descendants (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):  # it ended meanwhile (a short-lived backend)
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    return own + sum(cpu_seconds(child) for child in _children(pid))


def postmaster_pid(database: LocalPostgres) -> int:
    """The server's main process (the first line of postmaster.pid); its backends are its children."""
    return int((database.workdir / "data" / "postmaster.pid").read_text().split()[0])


def reset_statements(database: LocalPostgres) -> None:
    import psycopg

    with psycopg.connect(database.admin_conninfo(DATABASE), autocommit=True) as admin:
        admin.execute("SELECT pg_stat_statements_reset()")


def read_statements(database: LocalPostgres) -> dict[str, int]:
    """Calls per statement the app's login user made since the reset (`pg_stat_statements`)."""
    import psycopg

    with psycopg.connect(database.admin_conninfo(DATABASE), autocommit=True) as admin:
        found = admin.execute(
            "SELECT s.query, s.calls FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid "
            "WHERE r.rolname = %s",
            (APP_USER,),
        ).fetchall()
    return {" ".join(str(query).split()): int(calls) for query, calls in found}


def measure(
    contender: Contender, requests: int, concurrency: int, warmup: int, server_cpus: set[int] | None
) -> Run:
    database_pid = postmaster_pid(contender.database) if contender.database is not None else None
    pin(contender.pids, server_cpus, database_pid)
    uvloop.run(drive(contender.url, warmup, concurrency))
    watched = dict(contender.pids)
    if contender.database is not None:
        watched[DATABASE_PROCESS] = postmaster_pid(contender.database)
        reset_statements(contender.database)
    before = {name: cpu_seconds(pid) for name, pid in watched.items()}
    generator_before = time.process_time()
    latencies, ok, failed, seconds = uvloop.run(drive(contender.url, requests, concurrency))
    generator = time.process_time() - generator_before
    return Run(
        ok=ok,
        failed=failed,
        seconds=seconds,
        latencies_ms=latencies,
        cpu_seconds={name: cpu_seconds(pid) - before[name] for name, pid in watched.items()},
        generator_cpu_seconds=generator,
        statements=read_statements(contender.database) if contender.database is not None else {},
    )


@contextmanager
def bare_chain(
    server: str,
    ledger: LocalPostgres | None = None,
    wrappers: Mapping[str, tuple[str, ...]] | None = None,
    start_timeout_seconds: float = START_TIMEOUT_SECONDS,
) -> Iterator[Contender]:
    """Three hops on `server`, the middle one doing the ledger transaction when `ledger` is given.

    wrappers: by hop name ("hop 2"), a command run in front of the hop's own (a profiler).
    """
    ports = [free_port() for _ in range(3)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        next_url: str | None = None
        for index, port in enumerate(reversed(ports)):
            command = [
                *(wrappers or {}).get(f"hop {3 - index}", ()),
                sys.executable,
                "-m",
                "localrun.bench_chain",
            ]
            command += ["--server", server, "--port", str(port)]
            env = dict(os.environ)
            if next_url:
                command += ["--next", next_url]
            if ledger is not None and index == 1:
                command.append("--ledger")
                env.update(ledger_env(ledger))
            processes.append(
                subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
            _wait_listening(port, processes[-1], start_timeout_seconds)
            next_url = f"http://127.0.0.1:{port}/payments"
        assert next_url is not None
        yield Contender(next_url, {f"hop {3 - n}": p.pid for n, p in enumerate(processes)}, ledger)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def ledger_env(database: LocalPostgres) -> dict[str, str]:
    """The ledger hop's login: the connection secret's JSON and the run's CA."""
    assert database.ca_file is not None
    secret = {"host": database.host, "port": database.port, "username": APP_USER,
              "password": LEDGER_PASSWORD, "dbname": DATABASE}  # fmt: skip
    return {DATABASE_SECRET_ENV: json.dumps(secret), DATABASE_CA_ENV: str(database.ca_file)}


LEDGER_PASSWORD = "bench-" + os.urandom(12).hex()


@contextmanager
def ledger_chain(
    wrappers: Mapping[str, tuple[str, ...]] | None = None,
    start_timeout_seconds: float = START_TIMEOUT_SECONDS,
) -> Iterator[Contender]:
    """The ledger baseline: PostgreSQL as the services get it (`running_backing`), then the chain."""
    with running_postgres(tls=True, track_statements=True) as database:
        provision_ledger_database(database, DATABASE, {APP_USER: LEDGER_PASSWORD})
        enable_statement_tracking(database, DATABASE)
        with bare_chain("uvicorn", database, wrappers, start_timeout_seconds) as chain:
            yield chain


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout_seconds: float) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"a chain hop exited with {process.returncode} while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"a chain hop did not listen on {port} within {timeout_seconds:.0f}s")


@contextmanager
def services(
    wrappers: Mapping[str, tuple[str, ...]] | None = None,
    start_timeout_seconds: float = START_TIMEOUT_SECONDS,
) -> Iterator[Contender]:
    """The three services as `python3 dev.py local` runs them; `wrappers` as in `LocalStack`."""
    ports = {spec.name: free_port() for spec in CATALOGUE}
    with (
        running_backing(track_statements=True) as backing,
        running(
            LocalStack(ports, backing, wrappers=wrappers or {}, start_timeout_seconds=start_timeout_seconds)
        ) as stack,
    ):
        pids = {name: process.pid for name, process in stack.processes.items()}
        yield Contender(f"{stack.url('api-gateway')}/payments", pids, backing.postgres)


Starter = Callable[[], AbstractContextManager[Contender]]


def contenders() -> dict[str, Starter]:
    def forwarding(server: str) -> Starter:
        return lambda: bare_chain(server)

    found: dict[str, Starter] = {f"chain ({server})": forwarding(server) for server in SERVERS}
    found[LEDGER_BASELINE] = ledger_chain
    found[SERVICES] = services
    return found


def summary(name: str, runs: list[Run]) -> str:
    def spread(values: list[float], digits: int) -> str:
        return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"

    failed = sum(run.failed for run in runs)
    generator = statistics.median(run.generator_cpu_seconds / run.seconds for run in runs)
    throughput = spread([r.throughput for r in runs], 0)
    p50, p99 = spread([r.percentile(50) for r in runs], 1), spread([r.percentile(99) for r in runs], 1)
    cpu = statistics.median(r.server_cpu_seconds() * 1000 / r.ok for r in runs)
    database = statistics.median(r.cpu_seconds.get(DATABASE_PROCESS, 0.0) * 1000 / r.ok for r in runs)
    statements = statistics.median(sum(r.statements.values()) / r.ok for r in runs)
    db = f"{database:>8.2f} {statements:>7.1f}" if runs[0].statements else f"{'-':>8} {'-':>7}"
    return f"{name:<24} {throughput:>18} {p50:>18} {p99:>20} {cpu:>8.2f} {db} {generator:>7.0%} {failed:>6}"


HEADER = (
    f"{'':<24} {'payments/s':>18} {'p50 ms':>18} {'p99 ms':>20} {'CPU ms':>8} {'DB CPU':>8} "
    f"{'stmts':>7} {'loadgen':>7} {'failed':>6}"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="per measured run")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument(
        "--rounds",
        type=int,
        default=8,
        help="rounds; in each the services and the ledger chain run back to back, each first in every "
        "other round (an even count balances the order); medians are reported",
    )
    parser.add_argument(
        "--share-cpus",
        action="store_true",
        help="let servers and load generator share every CPU (default: servers on CPU 1, generator on CPU 0)",
    )
    parser.add_argument(
        "--only-target",
        action="store_true",
        help="measure only the services and the ledger baseline (the target), not the forwarding chains",
    )
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="write the figures, with the commit and date, into docs/benchmarks.md and apps/README.md",
    )
    args = parser.parse_args(argv)
    if args.write_docs:
        dirty = loadtest_figures.uncommitted_measured_files()
        if dirty:
            print(
                f"error: --write-docs refused: measured files have uncommitted changes ({', '.join(dirty)}); "
                "commit them first, so the recorded commit is what was measured",
                file=sys.stderr,
            )
            return 2
    server_cpus = None if args.share_cpus or (os.cpu_count() or 1) < 2 else {1}
    starters = contenders()
    if args.only_target:
        starters = {name: starters[name] for name in (LEDGER_BASELINE, SERVICES)}
    load_before = os.getloadavg()[0]
    results: dict[str, list[Run]] = {name: [] for name in starters}
    for round_ in range(args.rounds):
        for name in round_order(list(starters), round_):
            with starters[name]() as contender:
                results[name].append(
                    measure(contender, args.requests, args.concurrency, args.warmup, server_cpus)
                )
            print(f"round {round_ + 1}/{args.rounds}: {name}: {progress(results[name][-1])}", flush=True)
    conditions = (
        f"concurrency {args.concurrency}, {args.rounds} rounds of {args.requests} requests each; "
        f"median (min-max) over the rounds; {os.cpu_count()} CPUs, load average {load_before:.1f} "
        "before the run"
    )
    report = render(results, conditions)
    print("\n" + report.text)
    if report.services_failed:
        print("the services answered too few payments to measure", file=sys.stderr)
        return 1
    if args.write_docs:
        written = loadtest_figures.write(report.figures, conditions)
        print(f"\nwrote the figures, at commit {written}, into {', '.join(loadtest_figures.DOCUMENTS)}")
    return 0 if report.met else 1


def progress(run: Run) -> str:
    """One round of one contender: payments/s, p99, and the CPU of each process per payment."""
    if run.ok == 0:
        return f"no payment answered ({run.failed} failed)"
    cpu = ", ".join(f"{name} {seconds * 1000 / run.ok:.2f}" for name, seconds in run.cpu_seconds.items())
    return f"{run.throughput:.0f}/s, p99 {run.percentile(99):.1f} ms; CPU ms a payment: {cpu}"


def round_order(names: list[str], round_: int) -> list[str]:
    """Who runs when in round `round_`: the services and the ledger baseline back to back, each first
    in every other round (the verdict compares them round by round), then the forwarding chains in
    rotation."""
    pair = [name for name in (LEDGER_BASELINE, SERVICES) if name in names]
    others = [name for name in names if name not in pair]
    shift = round_ % len(others) if others else 0
    return (pair if round_ % 2 == 0 else pair[::-1]) + others[shift:] + others[:shift]


@dataclass(frozen=True)
class Report:
    text: str
    services_failed: bool
    figures: Figures

    @property
    def met(self) -> bool:
        return self.figures.met


def cpu_per_request(runs: list[Run], process: str) -> float:
    return statistics.median(run.cpu_seconds[process] / run.ok for run in runs)


def median(runs: list[Run], value: Callable[[Run], float]) -> float:
    return statistics.median(value(run) for run in runs)


def row(name: str, runs: list[Run]) -> Row:
    throughputs = [run.throughput for run in runs]
    has_database = bool(runs[0].statements) or DATABASE_PROCESS in runs[0].cpu_seconds
    return Row(
        name=name,
        throughput=statistics.median(throughputs),
        throughput_low=min(throughputs),
        throughput_high=max(throughputs),
        p50_ms=median(runs, lambda run: run.percentile(50)),
        p99_ms=median(runs, lambda run: run.percentile(99)),
        cpu_ms=median(runs, lambda run: run.server_cpu_seconds() * 1000 / run.ok),
        database_cpu_ms=(
            median(runs, lambda run: run.cpu_seconds.get(DATABASE_PROCESS, 0.0) * 1000 / run.ok)
            if has_database
            else None
        ),
        statements=median(runs, lambda run: sum(run.statements.values()) / run.ok) if has_database else None,
        failed=sum(run.failed for run in runs),
    )


def statements_per_payment(runs: list[Run]) -> dict[str, float]:
    every = {text for run in runs for text in run.statements}
    return {text: median(runs, lambda run, t=text: run.statements.get(t, 0) / run.ok) for text in every}  # type: ignore[misc]


def ratio_line(ours: list[Run], name: str, baseline: list[Run]) -> str:
    throughput = median(ours, lambda run: run.throughput) / median(baseline, lambda run: run.throughput)
    p99 = median(ours, lambda run: run.percentile(99)) / median(baseline, lambda run: run.percentile(99))
    cpu = median(baseline, lambda run: run.server_cpu_seconds() / run.ok) / median(
        ours, lambda run: run.server_cpu_seconds() / run.ok
    )
    return (
        f"services / {name}, medians over the rounds: throughput {throughput:.0%}, p99 {p99:.2f}x; "
        f"payments per CPU-second {cpu:.0%} of its"
    )


def render(results: Mapping[str, list[Run]], conditions: str) -> Report:
    """The printed report, the target's verdict, and the figures for the docs."""
    ours = results[SERVICES]
    services_failed = any(run.ok < 2 for run in ours)
    rows = tuple(row(name, runs) for name, runs in results.items() if all(run.ok >= 2 for run in runs))
    by_name = {each.name: each for each in rows}
    measured = SERVICES in by_name and LEDGER_BASELINE in by_name
    # The verdict pairs each round's services with the same round's baseline (`Figures`).
    pairs = list(zip(ours, results[LEDGER_BASELINE], strict=True)) if measured else []
    figures = Figures(
        rows=rows,
        baseline=LEDGER_BASELINE,
        throughput_ratios=tuple(mine.throughput / theirs.throughput for mine, theirs in pairs),
        p99_ratios=tuple(mine.percentile(99) / theirs.percentile(99) for mine, theirs in pairs),
        failed=sum(run.failed for run in (*ours, *results[LEDGER_BASELINE])) if measured else 0,
        target_throughput=TARGET_THROUGHPUT_RATIO,
        target_p99=TARGET_P99_RATIO,
        statements={
            name: statements_per_payment(runs) for name, runs in results.items() if runs[0].statements
        },
        cpu_by_process={
            name: {process: cpu_per_request(runs, process) * 1000 for process in runs[0].cpu_seconds}
            for name, runs in results.items()
            if name in by_name
        },
    )
    lines = [conditions, "", HEADER, *(summary(name, runs) for name, runs in results.items()), ""]
    if not measured:
        return Report("\n".join(lines), services_failed, figures)
    lines.append(f"services / {LEDGER_BASELINE}: {figures.verdict()}")
    lines += [ratio_line(ours, name, runs) for name, runs in results.items() if name != SERVICES]
    lines += ["", "PostgreSQL statements per payment (pg_stat_statements):"]
    for name, calls in figures.statements.items():
        lines.append(f"  {name}:")
        lines += [
            f"    {count:5.2f}  {text[:100]}" for text, count in sorted(calls.items(), key=lambda c: -c[1])
        ]
    lines += ["", "CPU ms per payment, by process (median of the rounds):"]
    for name, runs in results.items():
        cpu = {process: cpu_per_request(runs, process) * 1000 for process in runs[0].cpu_seconds}
        lines.append(f"  {name:<24} " + ", ".join(f"{process} {value:.2f}" for process, value in cpu.items()))
    lines += [
        "",
        "Fargate tasks per 1,000 payments/s from each service's CPU (1 vCPU a task, scaling out at 70 %):",
    ]
    total = 0.0
    for service in (spec.name for spec in CATALOGUE):
        tasks = 1000 * cpu_per_request(ours, service) / (FARGATE_VCPU_PER_TASK * SCALE_OUT_CPU)
        total += tasks
        lines.append(f"  {service:<18} {tasks:5.2f} -> {math.ceil(tasks)} tasks")
    lines.append(f"  {'all three':<18} {total:5.2f} vCPU at 70 %")
    return Report("\n".join(lines), services_failed, figures)


if __name__ == "__main__":
    sys.exit(main())
