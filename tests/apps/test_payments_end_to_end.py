"""The three services as real processes on loopback: the payment flow and its failure modes."""

from __future__ import annotations

import time
import urllib.request
import uuid

from localrun.local import LocalStack, running
from tests.apps.conftest import Answer, ports, post

CARD = "tok_4242424242424242"


def pay(stack: LocalStack, body: dict[str, object] | None = None, key: str | None = None) -> Answer:
    payment = body or {"amount": "12.50", "currency": "USD", "card_token": CARD}
    return post(f"{stack.url('api-gateway')}/payments", payment, {"Idempotency-Key": key or uuid.uuid4().hex})


def test_an_ordinary_payment_is_approved(stack):
    answer = pay(stack)
    assert answer.status == 201
    assert answer.body["status"] == "approved"
    assert (answer.body["amount"], answer.body["currency"]) == ("12.50", "USD")
    assert answer.body["risk_score"] == 0
    uuid.UUID(answer.body["payment_id"])


def test_a_risky_payment_is_declined(stack):
    answer = pay(stack, {"amount": "10000.00", "currency": "USD", "card_token": CARD})
    assert answer.status == 201
    assert answer.body["status"] == "declined"
    assert answer.body["risk_score"] >= 70
    assert "very_high_amount" in answer.body["risk_reasons"]
    blocked = pay(stack, {"amount": "1.00", "currency": "EUR", "card_token": "tok_blocked0000000000"})
    assert blocked.body["status"] == "declined"


def test_a_retry_with_the_same_key_returns_the_same_result(stack):
    key = f"order-{uuid.uuid4().hex}"
    first = pay(stack, key=key)
    again = pay(stack, key=key)
    assert (first.status, again.status) == (201, 200)
    assert again.body == first.body
    assert again.headers["idempotent-replayed"] == "true"
    other = pay(stack, {"amount": "99.00", "currency": "USD", "card_token": CARD}, key=key)
    assert other.status == 422
    assert other.body["error"] == "idempotency_key_reused"


def test_the_request_id_is_echoed_and_propagated(stack):
    answer = post(
        f"{stack.url('api-gateway')}/payments",
        {"amount": "5.00", "currency": "GBP", "card_token": CARD},
        {"Idempotency-Key": uuid.uuid4().hex, "X-Request-Id": "trace-0001"},
    )
    assert answer.status == 201
    assert answer.headers["x-request-id"] == "trace-0001"


def test_health_is_cheap_and_answers_on_every_service(stack):
    for service in ("api-gateway", "payment-processor", "fraud-detector"):
        with urllib.request.urlopen(f"{stack.url(service)}/health", timeout=5) as answer:
            assert answer.status == 200


def test_fraud_detector_down_gives_503_and_no_crash_and_a_retry_succeeds_once_it_is_back(backing):
    stack = LocalStack(
        ports(), backing, extra_env={"payment-processor": {"DOWNSTREAM_TIMEOUT_SECONDS": "0.5"}}
    )
    with running(stack):
        stack.stop("fraud-detector")
        key = uuid.uuid4().hex
        started = time.monotonic()
        down = pay(stack, key=key)
        assert down.status == 503
        assert (down.body["error"], down.body["downstream"]) == ("downstream_unavailable", "fraud-detector")
        assert time.monotonic() - started < 5  # bounded retries, not a hang
        stack.wait_healthy("payment-processor")  # still up
        stack.wait_healthy("api-gateway")
        # The failure was not remembered under the key: once the detector is back, the retry works.
        restarted = LocalStack(stack.ports, backing, skip=frozenset({"api-gateway", "payment-processor"}))
        restarted.start()
        try:
            assert pay(stack, key=key).status == 201
        finally:
            restarted.stop()


def test_a_slow_fraud_detector_times_out_with_504(slow_fraud_detector, backing):
    assigned = ports()
    assigned["fraud-detector"] = slow_fraud_detector
    stack = LocalStack(
        assigned,
        backing,
        skip=frozenset({"fraud-detector"}),
        extra_env={"payment-processor": {"DOWNSTREAM_TIMEOUT_SECONDS": "0.3", "DOWNSTREAM_RETRIES": "1"}},
    )
    with running(stack):
        started = time.monotonic()
        answer = pay(stack)
        elapsed = time.monotonic() - started
        assert answer.status == 504
        assert (answer.body["error"], answer.body["downstream"]) == ("downstream_timeout", "fraud-detector")
        assert elapsed < 2.5  # two attempts of 0.3 s plus backoff, far below the scorer's 3 s
