"""The service catalogue: complete, consistent, and strict about what it refers to."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared import catalogue
from shared.catalogue import CATALOGUE, INTERNAL, PUBLIC, by_name, validate
from shared.contracts import SecretPurposes
from shared.errors import ConfigError


def test_the_catalogue_has_the_three_required_services():
    assert [s.name for s in validate()] == ["api-gateway", "payment-processor", "fraud-detector"]


def test_only_the_gateway_is_public_and_the_others_sit_behind_the_internal_alb():
    assert {s.name: s.load_balancer for s in CATALOGUE} == {
        "api-gateway": PUBLIC,
        "payment-processor": INTERNAL,
        "fraud-detector": INTERNAL,
    }


def test_calls_form_the_chain_gateway_to_processor_to_detector():
    assert by_name("api-gateway").downstream == ("payment-processor",)
    assert by_name("payment-processor").downstream == ("fraud-detector",)
    assert by_name("fraud-detector").downstream == ()
    assert by_name("api-gateway").downstream_url_env("payment-processor") == "PAYMENT_PROCESSOR_URL"


def test_each_platform_secret_is_read_by_exactly_one_service():
    purposes = [p for s in CATALOGUE for p in s.secrets.values()]
    assert sorted(purposes) == sorted(SecretPurposes.ALL)
    assert by_name("api-gateway").secrets == {}


def test_target_group_names_fit_aws_limits_with_the_longest_suffix():
    # tg-<code>-green-<8-char suffix> plus Pulumi's 8-character autoname must stay within 32.
    for spec in CATALOGUE:
        assert len(f"tg-{spec.code}-green-") + 8 + 8 <= 32, spec.code


def test_an_unknown_service_name_lists_the_known_ones():
    with pytest.raises(ConfigError, match='service: is not in the service catalogue, got "ledger"') as caught:
        by_name("ledger")
    assert "api-gateway, fraud-detector, payment-processor" in str(caught.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"downstream": ("ledger",)}, "is not in the service catalogue"),
        ({"load_balancer": "edge"}, "must be public or internal"),
        ({"container_port": 0}, "must be 1-65535"),
        ({"health_path": "health"}, "must start with /"),
        ({"secrets": {"X": "sshKey"}}, "is not a platform secret purpose"),
        ({"production_port": 8082}, "must be unique in the service catalogue"),
        ({"code": "fraud"}, "must be unique in the service catalogue"),
    ],
)
def test_an_inconsistent_catalogue_is_refused(change, message):
    broken = (catalogue.API_GATEWAY, replace(catalogue.PAYMENT_PROCESSOR, **change), catalogue.FRAUD_DETECTOR)
    with pytest.raises(ConfigError, match=message):
        validate(broken)
