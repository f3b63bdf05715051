"""For every valid suffix, every name the project makes is valid for its kind of AWS resource."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from offline.layer_projects import evaluate_all
from planning.plan import available_layers
from shared import naming
from shared.errors import ConfigError

SUFFIX_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-"
suffixes = st.text(alphabet=SUFFIX_CHARS, min_size=1, max_size=naming.MAX_SUFFIX_LENGTH)


def _is_valid(suffix: str) -> bool:
    try:
        naming.validate_suffix(suffix)
    except ConfigError:
        return False
    return True


@pytest.fixture(scope="module")
def project_names() -> frozenset[naming.NameRequest]:
    """Every (kind, parts) the layers ask for, learned by evaluating them all offline."""
    evaluations = evaluate_all(layers=available_layers())
    requests = frozenset().union(*(evaluation.names for evaluation in evaluations.values()))
    assert len({kind for kind, _ in requests}) >= 10, "the layers should make many kinds of names"
    return requests


@settings(max_examples=300, deadline=None)
@given(suffix=suffixes.filter(_is_valid))
@example(suffix="x1234567")
@example(suffix="a")
@example(suffix="9-9-9-9")
def test_every_project_name_fits_its_aws_rule_for_every_valid_suffix(project_names, suffix):
    namer = naming.Namer(suffix)
    for kind, parts in project_names:
        built = namer.name(kind, *parts)  # raises NamingError if any rule is broken
        # An RDS log group's path is AWS's: /aws/rds/instance/<identifier>/<log type>.
        assert built.endswith(suffix) or (kind == naming.RDS_LOG_GROUP and f"-{suffix}/" in built)
        assert kind.rule.violation(built) is None


@settings(max_examples=200, deadline=None)
@given(suffix=st.text(alphabet=SUFFIX_CHARS + "_.A ", min_size=0, max_size=12))
def test_a_suffix_is_either_rejected_up_front_or_makes_only_valid_names(project_names, suffix):
    try:
        namer = naming.Namer(suffix)
    except ConfigError as error:
        rejected_key = error.key
        assert rejected_key == naming.SUFFIX_KEY
        return
    for kind, parts in project_names:
        assert kind.rule.violation(namer.name(kind, *parts)) is None
