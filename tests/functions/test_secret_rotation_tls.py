"""The rotation function's TLS to PostgreSQL: verify-full against a CA file, the RDS bundle in its archive."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from functions.packaging import function_archive
from functions.secret_rotation import postgres
from localrun.local_postgres import running_postgres
from shared.certs import RDS_CA_BUNDLE
from stacks.platform.secret_rotation import FUNCTION_DATA_FILES, FUNCTION_DEPENDENCIES, FUNCTION_PACKAGE
from tests.functions.postgres_server import ADMIN, Server, find_bin_dir


@pytest.fixture(scope="module")
def tls_server() -> Iterator[Server]:
    """The local PostgreSQL with ssl=on, TCP only over TLS, and a CA made for the run."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql); .ci/run installs it")
    with running_postgres(bin_dir, tls=True, admin_user=ADMIN) as server:
        yield server


def admin(server: Server) -> postgres.Connection:
    return {"host": server.host, "port": server.port, "username": server.admin_user,
            "password": server.admin_password, "dbname": "postgres"}  # fmt: skip


def test_verify_full_with_the_servers_ca_logs_in_over_tls(tls_server, monkeypatch):
    monkeypatch.setenv("DATABASE_TLS", "verify-full")
    monkeypatch.setenv("DATABASE_CA_BUNDLE", str(tls_server.ca_file))
    with postgres.session(admin(tls_server)) as opened:
        [[encrypted]] = opened.run("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    assert encrypted is True


def test_verify_full_is_the_default_and_refuses_a_server_the_rds_cas_did_not_sign(tls_server, monkeypatch):
    monkeypatch.delenv("DATABASE_TLS", raising=False)
    monkeypatch.setenv("DATABASE_CA_BUNDLE", str(RDS_CA_BUNDLE))
    with pytest.raises(ssl.SSLCertVerificationError):
        postgres.connect(admin(tls_server))
    assert postgres.check_login(admin(tls_server)) is False


def test_require_encrypts_without_verifying(tls_server, monkeypatch):
    monkeypatch.setenv("DATABASE_TLS", "require")
    monkeypatch.setenv("DATABASE_CA_BUNDLE", str(RDS_CA_BUNDLE))  # ignored: nothing is verified
    assert postgres.check_login(admin(tls_server)) is True


def test_a_missing_ca_bundle_is_a_clear_error_not_a_failed_login(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_TLS", "verify-full")
    monkeypatch.setenv("DATABASE_CA_BUNDLE", str(tmp_path / "absent.pem"))
    with pytest.raises(ValueError, match=r"DATABASE_CA_BUNDLE is .*absent\.pem.*not a readable file"):
        postgres.connect({"host": "127.0.0.1", "port": 1, "username": "u", "password": "p", "dbname": "d"})


def test_the_archive_carries_the_rds_bundle_where_the_function_looks_by_default():
    assets = function_archive(FUNCTION_PACKAGE, FUNCTION_DEPENDENCIES, FUNCTION_DATA_FILES).assets
    packaged = postgres.PACKAGED_CA_BUNDLE.relative_to(Path(postgres.__file__).parents[1]).as_posix()
    assert packaged == "secret_rotation/rds-ca-bundle.pem"
    assert Path(assets[packaged].path).read_bytes() == RDS_CA_BUNDLE.read_bytes()


def test_the_unpacked_function_verifies_against_the_packaged_bundle_without_any_setting(tls_server, tmp_path):
    """Like Lambda: only the archive on the path and no DATABASE_CA_BUNDLE; the run's CA is not in the
    RDS bundle, so the packaged bundle is what refuses the local server (not a missing file)."""
    assets = function_archive(FUNCTION_PACKAGE, FUNCTION_DEPENDENCIES, FUNCTION_DATA_FILES).assets
    for relative, asset in assets.items():
        target = tmp_path / "task" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(Path(asset.path).read_bytes())
    probe = textwrap.dedent(
        f"""
        import json, os, ssl, sys
        sys.path[:] = [{str(tmp_path / "task")!r}, *[p for p in sys.path if "site-packages" not in p]]
        os.environ.pop("DATABASE_CA_BUNDLE", None)
        os.environ["DATABASE_TLS"] = "verify-full"
        from secret_rotation import postgres
        assert str(postgres.PACKAGED_CA_BUNDLE).startswith({str(tmp_path / "task")!r})
        try:
            postgres.connect(json.loads({json.dumps(json.dumps(admin(tls_server)))}))
        except ssl.SSLCertVerificationError as error:
            print("refused:", error.verify_message)
        """
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("refused:"), result.stdout


def test_the_archive_refuses_a_data_file_that_is_missing_or_shadows_a_module(tmp_path):
    with pytest.raises(ValueError, match="must be an existing file"):
        function_archive(FUNCTION_PACKAGE, (), {"secret_rotation/ca.pem": tmp_path / "absent.pem"})
    with pytest.raises(ValueError, match="no module takes"):
        function_archive(FUNCTION_PACKAGE, (), {"secret_rotation/handler.py": RDS_CA_BUNDLE})
