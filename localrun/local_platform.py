"""What the platform layer gives the services, on this machine: a database, its secrets, their rotation.

`running_platform()` stands up, on 127.0.0.1 only and in a fresh temporary directory:

- **PostgreSQL** (Debian's server, `localrun.local_postgres`) with TLS on and a CA generated for the run.
  Like RDS, it gets a master user that is *not* a superuser (CREATEROLE, CREATEDB) and that owns the
  ledger database; RDS's master is a member of `rds_superuser`, not a superuser either
  (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Roles.html).
- **Secrets Manager**, emulated by moto's server (`localrun.local_secrets`), holding the platform's secrets
  shaped as the platform layer shapes them: the master secret as RDS manages it (JSON `username`,
  `password`), the connection secret as JSON `engine, host, port, username, password, dbname,
  masterarn` (the field name of AWS's multi-user rotation templates), and the two API keys.
- **The database roles**, made by the real rotation function's `bootstrapDatabase` action
  (`functions/secret_rotation`), exactly as the platform layer invokes it in AWS.
- **The fake API-key providers** (`localrun.fake_provider`), one per API-key secret, accepting its key;
  the rotation function's `http-key-api` strategy is configured against them, so an API key rotates
  as it would at a provider with a key API (a new key made there, tested, the old one retired).

`LocalPlatform.service_env()` is what a task definition gives a service: `<ENV>_SECRET_ARN` per
catalogue secret, and the standard AWS SDK settings that point Secrets Manager at the emulation.
`LocalPlatform.rotate()` runs a rotation with the real rotation function's four steps.
Everything is stopped and removed when the block exits.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apps.common.runtime_secrets import arn_env
from apps.payment_processor.ledger_connections import CA_BUNDLE_ENV, TLS_ENV
from localrun.fake_provider.server import running_provider
from localrun.local_postgres import LocalPostgres, running_postgres
from localrun.local_secrets import REGION, LocalSecretsManager, running_secrets_manager
from shared import naming
from shared.catalogue import ServiceSpec
from shared.config.keys import LAYER_KEYS
from shared.secret_purposes import SecretPurposes

LOCAL_SUFFIX = "local"  # the environmentSuffix of the names below
# What the platform layer calls each secret after "secret-" (stacks/platform/platform_secrets.py).
SECRET_NAME_PARTS = {
    SecretPurposes.DATABASE_CONNECTION: "database-connection",
    SecretPurposes.PAYMENT_PROVIDER_API_KEY: "payment-provider-api-key",
    SecretPurposes.FRAUD_SCORING_API_KEY: "fraud-scoring-api-key",
}
API_KEY_PURPOSES = (SecretPurposes.PAYMENT_PROVIDER_API_KEY, SecretPurposes.FRAUD_SCORING_API_KEY)
# The platform layer's defaults for databaseName and databaseUsername, where they are declared.
DATABASE_NAME = str(LAYER_KEYS["platform"]["databaseName"].default)
DATABASE_USERNAME = str(LAYER_KEYS["platform"]["databaseUsername"].default)
MASTER_USERNAME = "payments_master"
API_KEY_LENGTH = 48
PASSWORD_LENGTH = 32
ROTATION_STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


def secret_name(purpose: str, suffix: str = LOCAL_SUFFIX) -> str:
    return naming.Namer(suffix).name(naming.SECRET_NAME, SECRET_NAME_PARTS[purpose])


def rotation_function_arn(suffix: str = LOCAL_SUFFIX) -> str:
    name = naming.Namer(suffix).name(naming.LAMBDA, "secret-rotation")
    return f"arn:aws:lambda:{REGION}:123456789012:function:{name}"


def _random(length: int) -> str:
    """Letters and digits, like the platform's generated seeds (safe in headers and URLs)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass(frozen=True)
