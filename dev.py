#!/usr/bin/env python3
"""Set up the project and run a nox session: the only command a newcomer needs.

    python3 dev.py plan     # the offline plan of all layers (no AWS account, no Pulumi CLI)
    python3 dev.py tests    # lint, type check and the test suite
    python3 dev.py plan --suffix qa   # a session's own arguments follow its name ("--" optional)
    python3 dev.py -- -s up -- dev    # any nox arguments after "--"

It creates `.venv` (the virtualenv every `stacks/*/Pulumi.yaml` names) on first use and reinstalls the
project whenever pyproject.toml changes. Needs only Python 3.11+. The exit code is the command's own
(0 ok, 1 failed, 2 refused, 3 timed out); an unknown session name is refused (2) with the valid ones.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import signal
import subprocess
import sys
import venv
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".installed-pyproject-sha256"
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
    STAMP.write_text(wanted)


def run_forwarding(command: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> int:
    """Run `command`, pass SIGTERM/SIGINT/SIGHUP on to it, and return only once it has exited.

    A signal that kills the child comes back as 128 + its number, as a shell would report it.
    """
    child = subprocess.Popen(command, cwd=cwd, env=env)

    def forward(signum: int, _frame: FrameType | None) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    forwarded = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    previous = {signum: signal.signal(signum, forward) for signum in forwarded}
    try:
        code = child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - code if code < 0 else code


def nox_command(*args: str) -> list[str]:
    return [str(venv_python()), "-m", "nox", "--no-venv", "-f", str(ROOT / "noxfile.py"), *args]


def known_sessions() -> list[str]:
    """Every session the noxfile defines (nox's JSON listing holds only the default ones)."""
    listing = subprocess.run(nox_command("--list"), cwd=ROOT, capture_output=True, text=True)
    if listing.returncode != 0:
        return []
    found = (re.match(r"^[*-] (\S+)", line) for line in listing.stdout.splitlines())
    return sorted({match.group(1) for match in found if match})


def split_sessions(argv: list[str], sessions: list[str]) -> tuple[list[str], list[str]]:
    """`plan --suffix qa` -> (["plan"], ["--suffix", "qa"]); `lint typecheck` -> two sessions.

    The first word is always a session (a typo is refused by name); later words are sessions only
    while they name one; the rest, after an optional `--`, is the command's own arguments.
    """
    names = [argv[0]]
    rest = argv[1:]
    while rest and not rest[0].startswith("-") and rest[0] in [*sessions, *SHORTCUTS]:
        names.append(rest.pop(0))
    if rest[:1] == ["--"]:
        rest = rest[1:]
    return names, rest


def unknown_sessions(requested: list[str], sessions: list[str] | None = None) -> str | None:
    """A one-paragraph refusal for session names nox does not know, with the closest valid ones."""
    sessions = sorted({*(known_sessions() if sessions is None else sessions), *SHORTCUTS})
    if not sessions:
        return None
    unknown = [name for name in requested if name not in sessions]
    if not unknown:
        return None
    lines = []
    for name in unknown:
        close = difflib.get_close_matches(name, sessions, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        lines.append(f"unknown session {name!r}{hint}")
    lines.append("valid: " + ", ".join(sessions))
    return "\n".join(lines)


def requested_sessions(nox_args: list[str]) -> list[str]:
    """The session names after -s/--session, up to the first option or `--`."""
    names: list[str] = []
    collecting = False
    for arg in nox_args:
        if arg == "--":
            break
        if arg in ("-s", "--session", "--sessions"):
            collecting = True
        elif arg.startswith("-"):
            collecting = False
        elif collecting:
            names.append(arg)
    return names


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    ensure_environment()
    if argv[0] == "--":
        nox_args = argv[1:]
        refusal = unknown_sessions(requested_sessions(nox_args))
    else:
        sessions = known_sessions()
        names, posargs = split_sessions(argv, sessions)
        refusal = unknown_sessions(names, sessions)
        expanded = [part for name in names for part in SHORTCUTS.get(name, ["-s", name])[1:]]
        nox_args = ["-s", *expanded, *(["--", *posargs] if posargs else [])]
    if refusal is not None:
        print(refusal, file=sys.stderr)
        return 2
    env = {**os.environ, "PATH": f"{venv_python().parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return run_forwarding(nox_command(*nox_args), cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
