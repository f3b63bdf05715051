"""`python3 dev.py benchmark`: how long `plan`, the layers and the test suite take (a report, not a test).

    python3 dev.py benchmark                  # print the figures
    python3 dev.py benchmark -- --write       # and write them, with commit and date, into docs/benchmarks.md
    python3 dev.py benchmark -- --tests       # also time `python3 dev.py tests` (lint, types, suite)

Every figure comes from fresh processes, so imports are counted as a person running the command pays
them, and beside it the floor measured in the same run:
- a bare `import pulumi_aws` in a new interpreter;
- the floor of any Pulumi program under the SDK's mocks: 260 chained resources after that import;
- each layer evaluated as the Pulumi CLI runs it (`offline/host.py`), median of `--repeat`, and the fork
  server's start (what the first evaluation of a process pays);
- the whole `python3 dev.py plan`, median of `--repeat` (warm `.venv`, no reused evaluation);
- with `--tests`, `python3 dev.py tests` once.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from offline.layer_projects import REPO_ROOT

BENCHMARKS = REPO_ROOT / "docs" / "benchmarks.md"
START, END = "<!-- plan-benchmark:start -->", "<!-- plan-benchmark:end -->"
FLOOR_RESOURCES = 260

_FLOOR_PROBE = """
import json, sys, time
t = time.perf_counter()
import pulumi, pulumi_aws as aws
imported = time.perf_counter() - t
from offline.engine import evaluate
def program():
    previous = None
    for index in range(int(sys.argv[1])):
        previous = aws.sqs.Queue(f"queue-{index}", name=f"queue-{index}",
                                 tags={"after": previous.arn if previous else "none"})
t = time.perf_counter()
evaluate(program, project="floor")
print(json.dumps({"import": imported, "evaluate": time.perf_counter() - t}))
"""

_LAYER_PROBE = """
import json, statistics, sys, time
from offline import host
from offline.layer_projects import Layer, evaluate_layer
from planning.plan import available_layers
repeat = int(sys.argv[1])
t = time.perf_counter()
upstream, runs = {}, {}
first = None
for name in available_layers():
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = evaluate_layer(name, upstream=dict(upstream))
        times.append(time.perf_counter() - t0)
        if first is None:
            first = time.perf_counter() - t
    runs[name] = statistics.median(times)
    upstream[Layer(name).stack_name("dev")] = result.exports
print(json.dumps({"first": first, "layers": runs}))
"""


def _python(code: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def measure(repeat: int, tests: bool) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    imports = [_wall([sys.executable, "-c", "import pulumi_aws"]) for _ in range(repeat)]
    figures["import pulumi_aws (new interpreter)"] = statistics.median(imports)
    floor = _python(_FLOOR_PROBE, str(FLOOR_RESOURCES))
    figures["floor: import pulumi and pulumi_aws"] = floor["import"]
    figures[f"floor: {FLOOR_RESOURCES} chained resources under mocks"] = floor["evaluate"]
    layers = _python(_LAYER_PROBE, str(repeat))
    figures["fork server start and first layer"] = layers["first"]
    for name, seconds in layers["layers"].items():
        figures[f"evaluate {name} in its own process (median of {repeat})"] = seconds
    plans = [_wall([sys.executable, str(REPO_ROOT / "dev.py"), "plan"]) for _ in range(repeat)]
    figures[f"`python3 dev.py plan`, whole command (median of {repeat})"] = statistics.median(plans)
    if tests:
        figures["`python3 dev.py tests` (lint, mypy, suite on 2 workers)"] = _wall(
            [sys.executable, str(REPO_ROOT / "dev.py"), "tests"]
        )
    return figures


def provenance() -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO_ROOT, capture_output=True, text=True)
    state = " plus uncommitted changes" if dirty.stdout.strip() else ""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    return f"commit `{commit}`{state}, {today}, {os.cpu_count()} cores, load average {load:.1f} at the start"


def table(figures: dict[str, Any], measured: str) -> str:
    rows = "\n".join(f"| {name} | {seconds:.2f} |" for name, seconds in figures.items())
    heading = f"Measured at {measured} (`python3 dev.py benchmark -- --write`):"
    return f"{heading}\n\n| measure | seconds |\n|---|---|\n{rows}\n"


def write(block: str, path: Path = BENCHMARKS) -> None:
    text = path.read_text()
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{path} has no {START} ... {END} block to replace")
    path.write_text(pattern.sub(lambda _: f"{START}\n{block}{END}", text))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="runs per median (default 5)")
    parser.add_argument("--tests", action="store_true", help="also time `python3 dev.py tests`")
    parser.add_argument("--write", action="store_true", help="write the table into docs/benchmarks.md")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        print("--repeat must be at least 1", file=sys.stderr)
        return 2
    measured = provenance()
    block = table(measure(args.repeat, args.tests), measured)
    print(block)
    if args.write:
        write(block)
        print(f"written to {BENCHMARKS.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
