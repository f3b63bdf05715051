"""POST /score: the risk score of a payment. No downstream calls."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from apps.common.payments import InvalidRequestError, parse_body, payment_request
from apps.common.runtime_config import RuntimeConfig
from apps.common.runtime_secrets import RuntimeSecrets
from apps.common.web import Request, Response, Service, error
from apps.fraud_detector.scoring_rules import score

SCORING_KEY = "FRAUD_SCORING_API_KEY"


class CardRefs:
    """The card reference in the logs: HMAC-SHA256 of the card token under the scoring key, 16 hex digits.

    The keyed HMAC is set up once per key value and copied per request: OpenSSL's HMAC set-up (a
    `hmac.new` or `hmac.digest` per request) cost several times the hashing of a 20-character token
    in the services' profiles (docs/benchmarks.md). A rotated key is a new value: set up again.
    """

    def __init__(self) -> None:
        self._key = ""
        self._keyed = hmac.new(b"", digestmod=hashlib.sha256)

    def ref(self, key: str, card_token: str) -> str:
        if key != self._key:
            self._key, self._keyed = key, hmac.new(key.encode(), digestmod=hashlib.sha256)
        mac = self._keyed.copy()
        mac.update(card_token.encode())
        return mac.hexdigest()[:16]


def build(config: RuntimeConfig, secrets: RuntimeSecrets | None = None) -> Service:
    # The scoring key keys a fingerprint of the token, so logs can correlate cards without holding them.
    # It is read at run time (cached), so a rotated key is used without a restart.
    secrets = secrets or RuntimeSecrets(config.secret_arns, config.secret_cache_ttl_seconds)
    card_refs = CardRefs()

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        await secrets.get(SCORING_KEY)  # a task that cannot read its secret must not serve
        yield

    async def score_payment(request: Request) -> Response:
        try:
            payment = payment_request(parse_body(request.body))
        except InvalidRequestError as bad:
            return error(bad.status, "invalid_request", str(bad), fields=bad.fields)
        result = score(payment)
        card_ref = card_refs.ref(await secrets.get(SCORING_KEY), payment.card_token)
        reasons = list(result.reasons)
        return Response(
            200,
            {"score": result.value, "reasons": reasons},
            log={"score": result.value, "reasons": reasons, "card_ref": card_ref},
        )

    return Service(
        config.spec.name,
        {("POST", "/score"): score_payment},
        limits=config.limits,
        health_path=config.spec.health_path,
        lifespan=lifespan,
    )
