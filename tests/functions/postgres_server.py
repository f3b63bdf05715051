"""The rotation tests' PostgreSQL: `localrun.local_postgres` without TLS (pg8000: sslmode off)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from localrun.local_postgres import LocalPostgres, find_bin_dir, running_postgres

ADMIN = "rotation_test_admin"
Server = LocalPostgres

__all__ = ["ADMIN", "Server", "find_bin_dir", "running_server"]


@contextmanager
def running_server(bin_dir: Path) -> Iterator[Server]:
    with running_postgres(bin_dir, tls=False, admin_user=ADMIN) as server:
        yield server
