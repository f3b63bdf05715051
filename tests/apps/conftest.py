from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest

from apps.common.runtime_secrets import DEFAULT_TTL_SECONDS, RuntimeSecrets
from apps.payment_processor.ledger_connections import LedgerConnectionConfig
from localrun.local import LocalStack, free_port, running
from localrun.local_backing import LocalBacking, running_backing
from localrun.local_postgres import LocalPostgres, find_bin_dir, provision_ledger_database
from shared.catalogue import CATALOGUE


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]  # lowercase names


def post(url: str, body: object, headers: dict[str, str] | None = None, timeout: float = 15) -> Answer:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return Answer(
                answer.status, json.loads(answer.read()), {k.lower(): v for k, v in answer.headers.items()}
            )
    except urllib.error.HTTPError as failed:
        return Answer(
            failed.code, json.loads(failed.read()), {k.lower(): v for k, v in failed.headers.items()}
        )


def ports() -> dict[str, int]:
    return {spec.name: free_port() for spec in CATALOGUE}


@pytest.fixture(scope="session")
def backing() -> Iterator[LocalBacking]:
    """PostgreSQL with TLS and an emulated Secrets Manager, as `payments-local` starts them."""
    if find_bin_dir() is None:
        message = "PostgreSQL is not installed (apt-get install postgresql); .ci/run installs it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with running_backing() as started:
        yield started


@pytest.fixture(scope="session")
def stack(backing) -> Iterator[LocalStack]:
    """The three services as real processes on loopback ports, as `payments-local` runs them."""
    with running(LocalStack(ports(), backing)) as started:
        yield started


class SlowScorer(BaseHTTPRequestHandler):
    """A fraud-detector that answers /health at once and /score only after `delay` seconds."""

    delay = 3.0

    def do_GET(self) -> None:
        self._answer({"status": "ok"})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(self.delay)
        self._answer({"score": 0, "reasons": []})

    def _answer(self, body: dict[str, Any]) -> None:
        try:
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller timed out and went away, which is the point

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def slow_fraud_detector() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowScorer)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()


# --- PostgreSQL with TLS for the ledger ------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerDatabase:
    """One fresh database on the session's TLS server, with the app's login user in payments_ledger."""

    server: LocalPostgres
    dbname: str
    user: str
    password: str

    def secret(self, password: str | None = None, user: str | None = None) -> str:
        """The connection secret's JSON, as the platform stores it."""
        return json.dumps(
            {"engine": "postgres", "host": self.server.host, "port": self.server.port,
             "username": user or self.user, "password": password or self.password, "dbname": self.dbname}
        )  # fmt: skip

    def config(self) -> LedgerConnectionConfig:
        assert self.server.ca_file is not None
        return LedgerConnectionConfig(tls="verify-full", ca_bundle=self.server.ca_file)

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.server.admin_conninfo(self.dbname), autocommit=True)


@pytest.fixture(scope="session")
def tls_postgres(backing) -> LocalPostgres:
    """Debian's PostgreSQL on loopback with ssl=on and TCP only over TLS (a CA made for the run)."""
    return backing.postgres


@pytest.fixture
def ledger_db(tls_postgres) -> LedgerDatabase:
    name = "payments_" + uuid.uuid4().hex[:12]
    password = "pw-" + uuid.uuid4().hex
    # Roles are per server, not per database: each test gets its own login user, so no test changes
    # the password of the backing's payments_app that the running services use.
    user = "app_" + name.removeprefix("payments_")
    provision_ledger_database(tls_postgres, name, {user: password})
    return LedgerDatabase(tls_postgres, name, user, password)


class FakeSecrets:
    """AWS's SecretCache as RuntimeSecrets uses it: values by ARN; `refresh_secret_now` takes `next`."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = dict(values)
        self.next: dict[str, str] = {}
        self.reads = 0
        self.refreshes = 0

    def get_secret_string(self, secret_id: str, version_stage: str | None = None) -> str | None:
        self.reads += 1
        return self.values[secret_id]

    def refresh_secret_now(self, secret_id: str) -> bool:
        self.refreshes += 1
        self.values.update({k: v for k, v in self.next.items() if k == secret_id})
        return True


DATABASE_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:secret-database-connection-dev-AbCdEf"


def runtime_secrets(source: FakeSecrets, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> RuntimeSecrets:
    return RuntimeSecrets({"DATABASE_CONNECTION": DATABASE_ARN}, ttl_seconds, source)
