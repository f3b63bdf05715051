"""The OpenAPI document: current, valid OpenAPI 3.1, and saying what the validation does.

The amount's pattern per minor unit is checked against `payment_request` itself on arbitrary text,
and every error code the services can answer with is checked to be in the document, so the
document cannot drift from the code it describes.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.api_gateway import openapi
from apps.api_gateway.app import GATEWAY_REFUSALS
from apps.common.payments import CURRENCIES, IDEMPOTENCY_KEY_PATTERN, InvalidRequestError, payment_request
from shared.catalogue import by_name
from tests.helpers import parse_python

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok_4242424242424242"


@pytest.fixture(scope="module")
def document() -> dict:
    return openapi.document(by_name("api-gateway").health_path, GATEWAY_REFUSALS)


def accepted(amount: str, currency: str) -> bool:
    try:
        payment_request({"amount": amount, "currency": currency, "card_token": TOKEN})
    except InvalidRequestError:
        return False
    return True


def test_the_committed_document_is_the_one_the_code_makes(document):
    assert openapi.COMMITTED_COPY.read_text() == openapi.render(document), (
        "docs/openapi.json is stale: run `python3 dev.py docs`"
    )


def test_the_document_is_valid_openapi_3_1():
    # schemathesis's loader validates the document against the OpenAPI 3.1 schema.
    import schemathesis

    schema = schemathesis.openapi.from_path(str(openapi.COMMITTED_COPY))
    operations = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    assert operations == {("POST", "/payments"), ("GET", "/health"), ("GET", "/openapi.json")}


def test_every_currency_is_in_exactly_one_minor_unit_branch_with_its_own_pattern(document):
    branches = document["components"]["schemas"]["PaymentRequest"]["oneOf"]
    seen: dict[str, str] = {}
    for branch in branches:
        for code in branch["properties"]["currency"]["enum"]:
            assert code not in seen
            seen[code] = branch["properties"]["amount"]["pattern"]
    assert set(seen) == set(CURRENCIES)
    assert re.fullmatch(seen["JPY"], "500")
    assert not re.fullmatch(seen["JPY"], "500.5")
    assert re.fullmatch(seen["BHD"], "0.001")
    assert not re.fullmatch(seen["USD"], "0.001")


_AMOUNT_TEXT = st.one_of(
    st.text(alphabet="0123456789.", max_size=12),
    st.text(alphabet="0123456789.-+eE _\n\uff11", max_size=12),
    st.decimals(min_value=0, max_value=2_000_000, places=4).map(str),
    st.sampled_from(["1000000", "1000000.00", "1000000.01", "999999.999", "0.00", "0.01", "0.001"]),
)


@settings(max_examples=400, deadline=None)
@given(amount=_AMOUNT_TEXT, currency=st.sampled_from(sorted(CURRENCIES)))
def test_the_published_amount_pattern_accepts_exactly_what_the_validation_accepts(document, amount, currency):
    branches = document["components"]["schemas"]["PaymentRequest"]["oneOf"]
    [pattern] = [
        b["properties"]["amount"]["pattern"]
        for b in branches
        if currency in b["properties"]["currency"]["enum"]
    ]
    # re.search with ^...$ as a JSON Schema validator reads it, but $ before a final "\n" would match in
    # Python's re: \Z is the end a validator in ECMA-262 means.
    published = re.search(pattern.removesuffix("$") + r"\Z", amount) is not None
    assert published == accepted(amount, currency), (amount, currency, pattern)


def test_the_key_and_token_rules_are_the_validations(document):
    operation = document["paths"]["/payments"]["post"]
    [key] = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
    assert key["required"] is True
    assert key["schema"]["pattern"] == f"^{IDEMPOTENCY_KEY_PATTERN}$"
    assert "A-Z a-z 0-9 _ . : -" in key["description"]
    token = document["components"]["schemas"]["PaymentRequest"]["properties"]["card_token"]
    assert re.fullmatch(token["pattern"].strip("^$"), TOKEN)


def _error_codes_in_the_source() -> set[tuple[int, str]]:
    """Every (status, code) the services' code passes to `error(...)` or `Refusal(...)` literally."""
    found = set()
    for path in (ROOT / "apps").rglob("*.py"):
        for node in ast.walk(parse_python(path)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in {"error", "Refusal"}:
                status, code = ([*node.args, None, None])[:2]
                if isinstance(status, ast.Constant) and isinstance(code, ast.Constant):
                    found.add((status.value, code.value))
    return found


def test_every_error_code_the_services_answer_with_is_in_the_document(document):
    responses = document["paths"]["/payments"]["post"]["responses"]
    declared = {
        (int(status), code)
        for status, response in responses.items()
        if int(status) >= 400
        for code in response["content"]["application/json"]["schema"]["allOf"][1]["properties"]["error"][
            "enum"
        ]
    }
    # 404/405 are answered for other paths and methods; the rest for POST /payments itself.
    in_source = _error_codes_in_the_source()
    assert in_source, "the scan found no error(...) call: it is broken"
    assert in_source <= declared, sorted(in_source - declared)
    assert {
        (503, "downstream_unavailable"),
        (504, "downstream_timeout"),
        (501, "not_implemented"),
    } <= declared


def test_a_decline_is_a_payment_not_an_error(document):
    payment = document["components"]["schemas"]["Payment"]
    assert payment["properties"]["status"]["enum"] == ["approved", "declined"]
    assert "201" in document["paths"]["/payments"]["post"]["responses"]
