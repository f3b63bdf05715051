"""`nox -s benchmark`: how long the offline engine and the test suite take (a report, not a test).

    python -m planning.benchmark [--repeat 5] [--no-tests]

Reports, each measured in a fresh interpreter so imports are counted honestly:
- a bare `import pulumi_aws` (the floor every evaluation pays once),
- each layer's first evaluation (imports included) and its warm median over `--repeat` runs,
- the whole plan (all layers in deploy order), then its compliance rules and its cost estimate,
- the full test suite (`pytest -q`), wall clock.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from offline.layers import REPO_ROOT
from policy.rules import RULES

_LAYER_PROBE = """
import json, statistics, sys, time
started = time.perf_counter()
from offline.layers import evaluate_all, evaluate_layer
from planning.plan import available_layers
layers = available_layers()
first = {}
upstream = {}
for name in layers:
    t = time.perf_counter()
    result = evaluate_layer(name, upstream=dict(upstream))
    first[name] = time.perf_counter() - t
    from offline.layers import Layer
    upstream[Layer(name).stack_name("dev")] = result.exports
warm = {}
for name in layers:
    runs = []
    for _ in range(int(sys.argv[1])):
        t = time.perf_counter()
        evaluate_layer(name, upstream=dict(upstream))
        runs.append(time.perf_counter() - t)
    warm[name] = statistics.median(runs)
t = time.perf_counter()
results = evaluate_all(layers=layers)
plan = time.perf_counter() - t
from planning.plan import cost_report, policy_report
t = time.perf_counter()
for name, evaluation in results.items():
    policy_report(evaluation, "dev")
policy = time.perf_counter() - t
t = time.perf_counter()
cost_report(results)
cost = time.perf_counter() - t
print(json.dumps({"first": first, "warm": warm, "plan": plan, "policy": policy, "cost": cost,
                  "total": time.perf_counter() - started}))
"""


def _python(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout


def measure_import() -> float:
    started = time.perf_counter()
    _python("import pulumi_aws")
    return time.perf_counter() - started


def measure_layers(repeat: int) -> dict[str, Any]:
    return dict(json.loads(_python(_LAYER_PROBE, str(repeat))))


def measure_tests() -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=REPO_ROOT, check=True
    )
    return time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="warm evaluations per layer")
    parser.add_argument("--no-tests", action="store_true", help="skip timing the test suite")
    args = parser.parse_args(argv)

    bare_import = measure_import()
    layers = measure_layers(args.repeat)
    tests = None if args.no_tests else measure_tests()

    print(f"\n{'measure':<44}{'seconds':>10}")
    print(f"{'python -c import pulumi_aws (cold process)':<44}{bare_import:>10.3f}")
    first: dict[str, float] = layers["first"]
    warm: dict[str, float] = layers["warm"]
    for name in first:
        print(f"{'evaluate ' + name + ' (first, with imports)':<44}{first[name]:>10.3f}")
        print(f"{'evaluate ' + name + f' (warm, median of {args.repeat})':<44}{warm[name]:>10.3f}")
    print(f"{'plan: all layers in order (warm)':<44}{layers['plan']:>10.3f}")
    print(f"{f'plan: {len(RULES)} compliance rules, all layers':<44}{layers['policy']:>10.3f}")
    print(f"{'plan: cost estimate from the price table':<44}{layers['cost']:>10.3f}")
    if tests is not None:
        print(f"{'test suite (pytest -q, wall clock)':<44}{tests:>10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
