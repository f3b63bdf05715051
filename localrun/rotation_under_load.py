"""Rotation under load: the database secret rotates while payments flow, and no payment fails.

`python3 dev.py rotation_under_load` starts the local platform
(`localrun.local_platform`: PostgreSQL with TLS, the emulated Secrets Manager, the database roles made by
the rotation function's bootstrap) and the three services, then sends payments through api-gateway
from `--concurrency` clients on loopback: mostly new idempotency keys, and a share of retries of
keys already answered (each must come back as the stored result). Meanwhile the connection secret is
rotated `--rotations` times by the real rotation function's four steps (`localrun.local_platform.rotate`),
which alternate between `payments_app` and `payments_app_clone`: the second rotation changes the
password of the user the services started with.

The services run with a short secret-cache TTL and a short pool connection lifetime, so their pools
keep opening connections and every rotation reaches them within a few seconds; after each rotation
the run waits (bounded) until payment-processor holds a connection as the new AWSCURRENT user that
it opened after the rotation, so with the new password.
At the end it checks, against the ledger itself: every request answered, no failed payment (any
answer other than 201 for a new key, or 200 `Idempotent-Replayed: true` with the stored body for a
retry), one payment row per idempotency key and exactly one per key answered. It prints requests,
rotations, failures, duplicates, p50/p99 latency and duration; exit 1 if any check fails.
Every loop is bounded in requests and seconds; only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from localrun.local import LocalStack, free_port, running
from localrun.local_platform import DATABASE_USERNAME, LocalPlatform, running_platform
from localrun.local_postgres import PostgresNotInstalledError
from shared.catalogue import CATALOGUE

# Short enough that rotations reach the pool within seconds; the defaults are 300 s and an hour.
SECRET_CACHE_TTL_SECONDS = 1
POOL_MAX_LIFETIME_SECONDS = 1.0
SWITCH_TIMEOUT_SECONDS = 20.0  # how long a rotation may take to reach payment-processor's connections
REQUEST_TIMEOUT_SECONDS = 15.0
CURRENCIES = ("EUR", "USD", "GBP")


@dataclass
class Load:
    """What the load generator saw: answers, latencies, and the first answer per idempotency key."""

    new_keys: int = 0
    retries: int = 0
    failed: list[str] = field(default_factory=list)  # one line per failed request
    unanswered: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    answered: dict[str, tuple[bytes, dict[str, Any]]] = field(default_factory=dict)  # key -> body, result

    @property
    def requests(self) -> int:
        return self.new_keys + self.retries


@dataclass(frozen=True)
class Figures:
    """One run's figures; `ok` when every check held (see the module docstring)."""

    requests: int
    new_keys: int
    retries: int
    failed: int
    unanswered: int
    rotations: int
    users: tuple[str, ...]  # AWSCURRENT's user after each rotation
    connected_before: tuple[tuple[str, ...], ...]  # payment-processor's users as each rotation began
    payment_rows: int
    duplicate_rows: int
    keys_answered: int
    p50_ms: float
    p99_ms: float
    seconds: float
    failures: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return (
            self.failed == 0
            and self.unanswered == 0
            and self.duplicate_rows == 0
            and self.payment_rows == self.keys_answered
            and self.keys_answered > 0
            and self.retries > 0
            and self.rotations >= 2
        )

    def report(self) -> str:
        return "\n".join(
            [
                f"requests          {self.requests} ({self.new_keys} new keys, {self.retries} retries)",
                f"rotations         {self.rotations} (AWSCURRENT user after each: {', '.join(self.users)})",
                *(
                    f"  rotation {n}: began with connections as {', '.join(users) or 'nobody'}; "
                    f"then {self.users[n - 1]} logged in with its new password"
                    for n, users in enumerate(self.connected_before, 1)
                ),
                f"failed payments   {self.failed}",
                f"unanswered        {self.unanswered}",
                f"payment rows      {self.payment_rows} for {self.keys_answered} keys answered",
                f"duplicate rows    {self.duplicate_rows}",
                f"latency           p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms",
                f"duration          {self.seconds:.1f} s",
                *(f"failure: {line}" for line in self.failures[:10]),
            ]
        )


