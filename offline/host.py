"""Run a Pulumi project the way Pulumi's Python language host runs it, in a fresh interpreter.

The Pulumi CLI starts `pulumi-language-python-exec` (pulumi/pulumi, sdk/python/cmd/) in the project's
virtualenv. That script, before it runs anything of the project:
  1. imports `pulumi` and `pulumi.runtime`, and nothing else of the environment;
  2. reads the stack's configuration from the environment (`PULUMI_CONFIG`, `PULUMI_CONFIG_SECRET_KEYS`,
     through `pulumi.runtime.get_config_env` and `get_config_secret_keys_env`) and `set_all_config`s it;
  3. changes the working directory to the project (`--pwd`; the CLI passes the project directory,
     pulumi/pulumi#3635) and sets `sys.argv = [PROGRAM]`;
  4. calls `runpy.run_path(PROGRAM, run_name="__main__")` with PROGRAM `.`, the program directory.
     `runpy.run_path` on a directory puts it first on `sys.path` (Python docs, runpy.run_path), so a
     file in a layer folder named like a standard-library module or an installed package shadows it
     for every import the program makes from then on (pulumi/pulumi-terraform-bridge#2384).

`evaluate_program` does the same in a child process forked from a server (`offline.fork_server`) that
has imported the exec script's modules, and for speed pulumi_aws's service modules and this engine
(which brings `shared.naming`, `shared.errors` and PyYAML): every other module the program brings in
(the layers, the rest of `shared`, pg8000, the standard library's `secrets`...) is imported fresh,
after the program directory is first on `sys.path`, exactly as under the CLI. What is preloaded cannot
hide a shadowing module, because `tests/offline/test_language_host.py` refuses any module in a
project folder that shares a name with the standard library or an installed distribution's top-level
package (the project's own included).

Two differences remain, neither visible to a program: the exec script runs the program on its main
thread with its own thread pool, where the engine runs it on a thread of the child; and the engine
always evaluates as `up` (`dry_run` false), never as a preview.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import json
import os
import pickle
import runpy
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from offline.mocks import OfflineMocks

# What the exec script passes as PROGRAM: the program directory, relative to the working directory.
PROGRAM = "."
# Seconds the fork server waits beyond the program's own timeout before it kills the child.
KILL_MARGIN_SECONDS = 30.0


@dataclass(frozen=True)
class ProgramRun:
    """Everything the child needs to run one program: all of it picklable."""

    directory: Path
    project: str
    stack: str
    organization: str
    config: dict[str, str]
    secret_keys: list[str]
    upstream: dict[str, Any]
    availability_zones: tuple[str, ...]
    live: dict[str, Any]
    timeout: float

    def mocks(self) -> OfflineMocks:
        return OfflineMocks(
            upstream=self.upstream, availability_zones=self.availability_zones, live=self.live
        )


class ProgramFailedError(RuntimeError):
    """The program raised an exception that could not be carried back from its process as it was."""


class _ForkServer:
    """`python -m offline.fork_server` in a child process: one per process that evaluates programs.

    multiprocessing's own fork server would not do: it re-imports the parent's `__main__` (pytest,
    planning.plan) in every child before running anything, which is the opposite of a fresh state.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None
        self.results: Path | None = None  # made with the server, so importing this module leaves nothing

    def _started(self) -> tuple[subprocess.Popen[bytes], Path]:
        if self.results is None:
            self.results = Path(tempfile.mkdtemp(prefix="offline-programs-"))
            atexit.register(self.close)
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "offline.fork_server"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                cwd=self.results,
            )
        return self.process, self.results

    def run(self, run: ProgramRun) -> tuple[str, Any]:
        """Fork a child that runs `run`; its (kind, payload) once it has exited."""
        with self.lock:
            server, results = self._started()
            assert server.stdin is not None
            assert server.stdout is not None
            result = results / f"{os.getpid()}-{next(_SEQUENCE)}.pickle"
            try:
                write_frame(server.stdin, pickle.dumps((run, str(result))))
                status = read_frame(server.stdout)
            except BaseException:
                # Interrupted between a request and its answer (Ctrl-C, a broken pipe): the next request
                # would read this one's answer, so the server goes and a new one starts next time.
                self._stop(kill=True)
                raise
            if status is None:
                self._stop(kill=True)
                raise ProgramFailedError(f"{run.project}/{run.stack}: the fork server stopped unexpectedly")
            outcome: tuple[str, Any]
            if status == b"timeout":
                outcome = ("timeout", None)
            elif result.exists():
                outcome = pickle.loads(result.read_bytes())
                result.unlink()
            else:
                outcome = ("error-text", ("ProcessExit", status.decode(), ""))
            if not hasattr(os, "fork"):
                self._stop()  # that server ran one program and is stopping (offline/fork_server.py)
            return outcome

    def _stop(self, *, kill: bool = False) -> None:
        if self.process is not None and self.process.poll() is None:
            assert self.process.stdin is not None
            if kill:
                self.process.kill()
            else:
                self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def close(self) -> None:
        self._stop()
        if self.results is not None:
            shutil.rmtree(self.results, ignore_errors=True)
            self.results = None


