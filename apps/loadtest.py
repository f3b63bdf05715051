"""Load benchmark: POST /payments through all three services on loopback; throughput and latency.

`payments-loadtest` (or `python3 dev.py loadtest`) starts the local stack, warms it up, then keeps
`--concurrency` requests in flight for `--requests` payments. Each has its own idempotency key, so
every one goes through api-gateway, payment-processor and fraud-detector. It prints requests per
second and p50/p90/p99 latency. It is a benchmark, not a test: nothing fails on a slow machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid

import aiohttp

from apps.local import LocalStack, free_port, running
from shared.catalogue import CATALOGUE

PAYMENT = {"amount": "42.00", "currency": "EUR", "card_token": "tok_4242424242424242"}


async def drive(url: str, requests: int, concurrency: int) -> tuple[list[float], int, float]:
    """Latencies in ms of the successful requests, the failure count, and the wall-clock seconds."""
    latencies: list[float] = []
    failures = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(requests):
        queue.put_nowait(n)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as client:

        async def worker() -> None:
            nonlocal failures
            while not queue.empty():
                queue.get_nowait()
                started = time.perf_counter()
                async with client.post(
                    url, json=PAYMENT, headers={"Idempotency-Key": uuid.uuid4().hex}
                ) as answer:
                    await answer.read()
                if answer.status == 201:
                    latencies.append((time.perf_counter() - started) * 1000)
                else:
                    failures += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, failures, time.perf_counter() - began


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args(argv)
    with running(LocalStack({spec.name: free_port() for spec in CATALOGUE})) as stack:
        url = f"{stack.url('api-gateway')}/payments"
        asyncio.run(drive(url, args.warmup, args.concurrency))
        latencies, failures, seconds = asyncio.run(drive(url, args.requests, args.concurrency))
    if len(latencies) < 2:
        print(f"only {len(latencies)} payments succeeded; {failures} failed", file=sys.stderr)
        return 1
    print(f"payments: {len(latencies)} ok, {failures} failed, concurrency {args.concurrency}")
    print(f"throughput: {len(latencies) / seconds:.0f} payments/s over {seconds:.1f} s")
    print(
        f"latency ms: p50 {percentile(latencies, 50):.1f}  p90 {percentile(latencies, 90):.1f}  "
        f"p99 {percentile(latencies, 99):.1f}  max {max(latencies):.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
