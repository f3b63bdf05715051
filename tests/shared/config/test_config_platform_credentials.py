"""Platform config for the database and the credentials: secrets stay secret, combinations are checked."""

from __future__ import annotations

import asyncio

import pytest

from offline.engine import evaluate
from shared.config import ConfigReader, PlatformConfig
from shared.config.platform import DatabaseConfig
from shared.errors import ConfigError

CREDENTIALS = ("databasePassword", "paymentProviderApiKey", "fraudScoringApiKey")


def load(secret_keys=CREDENTIALS, **values) -> PlatformConfig:
    raw = {"environmentSuffix": "dev", "networkStack": "org/payments-network/dev", **values}
    return PlatformConfig.load(ConfigReader.from_mapping(raw, secret_keys=secret_keys))


def error_of(**values) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(**values)
    return caught.value


def test_by_default_the_database_is_managed_multi_az_and_rotated_without_host_or_password():
    database = load().database
    assert database.source == "managed"
    assert (database.host, database.password) == (None, None)
    assert database.rotated is True
    assert (database.port, database.name, database.username, database.tls) == (
        5432,
        "payments",
        "payments_app",
        "verify-full",  # against the RDS CAs the function's archive carries
    )
    managed = database.managed
    assert managed is not None
    assert managed.multi_az is True  # production-like by default; dev stacks opt out
    assert managed.skip_final_snapshot is True  # destroyable by default
    assert (managed.engine_version, managed.engine_major) == ("16", "16")
    assert managed.max_allocated_storage_gb >= managed.allocated_storage_gb


EXTERNAL = {"database": "external", "databaseHost": "db.example.internal"}


@pytest.mark.parametrize("key", ["databaseHost", "databasePassword"])
def test_a_managed_database_refuses_the_external_keys_by_name(key):
    error = error_of(secret_keys=(), **{key: "db.example.internal"})  # even a plaintext one
    assert error.key == key
    assert "applies only to database: external" in str(error)
    assert f"pulumi config rm {key}" in str(error)
    if key == "databasePassword":
        assert "db.example.internal" not in str(error)  # a credential is never echoed


def test_an_external_database_needs_its_host():
    error = error_of(database="external")
    assert error.key == "databaseHost"
    assert "required with database: external" in str(error)


def test_an_external_database_is_rotated_with_the_given_host_and_no_managed_instance():
    async def loaded() -> DatabaseConfig:
        # The password becomes a pulumi.Output, which needs an event loop (the engine has one).
        return load(**EXTERNAL, databasePassword="current-password").database

    database = asyncio.run(loaded())
    assert (database.source, database.host, database.managed, database.rotated) == (
        "external",
        "db.example.internal",
        None,
        True,
    )


@pytest.mark.parametrize(
    ("values", "key", "message"),
    [
        ({"database": "aurora"}, "database", 'must be one of "managed", "external"'),
        ({"databaseInstanceClass": "m7g.large"}, "databaseInstanceClass", "must be an RDS DB instance class"),
        ({"databaseEngineVersion": "15.4"}, "databaseEngineVersion", "must be PostgreSQL 16"),
        ({"databaseAllocatedStorageGb": "10"}, "databaseAllocatedStorageGb", "at least 20"),
        (
            {"databaseAllocatedStorageGb": "200", "databaseMaxAllocatedStorageGb": "100"},
            "databaseMaxAllocatedStorageGb",
            "must be at least databaseAllocatedStorageGb (200)",
        ),
        ({"databaseBackupRetentionDays": "0"}, "databaseBackupRetentionDays", "at least 1"),
        ({"databaseBackupRetentionDays": "36"}, "databaseBackupRetentionDays", "at most 35"),
        ({"databaseUsername": "a" * 58}, "databaseUsername", "must be at most 57 characters"),
    ],
)
def test_managed_database_settings_aws_would_refuse_are_refused_by_key(values, key, message):
    error = error_of(**values)
    assert error.key == key
    assert message in str(error)


@pytest.mark.parametrize("key", CREDENTIALS)
def test_a_credential_stored_as_plaintext_is_refused_without_echoing_it(key):
    values = {key: "hunter2-plaintext"}
    if key == "databasePassword":
        values.update(EXTERNAL)
    error = error_of(secret_keys=(), **values)
    assert error.key == key
    assert "must be stored encrypted" in str(error)
    assert f"pulumi config set --secret {key}" in str(error)
    assert "hunter2" not in str(error)


def test_an_external_database_needs_the_current_password():
    error = error_of(**EXTERNAL)
    assert error.key == "databasePassword"
    assert "required with database: external" in str(error)
    assert "pulumi config set --secret databasePassword" in str(error)


@pytest.mark.parametrize(
    ("values", "key", "message"),
    [
        ({"database": "external", "databaseHost": "db_host!"}, "databaseHost", "must be a DNS name"),
        ({"databasePort": "70000"}, "databasePort", "at most 65535"),
        ({"databaseName": "Payments"}, "databaseName", "must be a PostgreSQL name"),
        ({"databaseUsername": "1app"}, "databaseUsername", "must be a PostgreSQL name"),
        ({"databaseTls": "prefer"}, "databaseTls", 'must be one of "verify-full", "require", "disable"'),
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
