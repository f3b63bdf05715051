"""Small queries over an offline `Evaluation`, shared by the layer tests."""

from __future__ import annotations

import ast
import gc
import json
from pathlib import Path
from typing import Any

from offline.engine import Evaluation, RecordedResource
from offline.schema import is_taggable

__all__ = ["is_taggable"]


def parse_python(path: Path) -> ast.Module:
    """`ast.parse` of a source file, with the cyclic garbage collector held off meanwhile.

    On CPython 3.11 a collection during `ast.parse` can finalize an asyncio future an earlier test left
    behind; its "exception was never retrieved" log formats a traceback, and 3.11's `traceback` calls
    `ast.parse` itself (to place its carets). The nested parse resets the AST constructor's depth
    counter, and the outer one fails with "SystemError: AST constructor recursion depth mismatch"
    (seen once in this suite, with exactly those logs captured; python/cpython#106905).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(path.read_text(), str(path))
    finally:
        if enabled:
            gc.enable()


def policy(document: str) -> dict[str, Any]:
    """A rendered IAM/KMS policy, parsed."""
    return dict(json.loads(document))


def statements(document: str) -> list[dict[str, Any]]:
    return list(policy(document)["Statement"])


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def children_of(evaluation: Evaluation, resource: RecordedResource) -> list[RecordedResource]:
    return evaluation.all(parent=resource.urn)


def ancestors(evaluation: Evaluation, resource: RecordedResource) -> list[RecordedResource]:
    chain = []
    current = resource
    while current.parent:
        try:
            current = evaluation.by_urn(current.parent)
        except LookupError:
            break
        chain.append(current)
    return chain


NAME_INPUTS = ("name", "bucket", "family", "functionName")


def physical_names(resource: RecordedResource) -> list[str]:
    """The names AWS would see: explicit name inputs and the Name tag."""
    names = [resource.inputs[k] for k in NAME_INPUTS if isinstance(resource.inputs.get(k), str)]
    tag_name = (resource.inputs.get("tags") or {}).get("Name")
    return names + ([tag_name] if tag_name else [])


def actions_of(statement: dict[str, Any]) -> list[str]:
    return as_list(statement.get("Action", []))


def resources_of(statement: dict[str, Any]) -> list[str]:
    return as_list(statement.get("Resource", []))
