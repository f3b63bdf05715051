"""Project tasks. Every session runs in the project's `.venv` (see dev.py), never a fresh virtualenv:
pulumi-aws is large, and the Pulumi CLI itself expects that one virtualenv (stacks/*/Pulumi.yaml).

    nox -s lint typecheck tests     # what CI runs
    nox -s plan                     # offline plan of every layer
"""

from __future__ import annotations

import sys

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.error_on_missing_interpreters = True

PYTHON = sys.executable  # the interpreter nox runs on: the project's .venv
SOURCES = [
    "shared",
    "offline",
    "stacks",
    "functions",
    "apps",
    "policy",
    "release",
    "tests",
    "noxfile.py",
    "dev.py",
]


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.run(PYTHON, "-m", "ruff", "check", *SOURCES)
    session.run(PYTHON, "-m", "ruff", "format", "--check", *SOURCES)


@nox.session
def fmt(session: nox.Session) -> None:
    """Apply ruff's fixes and formatting."""
    session.run(PYTHON, "-m", "ruff", "check", "--fix", *SOURCES)
    session.run(PYTHON, "-m", "ruff", "format", *SOURCES)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the project's packages (config in pyproject.toml)."""
    session.run(PYTHON, "-m", "mypy")


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite; extra arguments go to pytest (nox -s tests -- -k naming)."""
    session.run(PYTHON, "-m", "pytest", *session.posargs)


@nox.session
def plan(session: nox.Session) -> None:
    """Evaluate every layer offline with its example stack and print what it would create."""
    session.run(PYTHON, "-m", "offline.plan", *session.posargs)


@nox.session
def benchmark(session: nox.Session) -> None:
    """Seconds per layer evaluation, the whole plan and the test suite, next to `import pulumi_aws`."""
    session.run(PYTHON, "-m", "offline.benchmark", *session.posargs)


@nox.session
def local(session: nox.Session) -> None:
    """Run the three services on localhost with the task definitions' env contract (Ctrl-C stops)."""
    session.run(PYTHON, "-m", "apps.local", *session.posargs)


@nox.session
def loadtest(session: nox.Session) -> None:
    """Throughput and p50/p99 latency of POST /payments through all three services on loopback."""
    session.run(PYTHON, "-m", "apps.loadtest", *session.posargs)


@nox.session
def release(session: nox.Session) -> None:
    """Release an image through CodeDeploy blue/green: `-- <stack> <service> <image> [--no-wait]`."""
    session.run(PYTHON, "-m", "release.cli", *session.posargs)
