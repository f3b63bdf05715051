"""SIGTERM, as ECS sends it to a stopping task: in-flight requests finish, then the process ends.

After its graceful shutdown uvicorn raises the signal it caught again, so the process ends "killed by
SIGTERM" (exit status 143 in a shell, what ECS reports for a task stopped by its SIGTERM).
"""

from __future__ import annotations

import signal
import threading
import time
import uuid

from localrun.local import LocalStack, running
from tests.apps.conftest import SlowScorer, ThreadingHTTPServer, ports, post

PAYMENT = {"amount": "12.50", "currency": "USD", "card_token": "tok_4242424242424242"}


class OneSecondScorer(SlowScorer):
    delay = 1.0


def test_sigterm_lets_an_in_flight_payment_finish_then_ends(backing):
    scorer = ThreadingHTTPServer(("127.0.0.1", 0), OneSecondScorer)
    scorer.daemon_threads = True
    threading.Thread(target=scorer.serve_forever, daemon=True).start()
    stack = LocalStack(
        {**ports(), "fraud-detector": int(scorer.server_address[1])},
        backing,
        skip=frozenset({"fraud-detector", "api-gateway"}),
        extra_env={"payment-processor": {"DOWNSTREAM_TIMEOUT_SECONDS": "3"}},
    )
    answers = []
    try:
        with running(stack):
            url = f"{stack.url('payment-processor')}/payments"
            client = threading.Thread(
                target=lambda: answers.append(post(url, PAYMENT, {"Idempotency-Key": uuid.uuid4().hex}))
            )
            client.start()
            time.sleep(0.4)  # the payment now waits for its score
            processor = stack.processes["payment-processor"]
            stopped_at = time.monotonic()
            processor.send_signal(signal.SIGTERM)
            client.join(timeout=10)
            assert processor.wait(timeout=10) == -signal.SIGTERM
            drained_in = time.monotonic() - stopped_at
    finally:
        scorer.shutdown()
    [answer] = answers
    assert answer.status == 201  # finished, not cut off
    assert answer.body["status"] == "approved"
    assert drained_in < 3  # it waited for the payment, not for its whole 20 s allowance
