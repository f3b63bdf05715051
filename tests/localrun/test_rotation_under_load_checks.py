"""The rotation-under-load checks catch what they are there for (no servers needed)."""

from __future__ import annotations

import dataclasses

import orjson
import pytest

from localrun.rotation_under_load import Figures, _problem

STORED = {"payment_id": "p-1", "status": "approved", "amount": "1.00"}
PASSING = Figures(
    requests=10, new_keys=8, retries=2, failed=0, unanswered=0, rotations=2,
    users=("payments_app_clone", "payments_app"),
    connected_before=(("payments_app",), ("payments_app_clone",)),
    payment_rows=8, duplicate_rows=0, keys_answered=8, p50_ms=1.0, p99_ms=2.0, seconds=1.0, failures=(),
)  # fmt: skip


@pytest.mark.parametrize(
    ("status", "payload", "replayed", "stored", "problem"),
    [
        (503, b'{"error": "downstream_unavailable"}', None, None, "new key answered 503"),
        (200, orjson.dumps(STORED), "true", None, "new key answered 200"),
        (201, orjson.dumps(STORED), None, STORED, "retry answered 201"),
        (200, orjson.dumps(STORED), None, STORED, "retry answered 200 (replayed None)"),
        (200, orjson.dumps({**STORED, "payment_id": "p-2"}), "true", STORED, "another result"),
    ],
)
def test_an_answer_that_is_not_the_payment_or_its_replay_is_a_failed_payment(
    status, payload, replayed, stored, problem
):
    assert problem in (_problem(status, payload, replayed, stored) or "")


def test_a_new_payment_and_an_exact_replay_are_not_failures():
    assert _problem(201, orjson.dumps(STORED), None, None) is None
    assert _problem(200, orjson.dumps(STORED), "true", STORED) is None


@pytest.mark.parametrize(
    "change",
    [
        {"failed": 1},
        {"unanswered": 1},
        {"duplicate_rows": 1},
        {"payment_rows": 9},  # a row for a key nobody was answered for
        {"rotations": 1},
        {"keys_answered": 0, "payment_rows": 0},
        {"retries": 0},
    ],
)
def test_the_run_fails_on_any_broken_check(change):
    assert PASSING.ok
    assert not dataclasses.replace(PASSING, **change).ok
