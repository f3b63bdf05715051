"""A throwaway PostgreSQL server for tests and local runs: Debian's server in a temp dir, loopback only.

`running_postgres()` runs `initdb` in a fresh temporary directory and starts the server on 127.0.0.1
(a free port, no other address, its Unix socket inside that directory), with scram-sha-256 passwords
and, by default, TLS on: a CA and a server certificate for 127.0.0.1 are generated for the run, and
`pg_hba.conf` admits TCP clients only over TLS (`hostssl`), as an RDS parameter group with
`rds.force_ssl=1` does. A client then connects with `sslmode=verify-full` and `sslrootcert` = the
run's CA file. PostgreSQL refuses to run as root, so under root the server runs as the Debian
package's `postgres` user. Every wait is bounded (`pg_ctl -w -t`, and a timeout on each command);
the server is stopped (immediate mode) and the directory removed on exit.

`provision_ledger_database()` creates what the rotation function's `bootstrapDatabase` creates in
AWS (docs/services.md): the group role `payments_ledger` owning schema `ledger`, a login user in it,
and the database with CONNECT only for the group.
"""

from __future__ import annotations

import datetime
import glob
import ipaddress
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
ADMIN = "local_admin"
LEDGER_GROUP = "payments_ledger"
LEDGER_SCHEMA = "ledger"
COMMAND_TIMEOUT_SECONDS = 60.0  # initdb on a slow, shared machine
START_TIMEOUT_SECONDS = 30
STATEMENTS_EXTENSION = "pg_stat_statements"  # ships with Debian's server package


class PostgresNotInstalledError(RuntimeError):
    """Debian's `postgresql` package is not installed."""


@dataclass(frozen=True)
class LocalPostgres:
    """A running server: where it listens, its superuser, and the CA that signed its certificate.

    ca_file is None when TLS is off (then clients must use sslmode=disable).
    """

    host: str
    port: int
    admin_user: str
    admin_password: str
    ca_file: Path | None
    workdir: Path

    @property
    def log_file(self) -> Path:
        """The server's log (pg_ctl -l): what it writes to stderr, statements logged by pgaudit too."""
        return self.workdir / "log"

    def conninfo(
        self, user: str, password: str, dbname: str = "postgres", *, ca_file: Path | None = None
    ) -> str:
        """A libpq connection string: verify-full against the run's CA (or `ca_file`) when TLS is on."""
        parts = {
            "host": self.host,
            "port": str(self.port),
            "user": user,
            "password": password,
            "dbname": dbname,
        }
        root = ca_file or self.ca_file
        if root is None:
            parts["sslmode"] = "disable"
        else:
            parts.update(sslmode="verify-full", sslrootcert=str(root))
        return " ".join(f"{key}='{_quoted(value)}'" for key, value in parts.items())

    def admin_conninfo(self, dbname: str = "postgres") -> str:
        return self.conninfo(self.admin_user, self.admin_password, dbname)


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def find_bin_dir() -> Path | None:
    """The directory of Debian's PostgreSQL binaries (the newest major version installed), or None."""
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major_version)
    return Path(candidates[-1]).parent if candidates else None


def _major_version(path: str) -> int:
    digits = Path(path).parents[1].name
    return int(digits) if digits.isdigit() else 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _as_server_user() -> tuple[Callable[[], None] | None, int | None, int | None]:
    """Under root: drop to the package's `postgres` user for every server command."""
    if os.geteuid() != 0:
        return None, None, None
    user = pwd.getpwnam("postgres")

    def drop() -> None:
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)

    return drop, user.pw_uid, user.pw_gid


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    server_cert: Path
    server_key: Path


