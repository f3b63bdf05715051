"""Names, tags, provider and exports: what other layers and the compliance rules rely on."""

from __future__ import annotations

import pytest

from offline.layer_projects import Layer
from shared.config import ConfigReader, NetworkConfig
from shared.contracts import NetworkExports
from tests.helpers import ancestors, is_taggable

NAME_INPUTS = ("name", "bucket", "family", "functionName")


def physical_names(resource):
    names = [resource.inputs[k] for k in NAME_INPUTS if isinstance(resource.inputs.get(k), str)]
    tag_name = (resource.inputs.get("tags") or {}).get("Name")
    return names + ([tag_name] if tag_name else [])


@pytest.mark.parametrize(("fixture", "suffix"), [("network", "dev"), ("network_ha", "qa-7")])
def test_every_name_ends_with_the_suffix(request, fixture, suffix):
    evaluation = request.getfixturevalue(fixture)
    for resource in evaluation.aws_resources():
        assert resource.name.endswith(f"-{suffix}"), resource.name
        for name in physical_names(resource):
            assert name.endswith(f"-{suffix}"), (resource.type, name)


@pytest.mark.parametrize("fixture", ["network", "network_ha"])
def test_every_taggable_resource_carries_the_service_tag(request, fixture):
    evaluation = request.getfixturevalue(fixture)
    taggable = [r for r in evaluation.aws_resources() if is_taggable(r.type)]
    assert len(taggable) > 15
    for resource in taggable:
        assert resource.inputs.get("tags", {}).get("Service") == "network", resource.name


@pytest.mark.parametrize("fixture", ["network", "network_ha"])
def test_every_aws_resource_is_created_through_the_tagging_provider(request, fixture):
    evaluation = request.getfixturevalue(fixture)
    provider = evaluation.one("pulumi:providers:aws")
    suffix = provider.name.removeprefix("aws-")
    assert provider.inputs["region"] == "us-east-1"
    assert '"Environment":"' + suffix in provider.inputs["defaultTags"].replace(" ", "")
    assert '"CostCenter":"payments"' in provider.inputs["defaultTags"].replace(" ", "")
    for resource in evaluation.aws_resources():
        assert resource.provider_urn == provider.urn, resource.name


def test_every_resource_belongs_to_a_component(network):
    for resource in network.aws_resources():
        assert any(a.is_component for a in ancestors(network, resource)), resource.name


def test_the_layer_is_built_from_its_components(network):
    components = {r.type for r in network.resources if r.is_component}
    assert components == {
        "payments:network:Vpc",
        "payments:network:FlowLogs",
        "payments:network:Endpoints",
        "payments:network:AlarmTopic",
        "payments:network:NatGatewayAlarms",
        "payments:network:NotificationHealth",
    }


def test_exports_are_exactly_the_contract(network):
    assert set(network.exports) == set(NetworkExports.ALL)
    assert network.exports["vpcCidr"] == "10.0.0.0/16"
    assert network.exports["vpcId"] == network.one("aws:ec2/vpc:Vpc").id
    for key in ("publicSubnetIds", "privateSubnetIds", "privateRouteTableIds"):
        assert len(network.exports[key]) == 3


def test_pulumi_yaml_defaults_match_the_typed_config_defaults():
    layer = Layer("network")
    from_yaml = NetworkConfig.load(
        ConfigReader.from_mapping({**layer.defaults(), "environmentSuffix": "dev"})
    )
    from_code = NetworkConfig.load(ConfigReader.from_mapping({"environmentSuffix": "dev"}))
    assert from_yaml == from_code


def test_every_config_key_read_is_declared_in_pulumi_yaml():
    declared = set(Layer("network").config_schema())
    read: list[str] = []

    def spy(key):
        read.append(key)

    NetworkConfig.load(ConfigReader(lambda key: spy(key) or ("dev" if key == "environmentSuffix" else None)))
    assert set(read) <= declared, set(read) - declared


def test_every_key_without_a_default_is_set_by_the_example_stack():
    """Pulumi requires a value for every Pulumi.yaml key that has no default (pulumi/pulumi#21797),
    whether the program reads it or not: optional keys need a default there."""
    layer = Layer("network")
    required = {k for k, spec in layer.config_schema().items() if "default" not in spec}
    assert required == {"environmentSuffix"}
    assert required <= set(layer.stack_config("dev"))


@pytest.mark.parametrize(("fixture", "gateways"), [("network", 1), ("network_ha", 3)])
def test_nat_public_ips_are_the_gateways_elastic_ips_in_zone_order(request, fixture, gateways):
    evaluation = request.getfixturevalue(fixture)
    eips = evaluation.all("aws:ec2/eip:Eip")
    by_allocation = {eip.state["allocationId"]: eip.state["publicIp"] for eip in eips}
    nat_ips = [
        by_allocation[nat.inputs["allocationId"]] for nat in evaluation.all("aws:ec2/natGateway:NatGateway")
    ]
    assert len(nat_ips) == gateways
    assert sorted(evaluation.exports["natPublicIps"]) == sorted(nat_ips)
