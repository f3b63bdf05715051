"""schemathesis hooks for the contract test (tests/apps/test_api_contract.py), loaded by file path.

One fresh Idempotency-Key per payment, as a client uses them: the tester draws keys from the
pattern, and its small draws repeat ("00000000"), so a schema-valid payment would often reuse the
key of an earlier payment with other content and get 422 `idempotency_key_reused`, which is the
documented answer to that, not a refusal of valid data. A valid key gets a unique tail (it stays
valid: same alphabet, 8-255 characters); an invalid one is sent as drawn, so the refusals of bad
keys are still tested.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import schemathesis

from apps.common.payments import IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY_PATTERN

_VALID_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    headers = case.headers or {}  # an edit in place is what schemathesis sends (and revalidates)
    for name, value in list(headers.items()):
        valid = isinstance(value, str) and _VALID_KEY.fullmatch(value)
        if name.lower() == IDEMPOTENCY_HEADER.lower() and valid:
            headers[name] = f"{value}-{uuid.uuid4().hex}"[-255:]
