"""Project tasks. Every session runs in the project's `.venv` (see dev.py), never a fresh virtualenv:
pulumi-aws is large, and the Pulumi CLI itself expects that one virtualenv (stacks/*/Pulumi.yaml).

    nox -s lint typecheck tests     # what CI runs
    nox -s plan                     # offline plan of every layer
    nox -s up -- dev                # a real deployment (Pulumi CLI, AWS credentials): see deploy/cli.py
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
    "deploy",
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
    """POST /payments through all three services next to bare forwarding chains: payments/s, p50/p99."""
    session.run(PYTHON, "-m", "apps.loadtest", *session.posargs)


@nox.session
def release(session: nox.Session) -> None:
    """Release an image through CodeDeploy blue/green: `-- <stack> <service> <image> [--no-wait]`."""
    session.run(PYTHON, "-m", "release.cli", *session.posargs)


# Real deployments through the Automation API; `-- <stack> [--layer L]` after the session name.
DEPLOY_COMMANDS = {
    "init": "Create the stacks of every layer: config from Pulumi.dev.yaml, credentials as secrets.",
    "preview": "Preview every layer in deploy order (or --layer L): what `up` would change.",
    "up": "Deploy network -> platform -> services (or --layer L, once its upstream stacks exist).",
    "destroy": "Tear down services -> platform -> network (--yes; --layer L refuses a layer still in use).",
    "outputs": "Print each layer's outputs, secrets hidden (--json for a machine-readable map).",
}


def _deploy_session(command: str, description: str) -> None:
    def run(session: nox.Session) -> None:
        session.run(PYTHON, "-m", "deploy.cli", command, *session.posargs)

    run.__doc__ = description
    nox.session(name=command)(run)


for _command, _description in DEPLOY_COMMANDS.items():
    _deploy_session(_command, _description)


@nox.session
def integration(session: nox.Session) -> None:
    """Deploy all layers to a real AWS account under a throwaway suffix, check them, destroy them.

    Opt-in: runs only with PAYMENTS_INTEGRATION=1, AWS credentials, the Pulumi CLI and Docker.
    """
    session.run(
        PYTHON,
        "-m",
        "pytest",
        "-m",
        "integration",
        "-rs",
        "-p",
        "no:xdist",
        *session.posargs,
        "tests/integration",
    )
