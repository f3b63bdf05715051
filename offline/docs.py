"""`nox -s docs`: write every generated file the repository commits.

    python -m offline.docs [--check]

- the `config:` block of each `stacks/<layer>/Pulumi.yaml` and the config table of each
  `stacks/<layer>/README.md`, from `shared/config/keys.py`;
- `docs/architecture.svg`, from the example plan.

With `--check` nothing is written: the files that differ are listed and the exit code is 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from offline import diagram
from shared.config.render import TABLE_BEGIN, TABLE_END, markdown_table, replace_between, with_config_block
from shared.layers import LAYERS

REPO_ROOT = Path(__file__).resolve().parents[1]


def generated_files() -> dict[Path, str]:
    """Every generated file's path and the text it should hold."""
    files: dict[Path, str] = {}
    for layer in LAYERS:
        project_file = REPO_ROOT / "stacks" / layer / "Pulumi.yaml"
        files[project_file] = with_config_block(project_file.read_text(), layer)
        readme = REPO_ROOT / "stacks" / layer / "README.md"
        files[readme] = replace_between(readme.read_text(), TABLE_BEGIN, TABLE_END, markdown_table(layer))
    files[diagram.COMMITTED_COPY] = diagram.svg_of(diagram.example_report())
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--check", action="store_true", help="list stale files instead of writing them")
    args = parser.parse_args(argv)
    stale = [path for path, text in generated_files().items() if path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(REPO_ROOT)} (run `python3 dev.py docs`)")
        return 1 if stale else 0
    for path, text in generated_files().items():
        path.write_text(text)
    print(f"{len(stale)} generated file(s) updated" if stale else "every generated file was current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