def payment_body(rng: random.Random) -> bytes:
    amount = f"{rng.randint(1, 99_999) / 100:.2f}"
    return orjson.dumps(
        {"amount": amount, "currency": rng.choice(CURRENCIES), "card_token": "tok_4242424242424242"}
    )


async def generate(
    url: str, load: Load, stop: asyncio.Event, *, concurrency: int, max_requests: int, retry_share: float
) -> None:
    """`concurrency` clients until `stop` is set or `max_requests` were sent."""
    rng = random.Random(20)  # payment shapes, not secrets: a fixed seed
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()) as client:

        async def client_loop() -> None:
            while not stop.is_set() and load.requests < max_requests:
                retry = bool(load.answered) and rng.random() < retry_share
                if retry:
                    key = rng.choice(list(load.answered))
                    body, stored = load.answered[key]
                    load.retries += 1
                else:
                    key, body, stored = uuid.uuid4().hex, payment_body(rng), {}
                    load.new_keys += 1
                headers = {"Content-Type": "application/json", "Idempotency-Key": key}
                started = time.perf_counter()
                try:
                    async with client.post(url, data=body, headers=headers) as answer:
                        payload = await answer.read()
                        replayed = answer.headers.get("Idempotent-Replayed")
                        status = answer.status
                except (aiohttp.ClientError, TimeoutError) as lost:
                    load.unanswered += 1
                    load.failed.append(f"{key}: no answer ({type(lost).__name__})")
                    continue
                load.latencies_ms.append((time.perf_counter() - started) * 1000)
                problem = _problem(status, payload, replayed, stored if retry else None)
                if problem:
                    load.failed.append(f"{key}: {problem}")
                elif not retry:
                    load.answered[key] = (body, orjson.loads(payload))

        await asyncio.gather(*(client_loop() for _ in range(concurrency)))


def _problem(status: int, payload: bytes, replayed: str | None, stored: dict[str, Any] | None) -> str | None:
    """Why an answer is a failed payment, or None. A retry must return exactly the stored result."""
    if stored is None:
        return None if status == 201 else f"new key answered {status}: {payload[:200]!r}"
    if status != 200 or replayed != "true":
        return f"retry answered {status} (replayed {replayed}): {payload[:200]!r}"
    if orjson.loads(payload) != stored:
        return "retry answered another result than the stored one"
    return None


def connected_users(platform: LocalPlatform) -> set[str]:
    """The users payment-processor is connected as right now (pg_stat_activity, as the superuser)."""
    import psycopg

    with psycopg.connect(platform.admin_conninfo(), autocommit=True) as admin:
        rows = admin.execute(
            "SELECT DISTINCT usename FROM pg_stat_activity WHERE application_name = 'payment-processor'"
        ).fetchall()
    return {str(row[0]) for row in rows}


def database_now(platform: LocalPlatform) -> datetime.datetime:
    import psycopg

    with psycopg.connect(platform.admin_conninfo(), autocommit=True) as admin:
        row = admin.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    now = row[0]
    assert isinstance(now, datetime.datetime)
    return now


def wait_for_login_as(platform: LocalPlatform, user: str, since: datetime.datetime) -> None:
    """Until payment-processor holds a connection as `user` that it opened after `since`.

    Opened after the rotation, such a connection logged in with the secret's new value: the
    password rotation just set is the only one that user has.
    """
    import psycopg

    deadline = time.monotonic() + SWITCH_TIMEOUT_SECONDS
    with psycopg.connect(platform.admin_conninfo(), autocommit=True) as admin:
        while not admin.execute(
            "SELECT 1 FROM pg_stat_activity WHERE application_name = 'payment-processor' "
            "AND usename = %s AND backend_start > %s",
            (user, since),
        ).fetchone():
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"payment-processor logged in as {user} with the rotated secret "
                    f"not within {SWITCH_TIMEOUT_SECONDS:.0f}s"
                )
            time.sleep(0.1)


def rotate_while_loaded(
    platform: LocalPlatform, load: Load, rotations: int
) -> tuple[list[str], list[tuple[str, ...]]]:
    """Each rotation once payments flow; AWSCURRENT's user after each, and who was connected before."""
    users, before = [], []
    for _ in range(rotations):
        settled = load.requests + 20
        deadline = time.monotonic() + SWITCH_TIMEOUT_SECONDS
        while load.requests < settled and time.monotonic() < deadline:
            time.sleep(0.05)
        before.append(tuple(sorted(connected_users(platform))))
        platform.rotate()
        rotated = database_now(platform)
        user = str(platform.connection()["username"])
        wait_for_login_as(platform, user, rotated)
        users.append(user)
    return users, before


