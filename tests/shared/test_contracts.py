"""The layer contract: export names defined once, unique, and upstream stack names validated."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shared import contracts
from shared.contracts import NetworkExports, PlatformExports, ServicesExports
from shared.errors import ConfigError

EXPORT_SETS = (contracts.NetworkExports, contracts.PlatformExports, contracts.ServicesExports)


@pytest.mark.parametrize("exports", EXPORT_SETS)
def test_export_names_are_camel_case_and_listed_once(exports):
    constants = {k: v for k, v in vars(exports).items() if k.isupper() and k != "ALL"}
    assert sorted(constants.values()) == sorted(exports.ALL)
    assert len(set(exports.ALL)) == len(exports.ALL)
    assert all(re.fullmatch(r"[a-z][A-Za-z]+", name) for name in exports.ALL)


def test_no_two_layers_export_the_same_name():
    names = [name for exports in EXPORT_SETS for name in exports.ALL]
    assert len(names) == len(set(names))


def test_an_explicit_upstream_stack_name_is_kept():
    name = contracts.upstream_stack_name("networkStack", "acme/payments-network/prod", "payments-network")
    assert name == "acme/payments-network/prod"


@pytest.mark.parametrize("bad", ["payments-network", "dev", "a/b", "a/b/c/d", "acme/payments network/dev"])
def test_a_malformed_upstream_stack_name_is_a_clear_error(bad):
    with pytest.raises(ConfigError) as caught:
        contracts.upstream_stack_name("networkStack", bad, contracts.NETWORK_PROJECT)
    assert str(caught.value) == (
        f"networkStack: must be a fully qualified stack name <org>/<project>/<stack>, got {json.dumps(bad)}. "
        "Fix: pulumi config set networkStack organization/payments-network/dev"
    )


def test_each_layer_has_its_own_project():
    assert contracts.LAYER_PROJECTS == {
        "network": "payments-network",
        "platform": "payments-platform",
        "services": "payments-services",
    }


@pytest.mark.parametrize(
    ("layer", "exports"),
    [("network", NetworkExports), ("platform", PlatformExports), ("services", ServicesExports)],
)
def test_every_export_is_in_its_layers_outputs_table(layer, exports):
    readme = (Path(__file__).resolve().parents[2] / "stacks" / layer / "README.md").read_text()
    table = readme.split("## Outputs", 1)[1].split("\n## ", 1)[0]
    assert [name for name in exports.ALL if f"`{name}`" not in table] == []


def test_ecs_exec_under_pci_without_the_networks_endpoint_names_the_network_key_to_set():
    with pytest.raises(ConfigError) as caught:
        contracts._ecs_exec_endpoint_present(False)
    assert str(caught.value) == (
        "ecsExec: with complianceProfile pci needs the network layer's ssmmessages interface endpoint "
        "(tasks send HTTPS only to the VPC's endpoints, and ECS Exec sessions open through ssmmessages), "
        "and the network stack does not export ecsExecEndpoint true, got true. "
        "Fix: set network:ecsExecEndpoint=true: in stacks/network: pulumi config set ecsExecEndpoint true "
        "and run pulumi up there first (with plan: --config network:ecsExecEndpoint=true); "
        "or in stacks/platform: pulumi config set ecsExec false"
    )
    assert contracts._ecs_exec_endpoint_present(True) is True