def write_test_pki(directory: Path, *, host: str = HOST, common_name: str = "local-postgres") -> TlsFiles:
    """A fresh CA and a server certificate signed by it, valid for `host` (SAN IP) and localhost."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{common_name} test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(directory / "ca.crt", directory / "server.crt", directory / "server.key")
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.server_cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    files.server_key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    files.server_key.chmod(0o600)  # PostgreSQL refuses a key readable by group or others
    return files


@contextmanager
def running_postgres(
    bin_dir: Path | None = None,
    *,
    tls: bool = True,
    admin_user: str = ADMIN,
    start_timeout_seconds: int = START_TIMEOUT_SECONDS,
    track_statements: bool = False,
    settings: Mapping[str, str] | None = None,
) -> Iterator[LocalPostgres]:
    """A fresh server for the duration of the block (see the module docstring).

    track_statements: load `pg_stat_statements` (per-statement counts and times, for the load
    benchmark and local profiling); `enable_statement_tracking` then creates its view in a database.
    settings: more server parameters, written to the cluster's postgresql.conf (e.g. a test's
        `shared_preload_libraries=pgaudit` and `pgaudit.log`). Default: none; the local run sets none.
        What they log goes to the server log, `LocalPostgres.log_file`.
    """
    settings = dict(settings or {})
    if track_statements and "shared_preload_libraries" in settings:
        raise ValueError(
            "track_statements sets shared_preload_libraries: list pg_stat_statements in settings instead"
        )
    bin_dir = bin_dir or find_bin_dir()
    if bin_dir is None:
        raise PostgresNotInstalledError(
            "PostgreSQL is not installed: apt-get install postgresql (Debian's server; .ci/run installs it)"
        )
    drop, uid, gid = _as_server_user()
    workdir = Path(tempfile.mkdtemp(prefix="local-pg-"))
    password = "admin-" + os.urandom(12).hex()
    (workdir / "pw").write_text(password)
    pki = write_test_pki(workdir) if tls else None
    if uid is not None and gid is not None:
        for path in (workdir, *workdir.iterdir()):
            os.chown(path, uid, gid)
    data, port = workdir / "data", free_port()

    def run(*command: str) -> None:
        subprocess.run(
            command, check=True, capture_output=True, preexec_fn=drop, cwd=workdir,
            timeout=COMMAND_TIMEOUT_SECONDS + start_timeout_seconds,
        )  # fmt: skip

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", admin_user, "--auth=scram-sha-256",
            f"--pwfile={workdir / 'pw'}", "--encoding=UTF8", "--no-sync")  # fmt: skip
        if settings:
            with (data / "postgresql.conf").open("a") as conf:
                conf.writelines(f"{name} = '{_quoted(value)}'\n" for name, value in settings.items())
        options = [
            f"-c listen_addresses={HOST}",
            f"-p {port}",
            f"-c unix_socket_directories={workdir}",
            "-c fsync=off",
            "-c max_connections=200",
        ]
        if track_statements:
            options.append(f"-c shared_preload_libraries={STATEMENTS_EXTENSION}")
        if pki is not None:
            options += [
                "-c ssl=on",
                f"-c ssl_cert_file={pki.server_cert}",
                f"-c ssl_key_file={pki.server_key}",
                "-c ssl_min_protocol_version=TLSv1.2",
            ]
            # TCP only over TLS (as rds.force_ssl=1); the Unix socket inside workdir stays for pg_ctl.
            hba = f"local all all scram-sha-256\nhostssl all all {HOST}/32 scram-sha-256\n"
            (data / "pg_hba.conf").write_text(hba)
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", " ".join(options), "-l", str(workdir / "log"),
            "-w", "-t", str(start_timeout_seconds), "start")  # fmt: skip
        yield LocalPostgres(HOST, port, admin_user, password, pki.ca_cert if pki else None, workdir)
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "-t", "20", "stop"],
                capture_output=True, preexec_fn=drop, cwd=workdir, timeout=30, check=False,
            )  # fmt: skip
        shutil.rmtree(workdir, ignore_errors=True)


def provision_ledger_database(server: LocalPostgres, dbname: str, users: dict[str, str]) -> None:
    """The database, the `payments_ledger` group owning schema `ledger`, and login users in the group.

    What the rotation function's bootstrap does in AWS; idempotent. `users` maps user name -> password.
    """
    import psycopg
    from psycopg import sql

    with psycopg.connect(server.admin_conninfo(), autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (LEDGER_GROUP,)).fetchone():
            admin.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(LEDGER_GROUP)))
        for user, password in users.items():
            verb = (
                "ALTER"
                if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
                else "CREATE"
            )
            admin.execute(
                sql.SQL(verb + " ROLE {} LOGIN NOCREATEDB NOCREATEROLE PASSWORD {}").format(
                    sql.Identifier(user), sql.Literal(password)
                )
            )
            admin.execute(
                sql.SQL("GRANT {} TO {}").format(sql.Identifier(LEDGER_GROUP), sql.Identifier(user))
            )
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        admin.execute(sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(sql.Identifier(dbname)))
        admin.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(dbname), sql.Identifier(LEDGER_GROUP)
            )
        )
    with psycopg.connect(server.admin_conninfo(dbname), autocommit=True) as admin:
        admin.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        admin.execute(
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(
                sql.Identifier(LEDGER_SCHEMA), sql.Identifier(LEDGER_GROUP)
            )
        )


def enable_statement_tracking(server: LocalPostgres, dbname: str) -> None:
    """Create `pg_stat_statements` in `dbname` (the server must run with `track_statements`)."""
    import psycopg

    with psycopg.connect(server.admin_conninfo(dbname), autocommit=True) as admin:
        admin.execute(f"CREATE EXTENSION IF NOT EXISTS {STATEMENTS_EXTENSION}")
