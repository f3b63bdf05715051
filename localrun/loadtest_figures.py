"""The load benchmark's figures in the docs: written with the commit they measured, checked for age.

`python3 dev.py loadtest -- --write-docs` (`localrun.loadtest`) replaces the block between the
`BEGIN`/`END` markers in each of `DOCUMENTS` with the run's figures, the commit measured (HEAD,
whose measured files must have no uncommitted change) and the date. `stale_figures()` says which
documents carry figures older than the code they measure: a file of `MEASURED_PATHS` (the payment
path and the benchmark itself) changed in a commit after the recorded one. A test runs it, so code
that changes the payment path fails the suite until the figures are measured again.
"""

from __future__ import annotations

import datetime
import math
import re
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ("docs/benchmarks.md", "apps/README.md")
BEGIN = "<!-- loadtest figures: written by `python3 dev.py loadtest -- --write-docs`; do not edit -->"
END = "<!-- loadtest figures: end -->"
# What the figures measure: the three services, their shared code, the local platform they run on,
# and the benchmark with its baselines. A commit touching any of these makes the figures stale.
MEASURED_PATHS = (
    "apps/common/*.py",
    "apps/api_gateway/*.py",
    "apps/payment_processor/*.py",
    "apps/payment_processor/migrations/*.sql",
    "apps/fraud_detector/*.py",
    "localrun/bench_chain.py",
    "localrun/loadtest.py",
    "localrun/local_backing.py",
    "localrun/local_postgres.py",
)
_RECORDED = re.compile(r"at commit `([0-9a-f]{7,40})`")


@dataclass(frozen=True)
class Row:
    """One contender's line: medians over the rounds (and the throughput's range)."""

    name: str
    throughput: float
    throughput_low: float
    throughput_high: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float  # the contender's own processes per payment, the database's excluded
    database_cpu_ms: float | None  # PostgreSQL's per payment; None without a database
    statements: float | None  # PostgreSQL statements per payment; None without a database
    failed: int


@dataclass(frozen=True)
class Figures:
    """The rows, and the verdict: the services against `baseline`, round by round.

    Each round runs the services and the baseline back to back, so both meet the same machine; the
    verdict takes each round's ratio (services over baseline, throughput and p99) and then the
    median of those ratios (`localrun.loadtest`). Throughput on a shared 2-core machine drifts by a
    third between rounds; a ratio of the two contenders' medians mixes rounds that met different
    machines, a ratio within a round does not.
    """

    rows: tuple[Row, ...]
    baseline: str  # the row the target is measured against
    throughput_ratios: tuple[float, ...]  # per round: services' payments/s over the baseline's
    p99_ratios: tuple[float, ...]  # per round: services' p99 over the baseline's
    target_throughput: float
    target_p99: float
    statements: dict[str, dict[str, float]]  # contender -> statement -> calls per payment
    cpu_by_process: dict[str, dict[str, float]] = field(default_factory=dict)  # contender -> process -> ms
    failed: int = 0  # payments the services or the baseline did not answer with a 2xx: any misses the target

    @property
    def throughput_ratio(self) -> float:
        return statistics.median(self.throughput_ratios) if self.throughput_ratios else 0.0

    @property
    def p99_ratio(self) -> float:
        return statistics.median(self.p99_ratios) if self.p99_ratios else math.inf

    @property
    def met(self) -> bool:
        return (
            self.throughput_ratio >= self.target_throughput
            and self.p99_ratio <= self.target_p99
            and self.failed == 0
        )

    def verdict(self) -> str:
        if not self.throughput_ratios:
            return "not measured: target missed"
        low, high = min(self.throughput_ratios), max(self.throughput_ratios)
        p99_low, p99_high = min(self.p99_ratios), max(self.p99_ratios)
        return (
            f"throughput {self.throughput_ratio:.0%} of the {self.baseline}'s ({low:.0%}-{high:.0%}; "
            f"target >= {self.target_throughput:.0%}), p99 {self.p99_ratio:.2f}x ({p99_low:.2f}-"
            f"{p99_high:.2f}x; target <= {self.target_p99:.1f}x), medians of "
            f"{len(self.throughput_ratios)} rounds' ratios"
            + (f"; {self.failed} payments failed" if self.failed else "")
            + f": target {'met' if self.met else 'missed'}"
        )


def git(*args: str, root: Path = ROOT) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True, timeout=30
    ).stdout.rstrip("\n")  # not strip(): a porcelain line may begin with a space


