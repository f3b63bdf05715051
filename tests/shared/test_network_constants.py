"""`ANYWHERE`, `HTTP_PORT` and `HTTPS_PORT` live in `shared.network_constants` only: no layer defines
its own copy or writes the value out."""

from __future__ import annotations

import ast
from pathlib import Path

from shared.network_constants import ANYWHERE, HTTP_PORT, HTTPS_PORT
from tests.helpers import parse_python

ROOT = Path(__file__).resolve().parents[2]
CONSTANTS = {"ANYWHERE", "HTTP_PORT", "HTTPS_PORT", "HTTPS"}


def _layer_sources() -> list[Path]:
    return sorted((ROOT / "stacks").rglob("*.py"))


def test_the_constants_are_what_aws_expects() -> None:
    assert (ANYWHERE, HTTP_PORT, HTTPS_PORT) == ("0.0.0.0/0", 80, 443)


def test_no_layer_defines_its_own_copy_of_a_shared_network_constant() -> None:
    copies = []
    for path in _layer_sources():
        for node in ast.walk(parse_python(path)):
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign):
                targets = [node.target]
            copies += [
                f"{path.relative_to(ROOT)}:{node.lineno} {t.id}"
                for t in targets
                if isinstance(t, ast.Name) and t.id in CONSTANTS
            ]
    assert not copies, f"import these from shared.network_constants instead: {copies}"


def test_no_layer_writes_the_anywhere_block_out() -> None:
    literal = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in _layer_sources()
        for node in ast.walk(parse_python(path))
        if isinstance(node, ast.Constant) and node.value == ANYWHERE
    ]
    assert not literal, f"use shared.network_constants.ANYWHERE: {literal}"
