#!/usr/bin/env python3
"""Set up the project and run a nox session: the only command a newcomer needs.

    python3 dev.py plan     # the offline plan of all layers (no AWS account, no Pulumi CLI)
    python3 dev.py tests    # lint, type check and the test suite
    python3 dev.py -- -s up -- dev    # any nox arguments after "--"

It creates `.venv` (the virtualenv every `stacks/*/Pulumi.yaml` names) on first use and reinstalls the
project whenever pyproject.toml changes. Needs only Python 3.11+.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".installed-pyproject-sha256"
# checkov pins dependencies that would downgrade the project's: it gets a virtualenv of its own.
SCANNERS_VENV = VENV / "scanners"
SHORTCUTS = {
    "plan": ["-s", "plan"],
    "tests": ["-s", "lint", "typecheck", "tests"],
}


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_environment() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs on whatever python3 the user has
        sys.exit(f"Python 3.11+ is required, this is {sys.version.split()[0]}")
    if not venv_python().exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    print("installing the project and its dev tools into .venv", flush=True)
    pip = [str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    install_scanners()
    STAMP.write_text(wanted)


def install_scanners() -> None:
    """The `scanners` extra of pyproject.toml, alone in .venv/scanners (not the project itself)."""
    import tomllib

    wanted = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"][
        "scanners"
    ]
    if not (SCANNERS_VENV / "bin").exists() and not (SCANNERS_VENV / "Scripts").exists():
        venv.EnvBuilder(with_pip=True).create(SCANNERS_VENV)
    python = SCANNERS_VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, *wanted], check=True)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    ensure_environment()
    if argv[0] == "--":
        nox_args = argv[1:]
    elif argv[0] in SHORTCUTS:
        nox_args = [*SHORTCUTS[argv[0]], *argv[1:]]
    else:
        nox_args = ["-s", *argv]
    env = {**os.environ, "PATH": f"{venv_python().parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [
        str(venv_python()),
        "-m",
        "nox",
        "--no-venv",
        "-f",
        str(ROOT / "noxfile.py"),
        *nox_args,
    ]
    return subprocess.run(command, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
