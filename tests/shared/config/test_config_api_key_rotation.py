"""Platform config for how each API key rotates: notify by default, http-key-api with an https URL."""

from __future__ import annotations

import pytest

from functions.secret_rotation import api_keys
from shared.config import ConfigReader, PlatformConfig
from shared.config.keys import KEY_ROTATIONS
from shared.contracts import SecretPurposes
from shared.errors import ConfigError

URL = "https://keys.provider.example/v2"


def load(**values) -> PlatformConfig:
    raw = {"environmentSuffix": "dev", "networkStack": "org/payments-network/dev", **values}
    return PlatformConfig.load(ConfigReader.from_mapping(raw))


def error_of(**values) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(**values)
    return caught.value


def test_every_api_key_is_notify_by_default_and_calls_no_url():
    rotations = load().api_key_rotations
    assert set(rotations) == {SecretPurposes.PAYMENT_PROVIDER_API_KEY, SecretPurposes.FRAUD_SCORING_API_KEY}
    assert {(r.strategy, r.key_api_url) for r in rotations.values()} == {("notify", None)}


def test_http_key_api_takes_its_https_url():
    rotations = load(fraudScoringApiKeyRotation="http-key-api", fraudScoringKeyApiUrl=URL).api_key_rotations
    fraud = rotations[SecretPurposes.FRAUD_SCORING_API_KEY]
    assert (fraud.strategy, fraud.key_api_url) == ("http-key-api", URL)
    assert rotations[SecretPurposes.PAYMENT_PROVIDER_API_KEY].strategy == "notify"


def test_http_key_api_without_a_url_is_refused_naming_the_url_key():
    error = error_of(paymentProviderApiKeyRotation="http-key-api")
    assert error.key == "paymentProviderKeyApiUrl"
    assert "is required with paymentProviderApiKeyRotation http-key-api" in str(error)
    assert "pulumi config set paymentProviderKeyApiUrl https://" in str(error)


def test_a_url_with_notify_is_refused_rather_than_ignored():
    error = error_of(paymentProviderKeyApiUrl=URL)
    assert error.key == "paymentProviderKeyApiUrl"
    assert "only with paymentProviderApiKeyRotation http-key-api" in str(error)


@pytest.mark.parametrize(
    "url",
    [
        "http://keys.provider.example",
        "https://user:pass@keys.provider.example",
        "https://keys.provider.example/?token=1",
        "https://",
        "keys.provider.example",
    ],
)
def test_a_key_api_url_that_is_not_a_plain_https_url_is_refused(url):
    error = error_of(paymentProviderApiKeyRotation="http-key-api", paymentProviderKeyApiUrl=url)
    assert error.key == "paymentProviderKeyApiUrl"
    assert "must be an https URL" in str(error)


def test_an_unknown_strategy_is_refused_with_the_choices():
    error = error_of(fraudScoringApiKeyRotation="random")
    assert error.key == "fraudScoringApiKeyRotation"
    assert '"notify", "http-key-api"' in str(error)


def test_the_function_knows_exactly_the_strategies_config_offers():
    assert api_keys.KEY_ROTATIONS == KEY_ROTATIONS
