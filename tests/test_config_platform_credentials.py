"""Platform config for the database and the credentials: secrets stay secret, combinations are checked."""

from __future__ import annotations

import pytest

from offline.engine import evaluate
from shared.config import ConfigReader, PlatformConfig
from shared.errors import ConfigError

CREDENTIALS = ("databasePassword", "paymentProviderApiKey", "fraudScoringApiKey")


def load(secret_keys=CREDENTIALS, **values) -> PlatformConfig:
    raw = {"environmentSuffix": "dev", "networkStack": "org/payments-network/dev", **values}
    return PlatformConfig.load(ConfigReader.from_mapping(raw, secret_keys=secret_keys))


def error_of(**values) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(**values)
    return caught.value


def test_without_a_database_host_the_database_is_not_rotated_and_no_password_is_needed():
    database = load().database
    assert database.host is None
    assert database.rotated is False
    assert (database.port, database.name, database.username, database.tls) == (
        5432,
        "payments",
        "payments_app",
        "require",
    )


@pytest.mark.parametrize("key", CREDENTIALS)
def test_a_credential_stored_as_plaintext_is_refused_without_echoing_it(key):
    values = {key: "hunter2-plaintext"}
    if key == "databasePassword":
        values["databaseHost"] = "db.example.internal"
    error = error_of(secret_keys=(), **values)
    assert error.key == key
    assert "must be stored encrypted" in str(error)
    assert f"pulumi config set --secret {key}" in str(error)
    assert "hunter2" not in str(error)


def test_a_database_host_needs_the_current_password():
    error = error_of(databaseHost="db.example.internal")
    assert error.key == "databasePassword"
    assert "required when databaseHost is set" in str(error)
    assert "pulumi config set --secret databasePassword" in str(error)


@pytest.mark.parametrize(
    ("values", "key", "message"),
    [
        ({"databaseHost": "db_host!"}, "databaseHost", "must be a DNS name"),
        ({"databasePort": "70000"}, "databasePort", "at most 65535"),
        ({"databaseName": "Payments"}, "databaseName", "must be a PostgreSQL name"),
        ({"databaseUsername": "1app"}, "databaseUsername", "must be a PostgreSQL name"),
        ({"databaseTls": "prefer"}, "databaseTls", "must be one of 'verify-full', 'require', 'disable'"),
        ({"rotationReservedConcurrency": "0"}, "rotationReservedConcurrency", "at least 1"),
    ],
)
def test_database_and_rotation_errors_name_the_key(values, key, message):
    error = error_of(**values)
    assert error.key == key
    assert message in str(error)


def test_from_pulumi_refuses_a_credential_that_is_not_a_secret():
    def program():
        PlatformConfig.load(ConfigReader.from_pulumi())

    with pytest.raises(ConfigError, match="fraudScoringApiKey: holds a credential"):
        evaluate(
            program,
            project="payments-platform",
            config={"environmentSuffix": "dev", "fraudScoringApiKey": "plain-value-0123456789"},
        )
