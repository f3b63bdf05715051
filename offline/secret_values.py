"""Secret values as the engine records them: wrapped, so a report can hide them and a test can see them.

Inputs that hold a Pulumi secret reach the monitor as `{<sig key>: <secret sig>, "value": ...}`.
"""

from __future__ import annotations

from typing import Any

from pulumi.runtime import rpc

REDACTED = "[secret]"


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def reveal(value: Any) -> Any:
    """The plain value inside a secret wrapper (tests only: never print it)."""
    return value["value"] if is_secret(value) else value


def redact(value: Any) -> Any:
    """`value` with every secret replaced by "[secret]", at any depth."""
    if is_secret(value):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value
