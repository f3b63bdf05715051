"""Load benchmark: POST /payments through all three services, side by side with a bare baseline.

`nox -s loadtest` (or `python3 dev.py loadtest`) measures, in one run and on one machine:

- the services: api-gateway -> payment-processor -> fraud-detector on loopback (`LocalStack`),
  each payment with its own idempotency key, so every one is validated, scored and recorded;
- two baselines, each a bare three-hop chain that only forwards JSON (`apps.bench_chain`), on
  uvicorn (httptools) and on aiohttp's server, both on uvloop with aiohttp's client and orjson.

Each contender is started, warmed up, then driven with `--concurrency` requests in flight for
`--requests` requests, `--rounds` times in rotation (so a noisy neighbour hurts each alike). The
load generator is aiohttp's client on uvloop in this process; its CPU share is printed to show it
is not the bottleneck. It prints payments/s and p50/p99 latency (median of the rounds, and their
range), the ratio of the services to the faster baseline against the target (>= 60 % of its
throughput, p99 <= 2x), the CPU each service spends per payment, and the Fargate tasks per 1,000
payments/s that follow (1 vCPU per task, scaling out at 70 % CPU). A benchmark, not a test:
nothing fails on a slow machine.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import aiohttp
import orjson
import uvloop

from apps.bench_chain import SERVERS
from apps.local import LocalStack, free_port, running
from apps.local_backing import running_backing
from shared.catalogue import CATALOGUE

PAYMENT = orjson.dumps({"amount": "42.00", "currency": "EUR", "card_token": "tok_4242424242424242"})
TARGET_THROUGHPUT_RATIO = 0.60
TARGET_P99_RATIO = 2.0
FARGATE_VCPU_PER_TASK = 1.0
SCALE_OUT_CPU = 0.70  # the services' target-tracking CPU utilisation
START_TIMEOUT_SECONDS = 20.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    ok: int
    failed: int
    seconds: float
    latencies_ms: list[float]
    cpu_seconds: Mapping[str, float]  # process name -> CPU seconds it spent during the run
    generator_cpu_seconds: float

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds

    def percentile(self, q: int) -> float:
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[q - 1]


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


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (granian serves from a child process)."""
    children: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as listed:
            children += [int(child) for child in listed.read().split()]
    return [pid, *(grandchild for child in children for grandchild in process_tree(child))]


