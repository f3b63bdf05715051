from __future__ import annotations

import pytest

from offline.engine import Evaluation, RecordedResource
from shared.catalogue import CATALOGUE, ServiceSpec
from tests.helpers import ancestors

# Both stacks with their suffix: parametrize a test over (fixture name, suffix).
STACKS = [("services", "dev"), ("services_alt", "qa-7")]
SPECS = [pytest.param(spec, id=spec.name) for spec in CATALOGUE]


def owned_by(evaluation: Evaluation, spec: ServiceSpec, type_: str) -> list[RecordedResource]:
    """Resources of `type_` inside `spec`'s FargateService (or tagged with its name)."""
    component = evaluation.one("payments:services:FargateService", spec.name)
    return [r for r in evaluation.all(type_) if component in ancestors(evaluation, r)]


def one_owned(evaluation: Evaluation, spec: ServiceSpec, type_: str, contains: str = "") -> RecordedResource:
    found = [r for r in owned_by(evaluation, spec, type_) if contains in r.name]
    assert len(found) == 1, [r.name for r in found]
    return found[0]
