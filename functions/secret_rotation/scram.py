"""SCRAM-SHA-256 password verifiers, computed here so that no password is ever part of a SQL statement.

`ALTER ROLE ... PASSWORD '<password>'` puts the password in the statement's text, and PostgreSQL logs
the text of a statement that fails (log_min_error_statement defaults to `error`) into the log RDS
exports to CloudWatch. A verifier in the format libpq's PQencryptPasswordConn produces,
`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64), is stored as given: "If the
presented password string is already in MD5-encrypted or SCRAM-encrypted format, then it is stored
as-is" (PostgreSQL, CREATE ROLE, https://www.postgresql.org/docs/current/sql-createrole.html).
The keys are RFC 5802's (section 3) with SHA-256 (RFC 7677):

    SaltedPassword = PBKDF2-HMAC-SHA-256(SASLprep(password), salt, iterations)
    StoredKey      = SHA-256(HMAC(SaltedPassword, "Client Key"))
    ServerKey      = HMAC(SaltedPassword, "Server Key")

Like PostgreSQL (src/common/scram-common.c, pg_fe_scram_build_secret), a password SASLprep refuses is
used as its raw UTF-8 bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from scramp import ScramException
from scramp.utils import saslprep

# libpq's defaults, SCRAM_SHA_256_DEFAULT_ITERATIONS and SCRAM_DEFAULT_SALT_LEN
# (PostgreSQL, src/include/common/scram-common.h).
ITERATIONS = 4096
SALT_BYTES = 16
PREFIX = "SCRAM-SHA-256$"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _prepared(password: str) -> bytes:
    try:
        return str(saslprep(password)).encode("utf-8")
    except ScramException:
        return password.encode("utf-8")


def scram_keys(password: str, salt: bytes, iterations: int = ITERATIONS) -> tuple[bytes, bytes]:
    """(StoredKey, ServerKey) of `password` with `salt` and `iterations`."""
    salted = hashlib.pbkdf2_hmac("sha256", _prepared(password), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    return hashlib.sha256(client_key).digest(), hmac.digest(salted, b"Server Key", "sha256")


def password_verifier(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """What PostgreSQL stores for `password`: SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>.

    salt: default 16 random bytes, fresh each call (so equal passwords get different verifiers).
    """
    if not password:
        raise ValueError("a database password must not be empty")
    chosen = os.urandom(SALT_BYTES) if salt is None else salt
    stored_key, server_key = scram_keys(password, chosen, iterations)
    return f"{PREFIX}{iterations}:{_b64(chosen)}${_b64(stored_key)}:{_b64(server_key)}"
