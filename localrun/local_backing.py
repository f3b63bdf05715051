"""What the services need besides each other, locally: PostgreSQL with TLS and an emulated Secrets Manager.

`running_backing()` starts, on 127.0.0.1 only:
- Debian's PostgreSQL with TLS (`localrun.local_postgres`), with the ledger database provisioned as the
  rotation function's bootstrap does it in AWS (group role `payments_ledger`, login user `payments_app`);
- moto's Secrets Manager in a child process (`python -m moto.server`), holding the platform's three
  secrets: the database connection (JSON, with the user's password) and placeholder API keys.

`LocalBacking.service_env(spec)` is the environment a task definition gives `spec` in AWS, pointed at
these: `<ENV>_SECRET_ARN` per catalogue secret, botocore's `AWS_ENDPOINT_URL_SECRETS_MANAGER`, dummy
credentials and region, and `DATABASE_TLS=verify-full` with the run's CA as `DATABASE_CA_BUNDLE`.
Every wait is bounded; everything stops when the block ends.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from apps.common.runtime_secrets import arn_env
from localrun.local_postgres import (
    LocalPostgres,
    enable_statement_tracking,
    free_port,
    provision_ledger_database,
    running_postgres,
)
from shared.catalogue import ServiceSpec
from shared.secret_purposes import SecretPurposes

REGION = "us-east-1"
DATABASE = "payments"
APP_USER = "payments_app"
START_TIMEOUT_SECONDS = 20.0
# Local stand-ins for the third-party API keys: not credentials for anything real.
LOCAL_API_KEYS = {
    SecretPurposes.PAYMENT_PROVIDER_API_KEY: "local-payment-provider-key",
    SecretPurposes.FRAUD_SCORING_API_KEY: "local-fraud-scoring-key",
}
# botocore needs credentials to sign; the emulator accepts any.
DUMMY_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
}


@dataclass(frozen=True)
class LocalBacking:
    postgres: LocalPostgres
    secrets_endpoint: str
    secret_arns: dict[str, str]  # purpose -> ARN
    database_password: str

    def aws_env(self) -> dict[str, str]:
        return {**DUMMY_AWS_ENV, "AWS_ENDPOINT_URL_SECRETS_MANAGER": self.secrets_endpoint}

    def service_env(self, spec: ServiceSpec) -> dict[str, str]:
        env = {arn_env(name): self.secret_arns[purpose] for name, purpose in spec.secrets.items()}
        if spec.secrets:
            env.update(self.aws_env())
        if SecretPurposes.DATABASE_CONNECTION in spec.secrets.values():
            env.update(DATABASE_TLS="verify-full", DATABASE_CA_BUNDLE=str(self.postgres.ca_file))
        return env

    def secrets_client(self) -> Any:
        import botocore.session

        session = botocore.session.get_session()
        return session.create_client(
            "secretsmanager",
            region_name=REGION,
            endpoint_url=self.secrets_endpoint,
            aws_access_key_id=DUMMY_AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        )

    def connection_secret(self, password: str | None = None, username: str = APP_USER) -> str:
        return json.dumps(
            {
                "engine": "postgres",
                "host": self.postgres.host,
                "port": self.postgres.port,
                "username": username,
                "password": password or self.database_password,
                "dbname": DATABASE,
            }
        )


@contextmanager
def running_secrets_manager() -> Iterator[str]:
    """moto's server in a child process on 127.0.0.1; yields its endpoint URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the emulated Secrets Manager exited with {process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no emulated Secrets Manager on {endpoint} within 20 s") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_backing(*, track_statements: bool = False) -> Iterator[LocalBacking]:
    """track_statements: `pg_stat_statements` in the ledger database (`localrun.local_postgres`)."""
    with (
        running_postgres(tls=True, track_statements=track_statements) as postgres,
        running_secrets_manager() as endpoint,
    ):
        password = "local-" + os.urandom(12).hex()
        provision_ledger_database(postgres, DATABASE, {APP_USER: password})
        if track_statements:
            enable_statement_tracking(postgres, DATABASE)
        backing = LocalBacking(postgres, endpoint, {}, password)
        client = backing.secrets_client()
        values = {SecretPurposes.DATABASE_CONNECTION: backing.connection_secret(), **LOCAL_API_KEYS}
        for purpose, value in values.items():
            created = client.create_secret(Name=f"secret-{purpose}-local", SecretString=value)
            backing.secret_arns[purpose] = str(created["ARN"])
        yield backing
