"""Why a rotation step stops."""

from __future__ import annotations


class RotationError(RuntimeError):
    """The rotation cannot go on; Secrets Manager marks it failed and AWSCURRENT stays as it was."""


class ManualRotationError(RotationError):
    """The strategy may not make a value itself (a key only an operator can issue)."""
