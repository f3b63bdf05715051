"""Project tasks. Every session runs in the project's `.venv` (see dev.py), never a fresh virtualenv:
pulumi-aws is large, and the Pulumi CLI itself expects that one virtualenv (stacks/*/Pulumi.yaml).

    nox -s lint typecheck tests     # what CI runs
    nox -s plan                     # offline plan of every layer
    nox -s up -- dev                # a real deployment (Pulumi CLI, AWS credentials): see deploy/cli.py

Any nox works, the project's or one installed elsewhere: the sessions run the project's `.venv`
interpreter and create `.venv` first when it is missing (the same set-up as `python3 dev.py`).
A command session ends with its command's own exit code (0 done, 1 failed, 2 refused, 3 timed out),
which `python3 dev.py` passes on.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from types import ModuleType

import nox
import nox.logger

ROOT = Path(__file__).resolve().parent

nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.error_on_missing_interpreters = True
# nox probes for uv on every run and says so; the sessions never create virtualenvs, so the line is noise.
nox.logger.logger.addFilter(lambda record: "uv binary not found" not in record.getMessage())

SOURCES = [
    "shared",
    "offline",
    "planning",
    "stacks",
    "functions",
    "apps",
    "localrun",
    "policy",
    "release",
    "deploy",
    "tools",
    "tests",
    "noxfile.py",
    "dev.py",
]


@functools.cache
def dev_module() -> ModuleType:
    """dev.py, loaded by path: its set-up and process handling serve nox too."""
    spec = importlib.util.spec_from_file_location("payments_dev", ROOT / "dev.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {ROOT / 'dev.py'}; run: python3 dev.py tests")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def project_python() -> str:
    """The `.venv` interpreter, created (or brought up to date) by dev.py's own code when needed."""
    dev = dev_module()
    dev.ensure_environment()
    return str(dev.venv_python())


def run_command(session: nox.Session, *args: str) -> None:
    """Run a user-facing command; end nox with its exit code, so 2 (refused) and 3 stay 2 and 3.

    SIGTERM, SIGINT and SIGHUP are passed on to the command, which is waited for.
    """
    command = [project_python(), *args]
    session.log(" ".join(command))
    code = dev_module().run_forwarding(command, cwd=ROOT)
    if code != 0:
        raise SystemExit(code)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.run(project_python(), "-m", "ruff", "check", *SOURCES)
    session.run(project_python(), "-m", "ruff", "format", "--check", *SOURCES)


@nox.session
def fmt(session: nox.Session) -> None:
    """Apply ruff's fixes and formatting."""
    session.run(project_python(), "-m", "ruff", "check", "--fix", *SOURCES)
    session.run(project_python(), "-m", "ruff", "format", *SOURCES)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the project's packages (config in pyproject.toml)."""
    session.run(project_python(), "-m", "mypy")


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite on every core; extra arguments go to pytest (nox -s tests -- -k naming).

    pytest-xdist runs one worker per core unless the arguments choose (`-n 0` runs serially).
    """
    dev_module().ensure_environment(scanners=True)  # tests/security runs checkov from .venv/scanners
    chosen = any(arg.startswith(("-n", "--numprocesses")) for arg in session.posargs)
    parallel = [] if chosen else ["-n", "auto"]
    session.run(project_python(), "-m", "pytest", *parallel, *session.posargs)


@nox.session
def plan(session: nox.Session) -> None:
    """Evaluate every layer offline with its example stack and print what it would create."""
    run_command(session, "-m", "planning.plan", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Regenerate the committed generated files: config blocks and tables, the picture, docs/openapi.json."""
    run_command(session, "-m", "planning.docs", *session.posargs)
    # The OpenAPI document comes from apps/, which planning may not import (tests/repository/test_layout.py).
    run_command(session, "-m", "apps.api_gateway.openapi", *session.posargs)


@nox.session
def benchmark(session: nox.Session) -> None:
    """Seconds per layer evaluation, the whole plan and the test suite, next to `import pulumi_aws`."""
    run_command(session, "-m", "planning.benchmark", *session.posargs)


@nox.session
def local(session: nox.Session) -> None:
    """PostgreSQL, an emulated Secrets Manager and the three services on localhost (Ctrl-C stops)."""
    run_command(session, "-m", "localrun.local", *session.posargs)


@nox.session
def rotation_under_load(session: nox.Session) -> None:
    """Rotate the database secret twice while payments flow: failures, duplicates, p50/p99."""
    run_command(session, "-m", "localrun.rotation_under_load", *session.posargs)


@nox.session
def loadtest(session: nox.Session) -> None:
    """POST /payments through the three services next to bare chains; exits 1 below the ledger target."""
    run_command(session, "-m", "localrun.loadtest", *session.posargs)


@nox.session
def instructions(session: nox.Session) -> None:
    """Instructions per payment in each service beside the ledger chain's hop (valgrind's callgrind)."""
    run_command(session, "-m", "localrun.instruction_counts", *session.posargs)


@nox.session
def release(session: nox.Session) -> None:
    """Release an image through CodeDeploy blue/green: `-- <stack> <service> <image> [--no-wait]`."""
    run_command(session, "-m", "release.cli", *session.posargs)


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
        run_command(session, "-m", "deploy.cli", command, *session.posargs)

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
        project_python(),
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