def uncommitted_measured_files(root: Path = ROOT) -> list[str]:
    """Measured files that differ from HEAD (staged, unstaged or untracked)."""
    listed = git("status", "--porcelain", "--", *MEASURED_PATHS, root=root)
    return [line[3:] for line in listed.splitlines() if line.strip()]


def benchmarks_block(figures: Figures, conditions: str, commit: str, date: str) -> str:
    def number(value: float | None, digits: int) -> str:
        return "-" if value is None else f"{value:,.{digits}f}"

    lines = [
        f"Measured at commit `{commit}` on {date} (UTC); {conditions}.",
        "",
        "| contender | payments/s | p50 ms | p99 ms | CPU ms per payment | PostgreSQL CPU ms | statements |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in figures.rows:
        name = f"**{row.name}**" if row.name == "services" else row.name
        lines.append(
            f"| {name} | {row.throughput:,.0f} ({row.throughput_low:,.0f}-{row.throughput_high:,.0f}) | "
            f"{row.p50_ms:.1f} | {row.p99_ms:.1f} | {row.cpu_ms:.2f} | {number(row.database_cpu_ms, 2)} | "
            f"{number(row.statements, 1)} |"
        )
    lines += ["", f"**Services against the {figures.baseline}: {figures.verdict()}.**", ""]
    if figures.cpu_by_process:
        lines += ["CPU ms per payment, by process:", ""]
        for name, processes in figures.cpu_by_process.items():
            listed = ", ".join(f"{process} {ms:.2f}" for process, ms in processes.items())
            lines.append(f"- {name}: {listed}")
        lines.append("")
    names = list(figures.statements)
    if names:
        lines += [
            "PostgreSQL statements per payment (`pg_stat_statements`, the app's login user):",
            "",
            "| statement | " + " | ".join(names) + " |",
            "|---|" + "---|" * len(names),
        ]
        every = sorted({text for calls in figures.statements.values() for text in calls})
        for text in every:
            shown = text if len(text) <= 70 else text[:67] + "..."
            counts = " | ".join(f"{figures.statements[name].get(text, 0.0):.2f}" for name in names)
            lines.append(f"| `{shown}` | {counts} |")
    return "\n".join(lines)


def readme_block(figures: Figures, commit: str, date: str) -> str:
    services = next(row for row in figures.rows if row.name == "services")
    return (
        f"Measured at commit `{commit}` on {date} (UTC): the services make {services.throughput:,.0f} "
        f"payments/s at p99 {services.p99_ms:.0f} ms; {figures.verdict()} "
        "([docs/benchmarks.md](../docs/benchmarks.md#reference-services-python3-devpy-loadtest))."
    )


def replace_block(text: str, block: str, document: str) -> str:
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{document} has no loadtest figures block ({BEGIN} ... {END})")
    return text[: start + len(BEGIN)] + "\n" + block + "\n" + text[end:]


def write(figures: Figures, conditions: str, root: Path = ROOT) -> str:
    """Write the figures into every document; returns the commit recorded (HEAD, abbreviated)."""
    commit = git("rev-parse", "--short=12", "HEAD", root=root)
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    blocks = {
        "docs/benchmarks.md": benchmarks_block(figures, conditions, commit, date),
        "apps/README.md": readme_block(figures, commit, date),
    }
    for document in DOCUMENTS:
        path = root / document
        path.write_text(replace_block(path.read_text(), blocks[document], document))
    return commit


def recorded_commit(text: str) -> str | None:
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        return None
    found = _RECORDED.search(text[start:end])
    return found.group(1) if found else None


def stale_figures(root: Path = ROOT) -> list[str]:
    """Why each document's figures are older than the code they measure (empty: all current)."""
    problems = []
    for document in DOCUMENTS:
        commit = recorded_commit((root / document).read_text())
        if commit is None:
            problems.append(f"{document} has no loadtest figures block with `at commit `<sha>``")
            continue
        try:
            git("cat-file", "-e", f"{commit}^{{commit}}", root=root)
        except subprocess.CalledProcessError:
            problems.append(f"{document} records commit {commit}, which this repository does not have")
            continue
        later = git("log", "--format=%h %s", f"{commit}..HEAD", "--", *MEASURED_PATHS, root=root)
        if later:
            changed = "; ".join(line[:80] for line in later.splitlines()[:5])
            problems.append(
                f"{document}: its figures were measured at {commit}, and the measured code changed since "
                f"({changed}): run `python3 dev.py loadtest -- --write-docs` and commit the result"
            )
    return problems
