"""A layer is not destroyed while a stack that reads its outputs still has resources: the same-named
stack of a layer above, or any stack whose networkStack / platformStack config names it."""

from __future__ import annotations

import pytest

from deploy.preflight import PreflightError, check_no_downstream_resources
from deploy.runner import NOT_RUN, REFUSED, SKIPPED, SUCCEEDED, Deployer, exit_code
from deploy.stacks import downstream_stacks, upstream_stacks
from tests.deploy.conftest import OFFLINE_AWS, FakeBackend, full, write_stack

pytestmark = pytest.mark.usefixtures("passphrase")


def run(backend, command, stack="dev", layer=None):
    return Deployer(backend, out=[].append, **OFFLINE_AWS).run(command, stack, layer)


@pytest.mark.usefixtures("repo")
@pytest.mark.parametrize(
    ("layer", "blocking"),
    [("network", "platform"), ("network", "services"), ("platform", "services")],
)
def test_a_layer_with_a_downstream_holding_resources_is_not_destroyed(layer, blocking):
    backend = FakeBackend().deployed("network", "platform", "services")
    for other in ("network", "platform", "services"):
        if other not in (layer, blocking):
            backend.resources[full(other)] = 0
    with pytest.raises(PreflightError) as error:
        run(backend, "destroy", layer=layer)
    assert str(error.value).startswith(
        f"refusing to destroy {layer} ({full(layer)}): {full(blocking)} still has"
    )
    assert f"`python3 dev.py destroy -- dev --layer {blocking}`" in str(error.value)
    assert backend.calls == []
    assert backend.resources[full(layer)] > 0


@pytest.mark.usefixtures("repo")
def test_a_layer_is_destroyed_once_its_downstreams_are_empty():
    backend = FakeBackend().deployed("network", "platform")
    backend.resources[full("services")] = 0  # destroyed, stack kept
    results = run(backend, "destroy", layer="platform")
    assert backend.operations() == [("destroy", "platform")]
    assert results[0].status == SUCCEEDED


def test_a_stack_that_names_this_one_as_its_upstream_blocks_it(repo):
    """Another owner's services stack `qa` reads network `shared`: network `shared` must wait for it."""
    write_stack(repo, "network", "shared", environmentSuffix="shared")
    write_stack(
        repo,
        "services",
        "qa",
        environmentSuffix="qa",
        networkStack="organization/payments-network/shared",
        platformStack="organization/payments-platform/qa",
    )
    assert upstream_stacks("services", "qa", "organization")["network"].full == full("network", "shared")
    downstream = [(layer, ref.full) for layer, ref in downstream_stacks("network", "shared", "organization")]
    assert ("services", full("services", "qa")) in downstream
    backend = FakeBackend()
    backend.resources[full("network", "shared")] = 41
    backend.resources[full("services", "qa")] = 120
    with pytest.raises(PreflightError, match=f"{full('services', 'qa')} still has 120 resources"):
        check_no_downstream_resources(backend, "network", "shared", "organization")


def test_a_downstream_that_reads_another_stack_does_not_block(repo):
    write_stack(
        repo, "platform", "qa", environmentSuffix="qa", networkStack="organization/payments-network/dev"
    )
    downstream = [ref.full for _, ref in downstream_stacks("network", "qa", "organization")]
    assert full("platform", "qa") not in downstream
    backend = FakeBackend()
    backend.resources[full("network", "qa")] = 41
    backend.resources[full("platform", "qa")] = 63  # built on network dev, not qa
    check_no_downstream_resources(backend, "network", "qa", "organization")


def test_a_downstream_with_no_local_config_is_still_checked_by_its_conventional_name(repo):
    """The platform owner's checkout may not hold the services team's Pulumi.prod.yaml."""
    downstream = [ref.full for _, ref in downstream_stacks("platform", "prod", "organization")]
    assert downstream == [full("services", "prod")]


@pytest.mark.usefixtures("repo")
def test_a_full_destroy_stops_when_a_foreign_stack_still_uses_a_layer(repo):
    write_stack(
        repo, "platform", "qa", environmentSuffix="qa", networkStack="organization/payments-network/dev"
    )
    backend = FakeBackend().deployed("network", "platform", "services")
    backend.resources[full("platform", "qa")] = 63
    results = run(backend, "destroy")
    assert [(r.layer, r.status) for r in results] == [
        ("services", SUCCEEDED),
        ("platform", SUCCEEDED),
        ("network", REFUSED),
    ]
    assert f"{full('platform', 'qa')} still has 63 resources" in results[2].detail
    assert backend.resources[full("network")] == 41
    assert exit_code(results) == 2


@pytest.mark.usefixtures("repo")
def test_destroying_a_stack_that_does_not_exist_changes_nothing():
    results = run(FakeBackend(), "destroy")
    assert [r.status for r in results] == [SKIPPED] * 3
    assert NOT_RUN not in [r.status for r in results]
