"""The report of a pipeline's preview or up: the layer's result, its summary, and the output's tail.

    python -m deploy.pipelines.report --layer network --stack prod --exit-code 0 preview.log > report.md

A pull request gets the preview's as a comment; every run shows its own as the job's summary.

The first line is a marker, so the pipeline updates its own comment on each push instead of adding one.
GitHub refuses a comment body over 65,536 characters (REST API, "Create an issue comment": `body` is
limited to 65536 characters), so the output is cut from the top and the report says how many lines went.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

# Below GitHub's 65,536 characters, with room for the heading and the fences.
LIMIT = 60_000
OUTCOMES = {0: "succeeded", 1: "failed", 2: "refused before it changed anything", 3: "timed out"}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def marker(layer: str, stack: str, operation: str = "preview") -> str:
    return f"<!-- payments-pipeline {operation} {layer} {stack} -->"


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in the text, so the output cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _summary(lines: list[str]) -> list[str]:
    """The deploy command's closing summary (from its `summary:` line), or nothing."""
    starts = [index for index, line in enumerate(lines) if line.startswith("summary: ")]
    return lines[starts[-1] :] if starts else []


def _tail(lines: list[str], budget: int) -> tuple[list[str], int]:
    """The last lines that fit in `budget` characters, and how many were left out."""
    kept: list[str] = []
    used = 0
    for line in reversed(lines):
        used += len(line) + 1
        if used > budget:
            break
        kept.append(line)
    kept.reverse()
    return kept, len(lines) - len(kept)


def build(
    layer: str, stack: str, exit_code: int, output: str, *, operation: str = "preview", limit: int = LIMIT
) -> str:
    lines = _ANSI.sub("", output).splitlines()
    outcome = OUTCOMES.get(exit_code, "failed")
    summary = _summary(lines)
    head = [
        marker(layer, stack, operation),
        f"### `{layer}` {operation} of stack `{stack}`: {outcome} (exit {exit_code})",
        "",
    ]
    if operation in ("preview", "up"):
        head += [f"With the policy pack (`policy/`): a mandatory rule's violation fails the {operation}.", ""]
    if summary:
        fence = _fence("\n".join(summary))
        head += [fence, *summary, fence, ""]
    budget = limit - sum(len(line) + 1 for line in head) - 200
    if budget < 0:
        raise ValueError(f"the report's summary alone is over {limit} characters")
    tail, dropped = _tail(lines, budget)
    fence = _fence("\n".join(tail))
    title = "The whole output" if not dropped else f"The output's last {len(tail)} lines ({dropped} cut)"
    body = [
        *head,
        "<details>",
        f"<summary>{title}</summary>",
        "",
        fence,
        *tail,
        fence,
        "</details>",
    ]
    return "\n".join(body) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.pipelines.report", description=__doc__)
    parser.add_argument("log", type=Path, help="the command's output")
    parser.add_argument("--operation", default="preview", choices=("preview", "up", "destroy"))
    parser.add_argument("--layer", required=True)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--exit-code", required=True, type=int)
    args = parser.parse_args(argv)
    output = args.log.read_text(errors="replace") if args.log.exists() else "(no output was written)"
    sys.stdout.write(build(args.layer, args.stack, args.exit_code, output, operation=args.operation))
    return 0


if __name__ == "__main__":
    sys.exit(main())
