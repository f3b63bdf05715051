"""`dev.py local` and `payments-local`: signals stop every service; a port in use is refused."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from localrun.local import (
    HIGHEST_BASE_PORT,
    ROTATE_SIGNAL,
    STOP_SIGNALS,
    LocalStack,
    default_ports,
    free_port,
    main,
)

ROOT = Path(__file__).resolve().parents[2]


def base_port() -> int:
    """A base port whose three ports are free (a free port's neighbours usually are)."""
    for _ in range(20):
        base = free_port()
        if base + 2 < 65536 and all(_free(base + n) for n in range(3)):
            return base
    raise AssertionError("no three free consecutive ports")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def released(port: int, seconds: float = 3.0) -> bool:
    """Free within a few seconds: a loaded machine may close a listener just after its process is
    reaped; a service left running holds its port far longer and still fails."""
    deadline = time.monotonic() + seconds
    while not _free(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def start(command: list[str], base: int) -> subprocess.Popen[str]:
    runner = subprocess.Popen(
        [*command, "--base-port", str(base)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    assert runner.stdout is not None
    deadline = time.monotonic() + 30
    for line in runner.stdout:
        if line.startswith("api-gateway: "):
            assert line.split()[1] == f"http://127.0.0.1:{base}"
            return runner
        assert time.monotonic() < deadline
    raise AssertionError(f"the runner exited with {runner.wait()} before printing the gateway URL")


RUNNER = [sys.executable, "-m", "localrun.local"]
DEV_LOCAL = [sys.executable, str(ROOT / "dev.py"), "local"]


@pytest.mark.parametrize(
    ("command", "signum", "whole_group"),
    [
        pytest.param(RUNNER, signal.SIGINT, True, id="ctrl-c-to-the-terminal-group"),
        pytest.param(DEV_LOCAL, signal.SIGTERM, False, id="sigterm-to-dev.py-local"),
    ],
)
def test_a_stop_signal_stops_every_service_before_the_runner_exits_zero(command, signum, whole_group):
    base = base_port()
    runner = start(command, base)
    assert answers(base)
    if whole_group:
        os.killpg(runner.pid, signum)  # what Ctrl-C sends: the whole foreground group
    else:
        runner.send_signal(signum)
    rest, _ = runner.communicate(timeout=40)
    assert runner.returncode == 0, rest
    assert "stopping..." in rest
    for port in default_ports(base).values():
        assert released(port), f"port {port} is still taken after the runner exited"


def test_a_port_in_use_is_refused_with_exit_2_naming_base_port():
    base = base_port()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", base + 1))
        squatter.listen()
        done = subprocess.run(
            [*RUNNER, "--base-port", str(base)], cwd=ROOT, capture_output=True, text=True, timeout=30
        )
    assert done.returncode == 2
    assert "--base-port" in done.stderr
    assert str(base + 1) in done.stderr
    assert "api-gateway: " not in done.stdout  # no banner: nothing was started
    assert not answers(base)


@pytest.mark.parametrize("value", ["0", "65535", "65534", "65536", "1023", "-1", "8080.5", "eighty"])
def test_a_base_port_that_leaves_no_room_for_the_services_is_refused_with_exit_2_before_anything(
    value, monkeypatch, capsys
):
    started: list[str] = []
    monkeypatch.setattr("localrun.local_platform.running_platform", lambda: started.append("platform"))
    with pytest.raises(SystemExit) as refused:
        main(["--base-port", value])
    assert refused.value.code == 2
    message = capsys.readouterr().err
    assert f"--base-port: must be a whole number from 1024 to {HIGHEST_BASE_PORT}" in message
    assert "payment-processor and fraud-detector take the next 2" in message
    assert value in message
    assert started == []  # neither PostgreSQL nor moto was started


def test_the_highest_base_port_leaves_exactly_room_for_the_three_services():
    assert HIGHEST_BASE_PORT == 65533
    assert max(default_ports(HIGHEST_BASE_PORT).values()) == 65535


def test_the_runner_refuses_base_port_65535_with_a_message_not_a_traceback():
    done = subprocess.run(
        [*RUNNER, "--base-port", "65535"], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "--base-port: must be a whole number from 1024 to 65533" in done.stderr


def test_the_stack_refuses_ports_in_use_before_starting_anything():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        stack = LocalStack(
            {"api-gateway": taken, "payment-processor": free_port(), "fraud-detector": free_port()}
        )
        with pytest.raises(RuntimeError, match="--base-port"):
            stack.start()
    assert stack.processes == {}


def test_without_postgresql_the_runner_refuses_with_exit_2_and_the_install_command(monkeypatch, capsys):
    monkeypatch.setattr("localrun.local_postgres.find_bin_dir", lambda: None)
    handlers = {signum: signal.getsignal(signum) for signum in (*STOP_SIGNALS, ROTATE_SIGNAL)}
    try:
        code = main(["--base-port", str(base_port())])
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    assert code == 2
    assert "apt-get install postgresql" in capsys.readouterr().err


def test_sigusr1_rotates_the_database_secret_and_sighup_then_stops_everything():
    base = base_port()
    runner = start(RUNNER, base)
    assert runner.stdout is not None
    runner.send_signal(ROTATE_SIGNAL)
    deadline = time.monotonic() + 30
    database: list[str] = []
    for line in runner.stdout:
        if line.startswith("PostgreSQL: "):  # PostgreSQL: 127.0.0.1:<port>, TLS only, CA <dir>/ca.crt
            database = [line.split()[1].rstrip(","), line.split()[-1]]
        if line.startswith("rotated the database connection secret"):
            assert line.split()[-1] == "payments_app_clone"  # alternating users: the clone is next
            break
        assert time.monotonic() < deadline
    assert answers(base)
    runner.send_signal(signal.SIGHUP)
    rest, _ = runner.communicate(timeout=40)
    assert runner.returncode == 0, rest
    assert "stopping..." in rest
    for port in default_ports(base).values():
        assert released(port), f"port {port} is still taken after the runner exited"
    address, ca_file = database
    assert _free(int(address.rsplit(":", 1)[1])), "PostgreSQL still listens after the runner exited"
    assert not Path(ca_file).parent.exists(), "the run's temporary directory was left behind"
