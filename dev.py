#!/usr/bin/env python3
"""Set up the project and run a nox session: the only command a newcomer needs.

    python3 dev.py plan     # the offline plan of all layers (no AWS account, no Pulumi CLI)
    python3 dev.py tests    # lint, type check and the test suite
    python3 dev.py plan --suffix qa   # a session's own arguments follow its name ("--" optional)
    python3 dev.py -- -s up -- dev    # any nox arguments after "--"

It installs exactly what uv.lock says: uv itself (pinned, hash-checked, by pip), then `.venv` (the
virtualenv every `stacks/*/Pulumi.yaml` names: the project, editable, and its dev group) and, for the
tests, the scanners' `.venv/scanners`; each again only when a lock input changes. `python3 dev.py lock`
refreshes the lock on purpose. Needs only Python 3.11+. The exit code is the command's own
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
# checkov pins dependencies that would downgrade the project's: it gets a virtualenv of its own,
# installed only for the commands that run it.
SCANNERS_VENV = VENV / "scanners"
# uv itself, installed by pip from a hash-checked requirements file (tools/uv-requirements.txt).
UV_HOME = ROOT / ".uv"
UV_REQUIREMENTS = ROOT / "tools" / "uv-requirements.txt"
# Each environment is synced again only when one of these files changes (a no-op sync costs ~0.1 s).
LOCK_INPUTS = ("uv.lock", "pyproject.toml", "tools/scanners/pyproject.toml", "tools/uv-requirements.txt")
SHORTCUTS = {
    "plan": ["-s", "plan"],
    "tests": ["-s", "lint", "typecheck", "tests"],
}
# Commands run straight in .venv, without nox (the same module the nox session of that name runs).
DIRECT = {"plan": ["-m", "planning.plan"]}
# Sessions that run the third-party scanners (tests/security): only these install .venv/scanners.
NEEDS_SCANNERS = frozenset({"tests"})


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def uv_binary() -> Path:
    return UV_HOME / "bin" / ("uv.exe" if os.name == "nt" else "uv")


def uv_environment(project_environment: Path) -> dict[str, str]:
    """uv's settings for a sync into `project_environment`, whatever the user's own uv settings say."""
    return {
        **os.environ,
        "UV_PROJECT_ENVIRONMENT": str(project_environment),
        # The scanners are a workspace member in conflict with the project (pyproject.toml [tool.uv]).
        "UV_PREVIEW_FEATURES": "package-conflicts",
        "UV_PYTHON": sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
        # Bytecode now, as pip does at install: with PYTHONDONTWRITEBYTECODE set (as on CI machines) every
        # later process would otherwise compile pulumi_aws's sources again, seconds per command.
        "UV_COMPILE_BYTECODE": "1",
    }


def lock_digest(*extra: str) -> str:
    digest = hashlib.sha256()
    for name in (*LOCK_INPUTS, *extra):
        path = ROOT / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b"") + b"\0")
    return digest.hexdigest()


def ensure_uv() -> Path:
    """uv at the version tools/uv-requirements.txt pins, installed by pip with its hashes checked."""
    stamp = UV_HOME / ".requirements-sha256"
    wanted = hashlib.sha256(UV_REQUIREMENTS.read_bytes()).hexdigest()
    if uv_binary().exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return uv_binary()
    print(f"installing uv into {UV_HOME} (tools/uv-requirements.txt, hashes checked)", flush=True)
    command = ["-m", "pip", "install", "--disable-pip-version-check", "--root-user-action=ignore", "-q"]
    command += ["--require-hashes"]
    command += ["--no-deps", "--only-binary", ":all:", "--upgrade", "--target", str(UV_HOME)]
    command += ["--requirement", str(UV_REQUIREMENTS)]
    if subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode != 0:
        # No pip beside this python (Debian's python3 without python3-pip): a throwaway one, which needs
        # ensurepip (Debian ships it in python3-venv). `--target` is exempt from PEP 668's refusal.
        bootstrap = UV_HOME.with_name(".uv-bootstrap")
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(bootstrap)
        except (subprocess.CalledProcessError, OSError) as error:
            sys.exit(
                f"{sys.executable} has neither pip nor a working ensurepip ({error}). Install one, e.g. on "
                "Debian or Ubuntu: apt-get install python3-pip (or python3-venv), then run this again."
            )
        python = bootstrap / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        subprocess.run([str(python), *command], check=True)
    else:
        subprocess.run([sys.executable, *command], check=True)
    stamp.write_text(wanted)
    return uv_binary()


def sync(environment: Path, *uv_args: str) -> None:
    """`uv sync --locked` into `environment` when the lock inputs changed since its last sync.

    --locked refuses (instead of rewriting uv.lock) when pyproject.toml and uv.lock disagree: the
    lock changes on purpose, with `python3 dev.py lock`, never as a side effect of an install.
    """
    stamp = environment / ".uv-lock-sha256"
    wanted = lock_digest()
    if stamp.exists() and stamp.read_text().strip() == wanted:
        return
    uv = ensure_uv()
    print(f"installing {environment.relative_to(ROOT)} from uv.lock", flush=True)
    command = [str(uv), "sync", "--locked", "--quiet", "--project", str(ROOT), *uv_args]
    result = subprocess.run(command, cwd=ROOT, env=uv_environment(environment))
    if result.returncode != 0:
        sys.exit(
            f"`uv sync` into {environment} failed (exit {result.returncode}). If uv.lock is out of date "
            "with pyproject.toml, run `python3 dev.py lock` and commit uv.lock."
        )
    stamp.write_text(wanted)


def ensure_environment(*, scanners: bool = False) -> None:
    """.venv from uv.lock (the project, editable, and its dev group); .venv/scanners when asked."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs on whatever python3 the user has
        sys.exit(f"Python 3.11+ is required, this is {sys.version.split()[0]}")
    sync(VENV, "--package", "payments-platform")
    if scanners:
        sync(SCANNERS_VENV, "--package", "payments-scanners", "--no-default-groups")


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


