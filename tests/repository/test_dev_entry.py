"""`python3 dev.py` and the noxfile: exit codes passed through, typos answered, signals forwarded."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_dev() -> ModuleType:
    spec = importlib.util.spec_from_file_location("payments_dev_under_test", ROOT / "dev.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dev(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "dev.py"), *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_a_typo_in_a_session_name_is_refused_with_the_closest_session_and_the_valid_ones():
    result = dev("plna")
    assert result.returncode == 2
    assert "unknown session 'plna'; did you mean 'plan'?" in result.stderr
    assert "valid: " in result.stderr
    for session in ("plan", "tests", "release", "destroy"):
        assert session in result.stderr.split("valid: ")[1]


def test_a_refusal_keeps_its_exit_code_2_through_nox_and_dev_py_and_nox_says_nothing_of_uv():
    result = dev("release", "--", "no-such-stack", "api-gateway", "v1")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "unknown stack 'no-such-stack'" in result.stdout + result.stderr
    assert "uv binary not found" not in result.stdout + result.stderr


def test_requested_sessions_stop_at_the_first_option_or_the_posargs():
    requested = load_dev().requested_sessions
    assert requested(["-s", "lint", "typecheck", "tests", "--", "-k", "x"]) == ["lint", "typecheck", "tests"]
    assert requested(["-s", "plan", "--", "--config", "a:b=c"]) == ["plan"]
    assert requested(["--list"]) == []


def test_a_sessions_own_arguments_follow_its_name_with_or_without_a_double_dash():
    split = load_dev().split_sessions
    sessions = ["plan", "lint", "typecheck", "tests", "local", "release"]
    assert split(["plan", "--suffix", "qa"], sessions) == (["plan"], ["--suffix", "qa"])
    assert split(["plan", "--", "--suffix", "qa"], sessions) == (["plan"], ["--suffix", "qa"])
    assert split(["lint", "typecheck"], sessions) == (["lint", "typecheck"], [])
    assert split(["release", "dev", "api-gateway", "v2"], sessions) == (
        ["release"],
        ["dev", "api-gateway", "v2"],
    )
    assert split(["plna"], sessions) == (["plna"], [])


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_run_forwarding_passes_the_signal_on_and_returns_after_the_child_has_exited(tmp_path, signum):
    marker = tmp_path / "stopped"
    child = (
        "import signal, sys, time, pathlib\n"
        f"def stop(n, f): pathlib.Path({str(marker)!r}).write_text(str(n)); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "signal.signal(signal.SIGHUP, stop)\n"
        f"pathlib.Path({str(tmp_path / 'ready')!r}).touch()\n"
        "time.sleep(30)\n"
    )
    runner = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('d', {str(ROOT / 'dev.py')!r})\n"
        "d = importlib.util.module_from_spec(spec); spec.loader.exec_module(d)\n"
        f"sys.exit(d.run_forwarding([sys.executable, '-c', {child!r}], cwd=d.ROOT))\n"
    )
    process = subprocess.Popen([sys.executable, "-c", runner])
    deadline = time.monotonic() + 20
    while not (tmp_path / "ready").exists():
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.05)
    os.kill(process.pid, signum)
    assert process.wait(timeout=20) == 0
    assert marker.read_text() == str(int(signum))


def test_run_forwarding_reports_a_child_killed_by_a_signal_as_128_plus_the_signal():
    code = load_dev().run_forwarding(
        [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"], cwd=ROOT
    )
    assert code == 128 + signal.SIGKILL


RELEASE = ["no-such", "api-gateway", "v1"]


def test_a_nox_installed_outside_the_project_runs_the_sessions_in_the_projects_venv(tmp_path):
    """`nox -s release` from a nox that knows nothing of the project: no 'No module named ...'."""
    outside = tmp_path / "nox-elsewhere"
    subprocess.run([sys.executable, "-m", "venv", str(outside)], check=True, timeout=120)
    pip = [str(outside / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "nox"], check=True, timeout=300)
    result = subprocess.run(
        [str(outside / "bin" / "nox"), "-f", str(ROOT / "noxfile.py"), "-s", "release", "--", *RELEASE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "unknown stack 'no-such'" in result.stdout + result.stderr
    assert "No module named" not in result.stdout + result.stderr


def test_lock_runs_without_syncing_the_environment_it_is_about_to_change(monkeypatch, capsys):
    """`uv sync --locked` refuses a lock older than pyproject.toml: `lock` must not need one first."""
    dev_module = load_dev()

    def refuse(**_: object) -> None:
        raise AssertionError("lock synced .venv first")

    ran: list[list[str]] = []
    monkeypatch.setattr(dev_module, "ensure_environment", refuse)
    monkeypatch.setattr(dev_module, "ensure_uv", lambda: Path("uv"))
    monkeypatch.setattr(dev_module, "run_forwarding", lambda command, **_: ran.append(command) or 0)
    assert dev_module.main(["lock", "--", "--upgrade-package", "moto"]) == 0
    assert ran == [[sys.executable, "-m", "tools.lock", "--upgrade-package", "moto"]]


def test_uv_requirements_pin_the_version_pyproject_requires():
    import tomllib

    required = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["required-version"]
    pinned = (ROOT / "tools" / "uv-requirements.txt").read_text()
    version = required.removeprefix("==")
    assert f"uv=={version} \\" in pinned.splitlines()
    assert pinned.count("--hash=sha256:") >= 10  # every platform's wheel, so pip can check any of them


def test_the_uv_requirements_writer_lists_every_wheel_hash_of_the_version():
    import json

    from tools.lock import uv_requirements

    index = {
        "files": [
            {"filename": "uv-1.2.3-py3-none-manylinux_2_17_x86_64.whl", "hashes": {"sha256": "b" * 64}},
            {"filename": "uv-1.2.3-py3-none-win_amd64.whl", "hashes": {"sha256": "a" * 64}},
            {"filename": "uv-1.2.3.tar.gz", "hashes": {"sha256": "c" * 64}},
            {"filename": "uv-1.2.30-py3-none-win_amd64.whl", "hashes": {"sha256": "d" * 64}},
        ]
    }
    text = uv_requirements("1.2.3", lambda _url: json.dumps(index).encode())
    assert text.splitlines()[2:] == [
        "uv==1.2.3 \\",
        f"    --hash=sha256:{'a' * 64} \\",
        f"    --hash=sha256:{'b' * 64}",
    ]
    with pytest.raises(SystemExit, match="release version"):
        uv_requirements("latest", lambda _url: b"{}")
