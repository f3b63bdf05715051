"""`payments-local` prints the gateway URL and stops all three services on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from apps.local import free_port


def test_ctrl_c_stops_every_service_and_exits_zero():
    base = free_port()
    runner = subprocess.Popen(
        [sys.executable, "-m", "apps.local", "--base-port", str(base)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    assert runner.stdout is not None
    deadline = time.monotonic() + 30
    for line in runner.stdout:
        if line.startswith("api-gateway: "):
            assert line.split()[1] == f"http://127.0.0.1:{base}"
            break
        assert time.monotonic() < deadline
    with urllib.request.urlopen(f"http://127.0.0.1:{base}/health", timeout=5) as answer:
        assert answer.status == 200
    os.killpg(runner.pid, signal.SIGINT)  # what Ctrl-C sends: the whole foreground group
    rest, _ = runner.communicate(timeout=30)
    assert runner.returncode == 0
    assert "stopping..." in rest
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{base}/health", timeout=2)
    except OSError:
        pass  # nothing listens any more
    else:
        raise AssertionError("api-gateway still answers after Ctrl-C")
