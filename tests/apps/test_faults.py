"""Faults under load: a downstream killed (SIGKILL) or paused (SIGSTOP) while clients keep paying.

A short, bounded load run (about 2 s) of clients that retry each payment with the same idempotency
key until it succeeds. While the fault lasts, api-gateway answers 503 (callee gone) or 504 (callee
silent), always with Retry-After. Every key ends with exactly one payment, however many attempts it
took, and payments succeed again once the downstream is back. Timeouts are shortened through the
services' env so the run stays short; the counts are printed (`pytest -s`) and in docs/services.md.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import aiohttp
import pytest

from localrun.local import LocalStack, running
from tests.apps.conftest import ports, post

PAYMENT = {"amount": "12.50", "currency": "USD", "card_token": "tok_4242424242424242"}
CLIENTS = 8
RUN_SECONDS = 2.5
RECOVERED_SECONDS = 0.3  # the least the run goes on after the downstream is back
CLIENT_RETRY_SECONDS = 0.05  # shorter than Retry-After (1 s), to keep the run short
GIVE_UP_SECONDS = 10.0  # a key still failing this long after the run ends is a failure


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    payment_ids: dict[str, set[str]] = field(default_factory=dict)  # key -> ids of its successes
    replayed_after_failure: int = 0  # keys whose success came as a replay after a 503/504
    missing_retry_after: int = 0
    succeeded_after_fault: int = 0
    recovered_at: float = float("inf")  # monotonic time the downstream was back
    stop_at: float = 0.0  # when clients start no new payment


@pytest.fixture(scope="module")
def stack(backing) -> Iterator[LocalStack]:
    fast = {"DOWNSTREAM_RETRIES": "1"}
    started = LocalStack(
        ports(),
        backing,
        extra_env={
            "api-gateway": {**fast, "DOWNSTREAM_TIMEOUT_SECONDS": "0.6"},
            "payment-processor": {**fast, "DOWNSTREAM_TIMEOUT_SECONDS": "0.15"},
        },
    )
    with running(started):
        yield started


async def pay_until_done(session: aiohttp.ClientSession, url: str, tally: Tally) -> None:
    """One client: payment after payment until the run ends, each retried with its key until it succeeds."""
    while time.monotonic() < tally.stop_at:
        key = uuid.uuid4().hex
        failed_before = False
        give_up = tally.stop_at + GIVE_UP_SECONDS
        while True:
            async with session.post(url, json=PAYMENT, headers={"Idempotency-Key": key}) as answer:
                body = await answer.json()
                tally.statuses[answer.status] += 1
                if answer.status in (200, 201):
                    tally.payment_ids.setdefault(key, set()).add(body["payment_id"])
                    if failed_before and answer.headers.get("Idempotent-Replayed") == "true":
                        tally.replayed_after_failure += 1
                    if time.monotonic() > tally.recovered_at:
                        tally.succeeded_after_fault += 1
                    break
                assert answer.status in (503, 504), (answer.status, body)
                if "Retry-After" not in answer.headers:
                    tally.missing_retry_after += 1
                failed_before = True
            assert time.monotonic() < give_up, f"{key} still fails {GIVE_UP_SECONDS:g}s after the run"
            await asyncio.sleep(CLIENT_RETRY_SECONDS)


async def load_with_fault(
    url: str, fault: Callable[[], None], recover: Callable[[], None], window: tuple[float, float]
) -> Tally:
    """Clients pay for RUN_SECONDS; `fault` and `recover` run at `window`'s seconds into the run."""
    tally = Tally()
    began = time.monotonic()
    tally.stop_at = began + RUN_SECONDS
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        clients = [asyncio.create_task(pay_until_done(session, url, tally)) for _ in range(CLIENTS)]
        await asyncio.sleep(window[0])
        fault()
        await asyncio.sleep(window[1] - window[0])
        await asyncio.to_thread(recover)
        tally.recovered_at = time.monotonic()
        # However long the recovery took, payments go on a little after it.
        tally.stop_at = max(tally.stop_at, tally.recovered_at + RECOVERED_SECONDS)
        await asyncio.gather(*clients)
    print(
        f"\nstatuses {dict(tally.statuses)}, keys {len(tally.payment_ids)}, "
        f"replayed after a failure {tally.replayed_after_failure}, "
        f"succeeded after recovery {tally.succeeded_after_fault}"
    )
    return tally


def assert_exactly_one_payment_per_key(tally: Tally) -> None:
    assert tally.payment_ids
    assert all(len(ids) == 1 for ids in tally.payment_ids.values())
    every_id = [next(iter(ids)) for ids in tally.payment_ids.values()]
    assert len(set(every_id)) == len(every_id)  # and no two keys share one
    assert tally.missing_retry_after == 0


def assert_recovered(stack: LocalStack) -> None:
    answer = post(f"{stack.url('api-gateway')}/payments", PAYMENT, {"Idempotency-Key": uuid.uuid4().hex})
    assert answer.status == 201, answer


def test_fraud_detector_killed_mid_run_gives_503s_then_recovers(stack):
    fraud = stack.processes["fraud-detector"]
    tally = asyncio.run(
        load_with_fault(
            f"{stack.url('api-gateway')}/payments",
            fault=fraud.kill,  # SIGKILL: no drain, connections reset
            recover=lambda: (fraud.wait(), stack.restart("fraud-detector")),
            window=(0.4, 1.2),
        )
    )
    assert tally.statuses[503] > 0
    assert set(tally.statuses) <= {201, 200, 503, 504}
    assert_exactly_one_payment_per_key(tally)
    assert_recovered(stack)


def test_payment_processor_paused_mid_run_gives_504s_and_retries_replay_the_one_payment(stack):
    processor = stack.processes["payment-processor"]
    tally = asyncio.run(
        load_with_fault(
            f"{stack.url('api-gateway')}/payments",
            fault=lambda: processor.send_signal(signal.SIGSTOP),
            recover=lambda: processor.send_signal(signal.SIGCONT),
            # Longer than api-gateway's two attempts of 0.6 s, so its own retry cannot hide the pause.
            window=(0.3, 1.9),
        )
    )
    assert tally.statuses[504] > 0
    assert set(tally.statuses) <= {201, 200, 503, 504}
    # Payments the processor made while the gateway had given up reach their clients as replays.
    assert tally.replayed_after_failure > 0
    assert_exactly_one_payment_per_key(tally)
    assert_recovered(stack)
