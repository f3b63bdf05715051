"""The local platform: a real PostgreSQL, an emulated Secrets Manager, the real bootstrap and rotation.

One platform per module (initdb costs seconds); the services run on it as real processes, and the
figures of the rotation under load come from the same code as `python3 dev.py rotation_under_load`.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import botocore.session
import psycopg
import pytest

from localrun.local import LocalStack, free_port, running
from localrun.local_platform import (
    DATABASE_USERNAME,
    MASTER_USERNAME,
    LocalPlatform,
    running_platform,
    secret_name,
)
from localrun.local_postgres import PostgresNotInstalledError, find_bin_dir
from localrun.rotation_under_load import connected_users, ledger_counts, loaded_stack_env, measure
from offline.secret_values import reveal
from shared.catalogue import CATALOGUE
from shared.contracts import SecretPurposes
from tests.apps.conftest import post

PAYMENT = {"amount": "12.50", "currency": "EUR", "card_token": "tok_4242424242424242"}


@pytest.fixture(scope="module")
def local_platform() -> Iterator[LocalPlatform]:
    if find_bin_dir() is None:
        message = "PostgreSQL is not installed (apt-get install postgresql); .ci/run installs it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with running_platform() as started:
        yield started


def ports() -> dict[str, int]:
    return {spec.name: free_port() for spec in CATALOGUE}


def admin(platform: LocalPlatform) -> psycopg.Connection:
    return psycopg.connect(platform.admin_conninfo(), autocommit=True)


def test_the_secrets_are_named_and_shaped_as_the_platform_layer_makes_them(local_platform, platform_plan):
    planned = platform_plan
    names = {purpose: secret.inputs["name"] for purpose, secret in planned["secrets"].items()}
    assert names == {purpose: secret_name(purpose, "dev") for purpose in names}
    local = local_platform.connection()
    # The layer's JSON keys, plus masterarn for alternating-users rotation against RDS's master secret.
    assert set(local) == set(planned["connection"]) | {"masterarn"}
    assert local["masterarn"] == local_platform.master_secret_arn
    master = json.loads(
        local_platform.secrets_manager.client().get_secret_value(SecretId=local["masterarn"])["SecretString"]
    )
    assert set(master) == {"username", "password"}  # what RDS keeps in the secret it manages


@pytest.fixture(scope="module")
def platform_plan(platform):
    """The platform layer's example stack, offline: its secrets and the connection secret's JSON."""
    evaluation = platform
    secrets = {p: evaluation.by_id(arn) for p, arn in evaluation.exports["secretArns"].items()}
    connection_id = secrets[SecretPurposes.DATABASE_CONNECTION].id
    [version] = [
        v for v in evaluation.all("aws:secretsmanager/secretVersion:SecretVersion")
        if v.inputs["secretId"] == connection_id
    ]  # fmt: skip
    return {"secrets": secrets, "connection": json.loads(reveal(version.inputs["secretString"]))}


def test_an_aws_sdk_given_only_the_service_env_reaches_the_emulated_secrets_manager(
    local_platform, monkeypatch
):
    spec = next(s for s in CATALOGUE if SecretPurposes.DATABASE_CONNECTION in s.secrets.values())
    env = local_platform.service_env(spec)
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    client = botocore.session.Session().create_client("secretsmanager")  # botocore's own resolution
    assert client.meta.endpoint_url == local_platform.secrets_manager.endpoint
    for name, purpose in spec.secrets.items():
        arn = env[f"{name}_SECRET_ARN"]
        assert arn == local_platform.secret_arns[purpose]
        assert client.get_secret_value(SecretId=arn)["SecretString"]
    assert env["DATABASE_TLS"] == "verify-full"
    assert Path(env["DATABASE_CA_BUNDLE"]).read_text().startswith("-----BEGIN CERTIFICATE-----")


def test_the_bootstrap_made_least_privilege_roles_and_the_master_is_no_superuser(local_platform):
    with admin(local_platform) as session:
        roles = {
            name: tuple(flags)
            for name, *flags in session.execute(
                "SELECT rolname, rolsuper, rolcanlogin, rolcreaterole, rolcreatedb FROM pg_roles "
                "WHERE rolname IN (%s, %s, 'payments_ledger')",
                (DATABASE_USERNAME, MASTER_USERNAME),
            ).fetchall()
        }
        member = session.execute(
            "SELECT pg_has_role(%s, 'payments_ledger', 'USAGE')", (DATABASE_USERNAME,)
        ).fetchone()
    assert roles[DATABASE_USERNAME] == (False, True, False, False)
    assert roles["payments_ledger"] == (False, False, False, False)
    assert roles[MASTER_USERNAME] == (False, True, True, True)  # as RDS's master: not a superuser
    assert member == (True,)


def test_tls_is_required_and_verified_against_the_run_s_ca(local_platform):
    connection = local_platform.connection()
    plain = (
        f"host={connection['host']} port={connection['port']} dbname=payments user={connection['username']}"
    )
    with pytest.raises(psycopg.OperationalError, match=r"no encryption|SSL off"):
        psycopg.connect(f"{plain} password={connection['password']} sslmode=disable", connect_timeout=5)
    with pytest.raises(psycopg.OperationalError, match=r"certificate verify failed|root certificate"):
        psycopg.connect(
            f"{plain} password={connection['password']} sslmode=verify-full sslrootcert=system",
            connect_timeout=5,
        )


@pytest.fixture(scope="module")
def services(local_platform) -> Iterator[LocalStack]:
    """The three services on the platform, with a short secret TTL and pool connection lifetime."""
    with running(LocalStack(ports(), local_platform, extra_env=loaded_stack_env())) as stack:
        yield stack


def test_payments_survive_a_restart_of_every_service(local_platform, services):
    url = f"{services.url('api-gateway')}/payments"
    keys = [f"restart-{n:04d}-{os.urandom(4).hex()}" for n in range(5)]
    bodies = {key: {**PAYMENT, "amount": f"{n + 1}.25"} for n, key in enumerate(keys)}
    first = {key: post(url, body, {"Idempotency-Key": key}) for key, body in bodies.items()}
    assert {answer.status for answer in first.values()} == {201}
    rows_before = ledger_counts(local_platform)
    pids_before = {process.pid for process in services.processes.values()}
    services.stop()  # every task: SIGTERM, drained, exited
    services.start()
    assert not pids_before & {process.pid for process in services.processes.values()}
    for key, body in bodies.items():
        again = post(url, body, {"Idempotency-Key": key})
        assert again.status == 200
        assert again.headers["idempotent-replayed"] == "true"
        assert again.body == first[key].body
    reused = post(url, {**PAYMENT, "amount": "99.00"}, {"Idempotency-Key": keys[0]})
    assert reused.status == 422
    assert ledger_counts(local_platform) == rows_before


def test_rotation_under_load_fails_no_payment_and_writes_no_duplicate(local_platform, services):
    figures = measure(
        local_platform,
        f"{services.url('api-gateway')}/payments",
        rotations=2,
        concurrency=6,
        max_requests=4000,
        retry_share=0.25,
        tail_seconds=0.5,
    )
    print(figures.report())
    assert figures.failures == ()
    assert figures.unanswered == 0
    assert figures.duplicate_rows == 0
    assert figures.payment_rows == figures.keys_answered > 0
    assert figures.retries > 0
    # Both alternating users carried payments: the clone first, then the original with a new password.
    assert figures.users == (f"{DATABASE_USERNAME}_clone", DATABASE_USERNAME)
    assert figures.connected_before[0] == (DATABASE_USERNAME,)
    assert f"{DATABASE_USERNAME}_clone" in figures.connected_before[1]
    assert figures.ok
    assert DATABASE_USERNAME in connected_users(local_platform)


def test_without_postgresql_the_platform_refuses_with_the_install_command(monkeypatch):
    monkeypatch.setattr("localrun.local_postgres.find_bin_dir", lambda: None)
    with pytest.raises(PostgresNotInstalledError, match="apt-get install postgresql"), running_platform():
        pytest.fail("the platform started without PostgreSQL")


def test_an_api_key_rotates_at_its_fake_provider_with_the_real_rotation_function(local_platform):
    purpose = SecretPurposes.PAYMENT_PROVIDER_API_KEY
    client = local_platform.secrets_manager.client()
    old = client.get_secret_value(SecretId=local_platform.secret_arns[purpose])["SecretString"]
    local_platform.rotate(purpose)
    new = client.get_secret_value(SecretId=local_platform.secret_arns[purpose])["SecretString"]
    assert new != old

    def status(key: str) -> int:
        request = urllib.request.Request(
            f"{local_platform.provider_urls[purpose]}/v1/keys/self",
            headers={"Authorization": f"Bearer {key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as refused:
            return int(refused.code)

    assert status(new) == 200
    assert status(old) == 401  # retired at the provider after finishSecret


def test_running_the_rotation_function_leaves_no_credentials_behind_in_this_process(local_platform):
    import boto3

    session, environment = boto3.DEFAULT_SESSION, dict(os.environ)
    assert local_platform.bootstrap()["created"] == []  # idempotent: everything exists already
    assert boto3.DEFAULT_SESSION is session
    assert dict(os.environ) == environment
