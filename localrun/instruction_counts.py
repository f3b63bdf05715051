"""Instructions per payment in each service, beside the ledger chain's hop in its place (callgrind).

`python3 dev.py instructions` (`nox -s instructions`) runs each of the six processes in turn under
valgrind's callgrind (https://valgrind.org/docs/manual/cl-manual.html), the others as usual:
api-gateway, payment-processor and fraud-detector as `python3 dev.py local` runs them, and hops 1,
2 and 3 of the load benchmark's ledger chain (`localrun.loadtest`). It sends `--warmup` payments,
zeroes the process's counters (`vgdb --pid=N zero`), sends `--payments` more, one at a time,
dumps the counters (`vgdb --pid=N dump`) and divides the instructions the process executed in user
space since the zero (the dump's `summary:` line) by the payments answered. vgdb, not
`callgrind_control`: the latter exits 0 when it finds no such process, and a zero that silently did
not happen would count startup too.

Why beside the throughput benchmark: on a shared 2-core machine payments/s moves by a third from
one round to the next, and instruction counts do not (the same count twice within 0.2 %, one payment
in flight; with several in flight, the event loop's batching moves it by 10 %). So this is the figure
to compare two versions of the services' code with. It leaves out what callgrind cannot see: the
kernel's work (system calls, loopback TCP) and the cost of a cache miss.

Exit codes: 0 measured, 1 a payment failed or a count could not be read, 2 refused (valgrind is not
installed: `sudo apt-get install valgrind`).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import uvloop

from localrun import loadtest
from localrun.loadtest import Contender
from shared.catalogue import CATALOGUE

# Under callgrind a service imports its modules about fifty times slower than it does natively.
START_TIMEOUT_SECONDS = 600.0
CONTROL_TIMEOUT_SECONDS = 120.0
# Each service, and the chain hop that stands where it stands (the chain's hop 1 is called first).
PLACES = tuple(zip((spec.name for spec in CATALOGUE), ("hop 1", "hop 2", "hop 3"), strict=True))

Wrapped = Callable[[Mapping[str, tuple[str, ...]]], AbstractContextManager[Contender]]


class CountUnreadableError(RuntimeError):
    """callgrind's dump did not say how many instructions ran."""


@dataclass(frozen=True)
class Count:
    process: str
    instructions: int
    payments: int

    @property
    def per_payment(self) -> float:
        return self.instructions / self.payments


def callgrind_command(out_file: Path) -> tuple[str, ...]:
    """valgrind in front of a process: instructions counted per function, not per instruction."""
    return ("valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}", "--dump-instr=no")


def total_instructions(dump: str) -> int:
    """The `summary:` line of a callgrind dump: the instructions (Ir) since the counters were zeroed.

    Not `totals:` at the dump's end, which can also carry cost from before the zero (valgrind's
    callgrind format: https://valgrind.org/docs/manual/cl-format.html).
    """
    for line in dump.splitlines():
        if line.startswith("summary:"):
            fields = line.split()
            if len(fields) == 2 and fields[1].isdigit():
                return int(fields[1])
    raise CountUnreadableError("the callgrind dump has no summary: line")


def control(command: str, pid: int) -> None:
    """A callgrind monitor command (`zero`, `dump`) to the process; vgdb exits 1 when it cannot."""
    try:
        subprocess.run(
            ["vgdb", f"--pid={pid}", command],
            check=True,
            capture_output=True,
            text=True,
            timeout=CONTROL_TIMEOUT_SECONDS,
        )
    except subprocess.CalledProcessError as failed:
        raise CountUnreadableError(f"vgdb {command} to {pid} failed: {failed.stderr.strip()}") from None


def count(start: Wrapped, process: str, payments: int, warmup: int, workdir: Path) -> Count:
    """Run `process` of the contender `start` makes under callgrind and count one payment's instructions."""
    out_file = workdir / f"callgrind.{process.replace(' ', '-')}"
    with start({process: callgrind_command(out_file)}) as contender:
        pid = contender.pids[process]
        uvloop.run(loadtest.drive(contender.url, warmup, 1))
        control("zero", pid)
        _latencies, ok, failed, _seconds = uvloop.run(loadtest.drive(contender.url, payments, 1))
        control("dump", pid)
        if failed or not ok:
            raise CountUnreadableError(f"{process}: {failed} of {payments} payments failed")
        # The first dump on request is written as <out-file>.1 (the one at exit as <out-file>).
        dump = out_file.with_name(f"{out_file.name}.1")
        if not dump.exists():
            raise CountUnreadableError(f"{process}: callgrind wrote no {dump.name} into {workdir}")
        return Count(process, total_instructions(dump.read_text()), ok)


def starters() -> Iterator[tuple[str, Wrapped, str, Wrapped]]:
    def services(wrappers: Mapping[str, tuple[str, ...]]) -> AbstractContextManager[Contender]:
        return loadtest.services(wrappers, START_TIMEOUT_SECONDS)

    def chain(wrappers: Mapping[str, tuple[str, ...]]) -> AbstractContextManager[Contender]:
        return loadtest.ledger_chain(wrappers, START_TIMEOUT_SECONDS)

    for service, hop in PLACES:
        yield service, services, hop, chain


def table(counts: Mapping[str, Count]) -> str:
    lines = [
        f"{'service':<18} {'k instr.':>9}   {'ledger chain':<12} {'k instr.':>9}   ratio",
    ]
    for service, hop in PLACES:
        ours, theirs = counts[service].per_payment, counts[hop].per_payment
        lines.append(
            f"{service:<18} {ours / 1000:>9,.0f}   {hop:<12} {theirs / 1000:>9,.0f}   {ours / theirs:5.2f}x"
        )
    ours = sum(counts[service].per_payment for service, _ in PLACES)
    theirs = sum(counts[hop].per_payment for _, hop in PLACES)
    both = "all three"
    lines.append(
        f"{both:<18} {ours / 1000:>9,.0f}   {both:<12} {theirs / 1000:>9,.0f}   {ours / theirs:5.2f}x"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=300, help="counted, one at a time (default 300)")
    parser.add_argument("--warmup", type=int, default=100, help="sent before counting (default 100)")
    args = parser.parse_args(argv)
    if args.payments < 1 or args.warmup < 0:
        print("error: --payments must be at least 1 and --warmup at least 0", file=sys.stderr)
        return 2
    missing = [tool for tool in ("valgrind", "vgdb") if shutil.which(tool) is None]
    if missing:
        print(
            f"error: {' and '.join(missing)} not found: install valgrind "
            "(Debian: sudo apt-get install valgrind)",
            file=sys.stderr,
        )
        return 2
    counts: dict[str, Count] = {}
    with tempfile.TemporaryDirectory(prefix="instructions-") as workdir:
        try:
            for service, services, hop, chain in starters():
                for process, start in ((service, services), (hop, chain)):
                    counts[process] = count(start, process, args.payments, args.warmup, Path(workdir))
                    print(
                        f"{process}: {counts[process].per_payment / 1000:,.0f}k instructions per payment",
                        flush=True,
                    )
        except (RuntimeError, TimeoutError, subprocess.SubprocessError) as failed:  # a count, a start
            print(f"error: {failed}", file=sys.stderr)
            return 1
    print(
        f"\nuser-space instructions per payment (callgrind), {args.payments} payments one at a time after "
        f"{args.warmup}:\n{table(counts)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