def direct_command(argv: list[str]) -> list[str] | None:
    """`plan [--args]` runs its module straight in .venv: nox's start-up and listing add ~1 s to it."""
    if argv[0] not in DIRECT or (len(argv) > 1 and not argv[1].startswith("-")):
        return None
    rest = argv[1:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    return [str(venv_python()), *DIRECT[argv[0]], *rest]


def usage() -> str:
    """The module docstring, then every session the noxfile defines with its one-line description."""
    listing = subprocess.run(nox_command("--list"), cwd=ROOT, capture_output=True, text=True)
    sessions = [line[2:] for line in listing.stdout.splitlines() if re.match(r"^[*-] \S", line)]
    sessions.append("lock -> Re-resolve uv.lock (`-- --upgrade`, `-- --uv VERSION`); needs no .venv.")
    return __doc__ + "\nSessions (python3 dev.py NAME [-- ARGS]):\n" + "\n".join(f"  {s}" for s in sessions)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        if not argv:
            print(__doc__)
            return 2
        ensure_environment()
        print(usage())
        return 0
    if argv[0] == "lock":
        # Changing the lock must not first require a lock that matches pyproject.toml (`sync --locked`):
        # tools/lock.py needs only the standard library and uv.
        ensure_uv()
        rest = argv[1:][1:] if argv[1:2] == ["--"] else argv[1:]
        return run_forwarding([sys.executable, "-m", "tools.lock", *rest], cwd=ROOT)
    requested = requested_sessions(argv[1:]) if argv[0] == "--" else argv[:1]
    ensure_environment(scanners=any(name in NEEDS_SCANNERS for name in requested))
    env = {**os.environ, "PATH": f"{venv_python().parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    direct = direct_command(argv)
    if direct is not None:
        return run_forwarding(direct, cwd=ROOT, env=env)
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
    return run_forwarding(nox_command(*nox_args), cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