class LocalPlatform:
    """The running pieces, the ARN of each secret by purpose, and the rotation function's environment."""

    postgres: LocalPostgres
    secrets_manager: LocalSecretsManager
    secret_arns: Mapping[str, str]  # purpose -> ARN
    master_secret_arn: str
    provider_urls: Mapping[str, str] = field(default_factory=dict)  # purpose -> fake provider base URL

    @property
    def ca_file(self) -> Path:
        assert self.postgres.ca_file is not None  # the platform always runs PostgreSQL with TLS
        return self.postgres.ca_file

    def database_env(self) -> dict[str, str]:
        """How a client verifies the database: TLS with the run's CA, host name checked."""
        return {TLS_ENV: "verify-full", CA_BUNDLE_ENV: str(self.ca_file)}

    def service_env(self, spec: ServiceSpec) -> dict[str, str]:
        """The env a task definition gives `spec` for its secrets, pointed at the emulation.

        The database transport only for a service that reads the connection secret (the
        payment-processor image sets it in AWS); the AWS SDK settings only for one that reads secrets.
        """
        env = {arn_env(name): self.secret_arns[purpose] for name, purpose in spec.secrets.items()}
        if spec.secrets:
            env.update(self.secrets_manager.client_env())
        if SecretPurposes.DATABASE_CONNECTION in spec.secrets.values():
            env.update(self.database_env())
        return env

    def connection(self, stage: str = "AWSCURRENT") -> dict[str, Any]:
        """The connection secret's value at `stage`."""
        answer = self.secrets_manager.client().get_secret_value(
            SecretId=self.secret_arns[SecretPurposes.DATABASE_CONNECTION], VersionStage=stage
        )
        return dict(json.loads(answer["SecretString"]))

    def admin_conninfo(self) -> str:
        """The local server's superuser, on the ledger database (for checks, never for the services)."""
        return self.postgres.admin_conninfo(DATABASE_NAME)

    def rotate(self, purpose: str = SecretPurposes.DATABASE_CONNECTION) -> str:
        """One rotation as Secrets Manager runs it: AWSPENDING, then the function's four steps.

        Returns the new AWSCURRENT version id. A step that raises leaves AWSCURRENT as it was.
        """
        from functions.secret_rotation.handler import handler

        arn = self.secret_arns[purpose]
        token = self.secrets_manager.begin_rotation(arn, rotation_function_arn())
        try:
            with _environment(self.rotation_function_env()):
                for step in ROTATION_STEPS:
                    handler({"SecretId": arn, "ClientRequestToken": token, "Step": step}, None)
        finally:
            self.secrets_manager.end_rotation(arn)
        return token

    def bootstrap(self) -> dict[str, object]:
        """The rotation function's `bootstrapDatabase` action on the connection secret."""
        from functions.secret_rotation.handler import handler

        event = {
            "Action": "bootstrapDatabase",
            "SecretId": self.secret_arns[SecretPurposes.DATABASE_CONNECTION],
        }
        with _environment(self.rotation_function_env()):
            result = handler(event, None)
        if not isinstance(result, dict) or result.get("status") != "ok":
            raise RuntimeError(f"bootstrapDatabase answered {result!r}")
        return result

    def rotation_function_env(self) -> dict[str, str]:
        """The rotation function's environment, as the platform layer sets it, pointed at the emulation."""
        strategies = {
            secret_name(purpose): {"strategy": "http-key-api", "keyApiUrl": url}
            for purpose, url in self.provider_urls.items()
        }
        return {
            **self.secrets_manager.client_env(),
            **self.database_env(),  # verify-full against the run's CA, as the services
            "ROTATION_STRATEGIES": json.dumps(strategies),
        }


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """`values` in os.environ for the block, as the rotation function's Lambda environment.

    The function's `boto3.client()` builds boto3's process-wide default session, which keeps the
    credentials it found; it is dropped at the end of the block (as moto's own mock does), so the
    dummy credentials never reach later AWS clients of this process.
    """
    import boto3

    saved = {name: os.environ.get(name) for name in values}
    saved_session = boto3.DEFAULT_SESSION
    os.environ.update(values)
    boto3.DEFAULT_SESSION = None
    try:
        yield
    finally:
        boto3.DEFAULT_SESSION = saved_session
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _create_master_and_database(server: LocalPostgres, password: str) -> None:
    """What RDS creates with the instance: the master user and the database it owns."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(server.admin_conninfo(), autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN CREATEROLE CREATEDB PASSWORD {}").format(
                sql.Identifier(MASTER_USERNAME), sql.Literal(password)
            )
        )
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(DATABASE_NAME), sql.Identifier(MASTER_USERNAME)
            )
        )


def _seed_secrets(
    manager: LocalSecretsManager, server: LocalPostgres, master_password: str
) -> tuple[dict[str, str], str]:
    """The master secret as RDS keeps it, and the platform's three secrets; returns their ARNs."""
    # RDS names the master secrets it manages `rds!db-<id>` and stores username and password as JSON.
    master_arn = manager.create(
        f"rds!db-{uuid.uuid4()}",
        json.dumps({"username": MASTER_USERNAME, "password": master_password}),
        description="master user of the local database, as RDS manages it",
    )
    connection = {
        "engine": "postgres",
        "host": server.host,
        "port": server.port,
        "username": DATABASE_USERNAME,
        "password": _random(PASSWORD_LENGTH),
        "dbname": DATABASE_NAME,
        "masterarn": master_arn,
    }
    values = {
        SecretPurposes.DATABASE_CONNECTION: json.dumps(connection),
        **{purpose: _random(API_KEY_LENGTH) for purpose in API_KEY_PURPOSES},
    }
    arns = {purpose: manager.create(secret_name(purpose), value) for purpose, value in values.items()}
    return arns, master_arn


@contextmanager
def running_platform(bin_dir: Path | None = None) -> Iterator[LocalPlatform]:
    """The local platform for the duration of the block (see the module docstring).

    Raises `localrun.local_postgres.PostgresNotInstalledError` before anything starts when Debian's
    PostgreSQL server is missing.
    """
    with ExitStack() as stack:
        server = stack.enter_context(running_postgres(bin_dir, tls=True))
        master_password = _random(PASSWORD_LENGTH)
        _create_master_and_database(server, master_password)
        manager = stack.enter_context(running_secrets_manager())
        arns, master_arn = _seed_secrets(manager, server, master_password)
        providers = {
            purpose: stack.enter_context(running_provider([_current(manager, arns[purpose])]))
            for purpose in API_KEY_PURPOSES
        }
        platform = LocalPlatform(
            server, manager, arns, master_arn, {purpose: p.url for purpose, p in providers.items()}
        )
        platform.bootstrap()
        yield platform


def _current(manager: LocalSecretsManager, arn: str) -> str:
    return str(manager.client().get_secret_value(SecretId=arn)["SecretString"])
