"""The fork server of `offline.host`: imports what the language host has imported, then forks per program.

Started by `offline.host` as `python -m offline.fork_server`. It reads framed requests (a pickled
`ProgramRun` and a result path) on stdin, forks a child per request that runs the program and writes
its outcome to the result path, and answers each request on stdout with the child's status once the
child has exited (or `timeout` after killing it). It ends when stdin closes. Output of the programs goes
to stderr, so that nothing a program prints can corrupt the answers.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import time
from pathlib import Path

from offline import host_preload  # noqa: F401 - imported once here, shared by every forked child
from offline.host import KILL_MARGIN_SECONDS, ProgramRun, read_frame, run_in_child, write_frame


def serve(requests: int, answers: int) -> None:
    with os.fdopen(requests, "rb") as incoming, os.fdopen(answers, "wb") as outgoing:
        while (frame := read_frame(incoming)) is not None:
            run, result = pickle.loads(frame)
            write_frame(outgoing, _fork_and_wait(run, Path(result)))
            if not hasattr(os, "fork"):
                return


def _fork_and_wait(run: ProgramRun, result: Path) -> bytes:
    if not hasattr(os, "fork"):
        # Windows: no fork. This server runs the one program itself, then exits; the client starts a
        # fresh one for the next, so every program still gets a fresh interpreter (slower, same result).
        run_in_child(run, result)
        sys.stdout.flush()
        return b"exit 0 (no fork: the server ran it and stops)"
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked child, which never returns
        code = 0
        try:
            run_in_child(run, result)
        except BaseException:
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    deadline = time.monotonic() + run.timeout + KILL_MARGIN_SECONDS
    while True:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid == child:
            return f"exit {os.waitstatus_to_exitcode(status)}".encode()
        if time.monotonic() > deadline:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            return b"timeout"
        time.sleep(0.005)


def main() -> None:
    # Answers go on a private copy of stdout; fd 1 then points at stderr for everything else.
    answers = os.dup(1)
    os.dup2(2, 1)
    serve(os.dup(0), answers)
    # Nothing to clean up, and tearing down pulumi_aws's thousands of modules takes a second or more
    # that the client would wait for at its own exit.
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