_SEQUENCE = itertools.count()
_SERVER = _ForkServer()
# Evaluations already made in this process, by everything that determines them, once a test session
# asks for it (`reuse_evaluations`): the suite evaluates the same layer with the same config many times,
# and each distinct evaluation still runs once as the CLI would. `plan` and the benchmark never reuse.
_EVALUATIONS: dict[str, bytes] | None = None


def reuse_evaluations() -> None:
    """From now on, serve a repeated evaluation (same inputs, same program files) from memory."""
    global _EVALUATIONS
    if _EVALUATIONS is None:
        _EVALUATIONS = {}


def _cache_key(run: ProgramRun) -> str:
    """The run's inputs and the program directory's files (a test may plant a module and run again)."""
    digest = hashlib.sha256(pickle.dumps(run))
    for path in sorted(run.directory.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            stat = path.stat()
            digest.update(f"{path}:{stat.st_mtime_ns}:{stat.st_size}".encode())
    return digest.hexdigest()


def write_frame(stream: IO[bytes], payload: bytes) -> None:
    stream.write(struct.pack(">I", len(payload)) + payload)
    stream.flush()


def read_frame(stream: IO[bytes]) -> bytes | None:
    header = stream.read(4)
    if len(header) < 4:
        return None
    (size,) = struct.unpack(">I", header)
    return stream.read(size)


def evaluate_program(run: ProgramRun) -> Any:
    """Run `run.directory` in a fresh interpreter with the language host's semantics; its Evaluation.

    The program's own exception is re-raised here as it was (same type, message and notes), with the
    child's traceback added as a note.
    """
    from offline.engine import OfflineTimeoutError

    key = _cache_key(run) if _EVALUATIONS is not None else None
    if _EVALUATIONS is not None and key in _EVALUATIONS:
        return pickle.loads(_EVALUATIONS[key])  # a copy: callers may change what they get
    kind, payload = _SERVER.run(run)
    if kind == "evaluation" and _EVALUATIONS is not None and key is not None:
        _EVALUATIONS[key] = pickle.dumps(payload)
    if kind == "evaluation":
        return payload
    if kind == "timeout":
        raise OfflineTimeoutError(
            f"{run.project}/{run.stack} did not finish within {run.timeout:.0f}s: an Output that "
            "never resolves, or an apply that blocks"
        )
    if kind == "error":
        error, child_traceback = payload
        error.add_note(f"(in the program's own process, as the Pulumi CLI runs it)\n{child_traceback}")
        raise error
    type_name, message, child_traceback = payload
    raise ProgramFailedError(f"{type_name}: {message}\n{child_traceback}")


def run_in_child(run: ProgramRun, result: Path) -> None:
    """In the forked child: the language host's steps 2-4 (module docstring), the outcome to `result`."""
    outcome: tuple[str, Any]
    failure: BaseException | None = None
    try:
        _host_environment(run)
        from pulumi.runtime import get_config_env, get_config_secret_keys_env

        from offline.engine import evaluate_in_process

        evaluation = evaluate_in_process(
            lambda: runpy.run_path(PROGRAM, run_name="__main__"),
            project=run.project,
            stack=run.stack,
            raw_config=get_config_env(),
            secret_keys=get_config_secret_keys_env(),
            mocks=run.mocks(),
            organization=run.organization,
            timeout=run.timeout,
        )
        outcome = ("evaluation", evaluation)
    except BaseException as error:  # every failure goes back to the parent
        failure = error
        outcome = ("error", (error, "".join(traceback.format_exception(error))))
    try:
        data = pickle.dumps(outcome)
        if failure is not None:
            pickle.loads(data)  # an exception whose class cannot be rebuilt from its args fails here
    except Exception:  # an exception that does not pickle still reports itself, as text
        text = "".join(traceback.format_exception(failure)) if failure else traceback.format_exc()
        data = pickle.dumps(("error-text", (type(failure).__qualname__, str(failure), text)))
    result.write_bytes(data)


def _host_environment(run: ProgramRun) -> None:
    """Working directory, argv, configuration in the environment, and sys.path as the exec script has it.

    The exec script is a file in the CLI's installation: its own folder, not the repository, is first
    on sys.path. A repository root that the parent added (pytest's rootdir, `python -m` from the root)
    is taken out, so a project module resolves only through the installed project, as under the CLI.
    """
    repository = str(Path(__file__).resolve().parents[1])
    sys.path[:] = [p for p in sys.path if p not in ("", ".", repository, os.getcwd())]
    os.chdir(run.directory)
    sys.argv = [PROGRAM]
    os.environ["PULUMI_CONFIG"] = json.dumps(run.config)
    os.environ["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(run.secret_keys)


def raw_config(project: str, config: Mapping[str, Any]) -> dict[str, str]:
    """Config as the CLI hands it to the host: `project:key` names, non-strings as JSON text."""
    return {
        (key if ":" in key else f"{project}:{key}"): (value if isinstance(value, str) else json.dumps(value))
        for key, value in config.items()
    }