def pin(pids: Mapping[str, int], server_cpus: set[int] | None) -> None:
    """Servers on `server_cpus`, this load generator on the other CPUs (None: no pinning)."""
    if server_cpus is None:
        return
    for pid in pids.values():
        for each in process_tree(pid):
            os.sched_setaffinity(each, server_cpus)
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)) - server_cpus)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a live process and its children (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    own = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    children: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as listed:
            children += [int(child) for child in listed.read().split()]
    return own + sum(cpu_seconds(child) for child in children)


def measure(
    url: str,
    pids: Mapping[str, int],
    requests: int,
    concurrency: int,
    warmup: int,
    server_cpus: set[int] | None,
) -> Run:
    pin(pids, server_cpus)
    uvloop.run(drive(url, warmup, concurrency))
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    generator_before = time.process_time()
    latencies, ok, failed, seconds = uvloop.run(drive(url, requests, concurrency))
    return Run(
        ok=ok,
        failed=failed,
        seconds=seconds,
        latencies_ms=latencies,
        cpu_seconds={name: cpu_seconds(pid) - before[name] for name, pid in pids.items()},
        generator_cpu_seconds=time.process_time() - generator_before,
    )


@contextmanager
def bare_chain(server: str) -> Iterator[tuple[str, dict[str, int]]]:
    """Three forwarding hops on `server`; yields the first hop's URL and each hop's pid."""
    ports = [free_port() for _ in range(3)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        next_url: str | None = None
        for port in reversed(ports):
            command = [sys.executable, "-m", "apps.bench_chain", "--server", server, "--port", str(port)]
            if next_url:
                command += ["--next", next_url]
            processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            _wait_listening(port, processes[-1])
            next_url = f"http://127.0.0.1:{port}/payments"
        assert next_url is not None
        yield next_url, {f"hop {3 - n}": p.pid for n, p in enumerate(processes)}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"a chain hop exited with {process.returncode} while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"a chain hop did not listen on {port} within {START_TIMEOUT_SECONDS:.0f}s")


@contextmanager
def services() -> Iterator[tuple[str, dict[str, int]]]:
    with (
        running_backing() as backing,
        running(LocalStack({spec.name: free_port() for spec in CATALOGUE}, backing)) as stack,
    ):
        pids = {name: process.pid for name, process in stack.processes.items()}
        yield f"{stack.url('api-gateway')}/payments", pids


def contenders() -> dict[str, object]:
    found: dict[str, object] = {
        f"baseline ({server})": (lambda s=server: bare_chain(s)) for server in SERVERS
    }
    found["services"] = services
    return found


def summary(name: str, runs: list[Run]) -> str:
    def spread(values: list[float], digits: int) -> str:
        return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"

    failed = sum(run.failed for run in runs)
    generator = statistics.median(run.generator_cpu_seconds / run.seconds for run in runs)
    throughput = spread([r.throughput for r in runs], 0)
    p50, p99 = spread([r.percentile(50) for r in runs], 1), spread([r.percentile(99) for r in runs], 1)
    cpu = statistics.median(sum(r.cpu_seconds.values()) * 1000 / r.ok for r in runs)
    return f"{name:<20} {throughput:>20} {p50:>20} {p99:>22} {cpu:>10.2f} {generator:>8.0%} {failed:>7}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="per measured run")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--share-cpus",
        action="store_true",
        help="let servers and load generator share every CPU (default: servers on CPU 1, generator on CPU 0)",
    )
    args = parser.parse_args(argv)
    server_cpus = None if args.share_cpus or (os.cpu_count() or 1) < 2 else {1}
    starters = contenders()
    results: dict[str, list[Run]] = {name: [] for name in starters}
    for round_ in range(args.rounds):
        order = list(starters)[round_ % len(starters) :] + list(starters)[: round_ % len(starters)]
        for name in order:
            with starters[name]() as (url, pids):  # type: ignore[operator]
                results[name].append(
                    measure(url, pids, args.requests, args.concurrency, args.warmup, server_cpus)
                )
            print(
                f"round {round_ + 1}/{args.rounds}: {name}: {results[name][-1].throughput:.0f}/s", flush=True
            )
    print(
        f"\nconcurrency {args.concurrency}, {args.rounds} rounds of {args.requests} requests each; "
        f"median (min-max) over the rounds; {os.cpu_count()} CPUs\n"
    )
    header = f"{'':<20} {'payments/s':>20} {'p50 ms':>20} {'p99 ms':>22} {'CPU ms/p':>10} {'loadgen':>8}"
    print(f"{header} {'failed':>7}")
    for name, runs in results.items():
        print(summary(name, runs))
    ours = results["services"]
    if any(run.ok < 2 for run in ours):
        print("the services answered too few payments to measure", file=sys.stderr)
        return 1
    baselines = [name for name in results if name.startswith("baseline")]
    fastest = max(baselines, key=lambda name: statistics.median(run.throughput for run in results[name]))
    print()
    for name in sorted(baselines, key=lambda name: name != fastest):
        print(ratio_line(ours, name, results[name], fastest=name == fastest))
    print("\nCPU ms per request, by process (median of the rounds):")
    for name, runs in results.items():
        cpu = {process: cpu_per_request(runs, process) * 1000 for process in runs[0].cpu_seconds}
        print(f"  {name:<20} " + ", ".join(f"{process} {value:.2f}" for process, value in cpu.items()))
    print(
        "\nFargate tasks per 1,000 payments/s from each service's CPU (1 vCPU a task, scaling out at 70 %):"
    )
    total = 0.0
    for service in (spec.name for spec in CATALOGUE):
        tasks = 1000 * cpu_per_request(ours, service) / (FARGATE_VCPU_PER_TASK * SCALE_OUT_CPU)
        total += tasks
        print(f"  {service:<18} {tasks:5.2f} -> {math.ceil(tasks)} tasks")
    print(f"  {'all three':<18} {total:5.2f} vCPU at 70 %")
    return 0


def cpu_per_request(runs: list[Run], process: str) -> float:
    return statistics.median(run.cpu_seconds[process] / run.ok for run in runs)


def median(runs: list[Run], value: Callable[[Run], float]) -> float:
    return statistics.median(value(run) for run in runs)


def ratio_line(ours: list[Run], name: str, baseline: list[Run], fastest: bool) -> str:
    def throughput(run: Run) -> float:
        return run.throughput

    def p99(run: Run) -> float:
        return run.percentile(99)

    def cpu(run: Run) -> float:
        return sum(run.cpu_seconds.values()) / run.ok

    throughput_ratio = median(ours, throughput) / median(baseline, throughput)
    p99_ratio = median(ours, p99) / median(baseline, p99)
    cpu_ratio = median(baseline, cpu) / median(ours, cpu)
    met = throughput_ratio >= TARGET_THROUGHPUT_RATIO and p99_ratio <= TARGET_P99_RATIO
    return (
        f"services / {name}{' (the fastest)' if fastest else ''}: "
        f"throughput {throughput_ratio:.0%} (target >= {TARGET_THROUGHPUT_RATIO:.0%}), "
        f"p99 {p99_ratio:.2f}x (target <= {TARGET_P99_RATIO:.1f}x): {'meets' if met else 'misses'} "
        f"the target; payments per CPU-second {cpu_ratio:.0%} of the baseline's"
    )


if __name__ == "__main__":
    sys.exit(main())
