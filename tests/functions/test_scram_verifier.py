"""Passwords reach PostgreSQL only as SCRAM-SHA-256 verifiers: RFC 7677's example, and a real server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

import pg8000.native
import pytest

from functions.secret_rotation import postgres
from functions.secret_rotation.scram import password_verifier, scram_keys

# RFC 7677 section 3: user "user", password "pencil", and the exchange's messages.
RFC_SALT = "W22ZaJ0SNY7soEsUEjb6gQ=="
RFC_NONCE = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
RFC_AUTH_MESSAGE = (
    f"n=user,r=rOprNGfwEbeRWgbNEkqO,r={RFC_NONCE},s={RFC_SALT},i=4096,c=biws,r={RFC_NONCE}"
).encode()
RFC_CLIENT_PROOF = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
RFC_SERVER_SIGNATURE = "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def test_the_keys_reproduce_rfc_7677s_exchange():
    stored_key, server_key = scram_keys("pencil", base64.b64decode(RFC_SALT), 4096)
    # The server proves itself with ServerKey; the client's proof, unmasked, hashes to StoredKey.
    assert (
        base64.b64encode(hmac.digest(server_key, RFC_AUTH_MESSAGE, "sha256")).decode() == RFC_SERVER_SIGNATURE
    )
    signature = hmac.digest(stored_key, RFC_AUTH_MESSAGE, "sha256")
    client_key = bytes(a ^ b for a, b in zip(base64.b64decode(RFC_CLIENT_PROOF), signature, strict=True))
    assert hashlib.sha256(client_key).digest() == stored_key


def test_the_verifier_has_libpqs_format_and_a_fresh_salt_each_time():
    first, second = password_verifier("pencil"), password_verifier("pencil")
    assert first != second
    scheme, keys = first.split("$", 1)[1].split("$")
    iterations, salt = scheme.split(":")
    assert first.startswith("SCRAM-SHA-256$4096:")
    assert (iterations, len(base64.b64decode(salt))) == ("4096", 16)
    assert [len(base64.b64decode(key)) for key in keys.split(":")] == [32, 32]
    with pytest.raises(ValueError, match="must not be empty"):
        password_verifier("")


@pytest.fixture
def server(postgres, monkeypatch):
    """The throwaway server (no certificate) and its superuser's connection."""
    monkeypatch.setenv("DATABASE_TLS", "disable")
    connection = {"host": postgres.host, "port": postgres.port, "username": postgres.admin_user,
                  "password": postgres.admin_password, "dbname": "postgres"}  # fmt: skip
    return postgres, connection


def login(server, user: str, password: str) -> bool:
    _, admin = server
    return postgres.check_login({**admin, "username": user, "password": password})


def stored_secret(admin: postgres.Connection, role: str) -> str:
    with postgres.session(admin) as opened:
        return str(opened.run("SELECT rolpassword FROM pg_authid WHERE rolname = :r", r=role)[0][0])


def test_set_password_stores_a_verifier_the_role_logs_in_with(server):
    _, admin = server
    role, password = f"scram_{uuid.uuid4().hex[:8]}", "pw-" + uuid.uuid4().hex
    with postgres.session(admin) as opened:
        opened.run(f"CREATE ROLE {pg8000.native.identifier(role)} LOGIN")
    try:
        postgres.set_password(admin, role, password)
        assert stored_secret(admin, role).startswith("SCRAM-SHA-256$4096:")
        assert login(server, role, password) is True
        assert login(server, role, password + "x") is False
    finally:
        with postgres.session(admin) as opened:
            opened.run(f"DROP ROLE {pg8000.native.identifier(role)}")


def test_a_failed_statement_puts_the_verifier_not_the_password_in_the_servers_log(server):
    """log_min_error_statement=error logs a failing statement's text (RDS exports that log)."""
    postgres_server, admin = server
    password = "never-in-a-log-" + uuid.uuid4().hex
    with pytest.raises(pg8000.native.DatabaseError):
        postgres.set_password(admin, "no_such_role_" + uuid.uuid4().hex[:8], password)
    log = (postgres_server.workdir / "log").read_text(errors="replace")
    statements = [line for line in log.splitlines() if "STATEMENT:" in line and "no_such_role_" in line]
    assert statements, log[-2000:]
    assert "PASSWORD 'SCRAM-SHA-256$4096:" in statements[-1]
    assert password not in log


def test_the_bootstrap_path_sends_no_password_in_any_statement(server):
    _, admin = server
    role, password = f"scram_{uuid.uuid4().hex[:8]}", "pw-" + uuid.uuid4().hex
    sent: list[str] = []
    with postgres.session(admin) as opened:
        opened.run(f"CREATE ROLE {pg8000.native.identifier(role + '_group')} NOLOGIN")
        run = opened.run

        def recording(sql: str, **params: object) -> object:
            sent.append(sql)
            return run(sql, **params)

        opened.run = recording  # type: ignore[method-assign]
        try:
            assert postgres.ensure_login_user(opened, role, password, role + "_group") is True
            assert postgres.ensure_login_user(opened, role, password + "2", role + "_group") is False
        finally:
            opened.run = run  # type: ignore[method-assign]
    try:
        assert [s for s in sent if "PASSWORD" in s]
        assert not [s for s in sent if password in s]
        assert login(server, role, password + "2") is True
    finally:
        with postgres.session(admin) as opened:
            opened.run(f"DROP ROLE {pg8000.native.identifier(role)}")
            opened.run(f"DROP ROLE {pg8000.native.identifier(role + '_group')}")
