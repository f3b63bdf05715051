"""The deploy command runs the layers in order, streams their output, stops at the first failure, and
summarises each layer's outputs with secrets hidden."""

from __future__ import annotations

import pytest

from deploy.preflight import PreflightError
from deploy.runner import FAILED, NOT_RUN, SKIPPED, SUCCEEDED, Deployer, exit_code
from deploy.stacks import UnknownLayerError, layer_order
from tests.deploy.conftest import OFFLINE_AWS, FakeBackend, full

pytestmark = pytest.mark.usefixtures("repo", "passphrase")


def deployer(backend: FakeBackend, lines: list[str] | None = None) -> Deployer:
    sink = lines if lines is not None else []
    return Deployer(backend, out=sink.append, **OFFLINE_AWS)


def test_up_runs_network_then_platform_then_services():
    backend = FakeBackend()
    results = deployer(backend).run("up", "dev")
    assert backend.operations() == [("up", "network"), ("up", "platform"), ("up", "services")]
    assert [r.status for r in results] == [SUCCEEDED] * 3
    assert exit_code(results) == 0


def test_destroy_runs_services_then_platform_then_network():
    backend = FakeBackend().deployed("network", "platform", "services")
    results = deployer(backend).run("destroy", "dev")
    assert backend.operations() == [("destroy", "services"), ("destroy", "platform"), ("destroy", "network")]
    assert all(backend.resources[full(layer)] == 0 for layer in ("network", "platform", "services"))
    assert exit_code(results) == 0


def test_destroy_with_remove_stack_leaves_no_stacks():
    backend = FakeBackend().deployed("network", "platform", "services")
    deployer(backend).run("destroy", "dev", remove_stacks=True)
    assert backend.resources == {}


def test_preview_runs_in_deploy_order():
    backend = FakeBackend().deployed("network", "platform", "services")
    results = deployer(backend).run("preview", "dev")
    assert backend.operations() == [("preview", "network"), ("preview", "platform"), ("preview", "services")]
    assert results[0].changes == {"create": 41}


def test_a_failed_layer_stops_the_layers_above_it():
    backend = FakeBackend(fail={"platform"})
    results = deployer(backend).run("up", "dev")
    assert backend.operations() == [("up", "network"), ("up", "platform")]
    assert [(r.layer, r.status) for r in results] == [
        ("network", SUCCEEDED),
        ("platform", FAILED),
        ("services", NOT_RUN),
    ]
    assert "creating resource failed" in results[1].detail
    assert results[2].detail == "platform failed"
    assert exit_code(results) == 1


def test_one_layer_runs_alone_when_its_upstreams_exist():
    backend = FakeBackend().deployed("network", "platform")
    deployer(backend).run("up", "dev", "services")
    assert backend.operations() == [("up", "services")]


@pytest.mark.parametrize(
    ("layer", "deployed", "missing"),
    [
        ("platform", (), "organization/payments-network/dev"),
        ("services", ("network",), "organization/payments-platform/dev"),
        ("services", ("platform",), "organization/payments-network/dev"),
    ],
)
@pytest.mark.parametrize("command", ["up", "preview"])
def test_one_layer_is_refused_when_an_upstream_stack_is_missing(command, layer, deployed, missing):
    backend = FakeBackend().deployed(*deployed)
    with pytest.raises(PreflightError, match=f"{layer} reads {missing}, which does not exist") as error:
        deployer(backend).run(command, "dev", layer)
    assert "python3 dev.py up -- dev --layer" in str(error.value)
    assert backend.calls == []


def test_one_layer_is_refused_when_an_upstream_stack_was_destroyed():
    backend = FakeBackend().deployed("network")
    backend.resources[full("network")] = 0
    with pytest.raises(PreflightError, match="exists but has no resources"):
        deployer(backend).run("up", "dev", "platform")
    assert backend.calls == []


def test_preview_of_all_layers_skips_those_whose_upstream_is_not_deployed_yet():
    backend = FakeBackend().deployed("network")
    backend.resources[full("platform")] = 0  # created by init, never deployed
    backend.resources[full("services")] = 0
    results = deployer(backend).run("preview", "dev")
    assert [(r.layer, r.status) for r in results] == [
        ("network", SUCCEEDED),
        ("platform", SUCCEEDED),
        ("services", SKIPPED),
    ]
    assert "platform/dev, which exists but has no resources" in results[2].detail
    assert exit_code(results) == 0


def test_preview_of_a_stack_that_was_never_created_says_how_to_create_it():
    results = deployer(FakeBackend()).run("preview", "dev", "network")
    assert results[0].status == SKIPPED
    assert "python3 dev.py init -- dev --suffix" in results[0].detail


def test_output_streams_live_between_the_layer_headers():
    lines: list[str] = []
    deployer(FakeBackend(), lines).run("up", "dev")
    network = lines.index("\n==> up network (organization/payments-network/dev)")
    assert lines[network + 1] == "updating network"
    assert lines[network + 2].startswith("<== network: succeeded in")
    assert lines.index("\n==> up platform (organization/payments-platform/dev)") > network + 2


def test_summary_lists_each_layers_outputs_and_hides_secrets():
    lines: list[str] = []
    deployer(FakeBackend(), lines).run("up", "dev")
    summary = lines[-1]
    assert summary.startswith("\nsummary: up dev")
    assert "vpcId" in summary
    assert "vpc-0abc" in summary
    assert "ecs-cluster-dev" in summary
    assert "[secret]" in summary
    assert "s3cr3t" not in "\n".join(lines)


def test_outputs_reads_every_existing_layer_without_aws_or_config_checks():
    backend = FakeBackend().deployed("network", "platform")

    def no_aws(region):
        raise AssertionError("outputs must not need AWS credentials")

    results = Deployer(backend, out=[].append, aws_check=no_aws).run("outputs", "unconfigured")
    assert [(r.layer, r.status) for r in results] == [
        ("network", SKIPPED),
        ("platform", SKIPPED),
        ("services", SKIPPED),
    ]
    results = Deployer(backend, out=[].append, aws_check=no_aws).run("outputs", "dev")
    assert results[0].outputs["vpcId"].value == "vpc-0abc"
    assert results[2].status == SKIPPED


def test_an_unknown_layer_is_refused():
    with pytest.raises(UnknownLayerError, match="use one of network, platform, services"):
        layer_order("up", "database")