def ledger_counts(platform: LocalPlatform) -> tuple[int, int]:
    """Payment rows, and rows beyond one per idempotency key (the ledger's own view)."""
    import psycopg

    with psycopg.connect(platform.admin_conninfo(), autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*), count(*) - count(DISTINCT idempotency_key) FROM ledger.payments"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def measure_async(
    platform: LocalPlatform,
    url: str,
    *,
    rotations: int,
    concurrency: int,
    max_requests: int,
    retry_share: float,
    tail_seconds: float,
) -> Figures:
    rows_before, _ = ledger_counts(platform)
    load, stop = Load(), asyncio.Event()
    began = time.perf_counter()
    generator = asyncio.create_task(
        generate(url, load, stop, concurrency=concurrency, max_requests=max_requests, retry_share=retry_share)
    )
    try:
        users, before = await asyncio.to_thread(rotate_while_loaded, platform, load, rotations)
        await asyncio.sleep(tail_seconds)  # payments on the last rotation's credentials, too
    finally:
        stop.set()
        await generator
    seconds = time.perf_counter() - began
    rows, duplicates = ledger_counts(platform)
    latencies = load.latencies_ms or [0.0]
    quantiles = (
        statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    )
    return Figures(
        requests=load.requests,
        new_keys=load.new_keys,
        retries=load.retries,
        failed=len(load.failed),
        unanswered=load.unanswered,
        rotations=len(users),
        users=tuple(users),
        connected_before=tuple(before),
        payment_rows=rows - rows_before,
        duplicate_rows=duplicates,
        keys_answered=len(load.answered),
        p50_ms=quantiles[49],
        p99_ms=quantiles[98],
        seconds=seconds,
        failures=tuple(load.failed),
    )


def measure(platform: LocalPlatform, url: str, **options: Any) -> Figures:
    return asyncio.run(measure_async(platform, url, **options))


def loaded_stack_env() -> dict[str, dict[str, str]]:
    """What the services get on top of the task definition's env for this run."""
    short = {
        "SECRET_CACHE_TTL_SECONDS": str(SECRET_CACHE_TTL_SECONDS),
        "DATABASE_POOL_MAX_LIFETIME_SECONDS": str(POOL_MAX_LIFETIME_SECONDS),
    }
    return {spec.name: dict(short) for spec in CATALOGUE}


@contextmanager
def services(platform: LocalPlatform) -> Iterator[LocalStack]:
    ports = {spec.name: free_port() for spec in CATALOGUE}
    with running(LocalStack(ports, platform, extra_env=loaded_stack_env())) as stack:
        yield stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rotations", type=int, default=2, help="at least 2: both alternating users")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-requests", type=int, default=20_000, help="an upper bound, not a target")
    parser.add_argument("--retry-share", type=float, default=0.25, help="share of requests that are retries")
    parser.add_argument("--tail-seconds", type=float, default=2.0, help="load after the last rotation")
    args = parser.parse_args(argv)
    if args.rotations < 2 or not 0 <= args.retry_share < 1 or args.concurrency < 1:
        parser.error("--rotations must be at least 2, --retry-share in [0, 1), --concurrency at least 1")
    try:
        with running_platform() as platform, services(platform) as stack:
            figures = measure(
                platform,
                f"{stack.url('api-gateway')}/payments",
                rotations=args.rotations,
                concurrency=args.concurrency,
                max_requests=args.max_requests,
                retry_share=args.retry_share,
                tail_seconds=args.tail_seconds,
            )
    except PostgresNotInstalledError as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 2
    except (RuntimeError, TimeoutError) as failed:  # a rotation that failed, a service that died
        print(f"error: {type(failed).__name__}: {failed}", file=sys.stderr)
        return 1
    print(figures.report())
    print(f"\nstarted as {DATABASE_USERNAME}; {'PASS' if figures.ok else 'FAIL'}")
    return 0 if figures.ok else 1


if __name__ == "__main__":
    sys.exit(main())
