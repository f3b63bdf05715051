"""A throwaway PostgreSQL server for the rotation tests: initdb in a temp dir, loopback only.

Uses the Debian `postgresql` package's binaries (.ci/run installs it). PostgreSQL refuses to run as
root, so under root the server runs as the package's `postgres` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
ADMIN = "rotation_test_admin"


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    admin_password: str


def find_bin_dir() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _as_server_user() -> tuple[Callable[[], None] | None, int | None, int | None]:
    if os.geteuid() != 0:
        return None, None, None
    user = pwd.getpwnam("postgres")

    def drop() -> None:
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)

    return drop, user.pw_uid, user.pw_gid


@contextmanager
def running_server(bin_dir: Path) -> Iterator[Server]:
    drop, uid, gid = _as_server_user()
    workdir = Path(tempfile.mkdtemp(prefix="rotation-pg-"))
    password = "admin-" + os.urandom(8).hex()
    (workdir / "pw").write_text(password)
    if uid is not None and gid is not None:
        for path in (workdir, workdir / "pw"):
            os.chown(path, uid, gid)
    data, port = workdir / "data", _free_port()

    def run(*command: str) -> None:
        subprocess.run(command, check=True, capture_output=True, preexec_fn=drop, cwd=workdir)

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", ADMIN, "--auth=scram-sha-256",
            f"--pwfile={workdir / 'pw'}", "--encoding=UTF8", "--no-sync")  # fmt: skip
        options = f"-c listen_addresses={HOST} -p {port} -c unix_socket_directories={workdir} -c fsync=off"
        run(
            str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(workdir / "log"), "-w", "start"
        )
        yield Server(HOST, port, password)
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                preexec_fn=drop,
                cwd=workdir,
            )
        shutil.rmtree(workdir, ignore_errors=True)
