"""Subnets: one public and one private per AZ, inside the VPC, never overlapping, no public IPs."""

from __future__ import annotations

import ipaddress
import itertools

import pytest

from offline.layer_projects import evaluate_layer
from shared.errors import ConfigError
from stacks.network.subnet_plan import plan_subnets

SUBNET = "aws:ec2/subnet:Subnet"


def subnets(evaluation, tier):
    return [s for s in evaluation.all(SUBNET) if s.inputs["tags"]["Tier"] == tier]


@pytest.mark.parametrize("fixture", ["network", "network_ha"])
def test_one_public_and_one_private_subnet_in_each_of_three_distinct_zones(request, fixture):
    evaluation = request.getfixturevalue(fixture)
    for tier in ("public", "private"):
        zones = [s.inputs["availabilityZone"] for s in subnets(evaluation, tier)]
        assert len(zones) == 3
        assert len(set(zones)) == 3
    assert evaluation.exports["availabilityZones"] == ["us-east-1a", "us-east-1b", "us-east-1c"]


@pytest.mark.parametrize("fixture", ["network", "network_ha"])
def test_subnets_fit_inside_the_vpc_and_never_overlap(request, fixture):
    evaluation = request.getfixturevalue(fixture)
    vpc = ipaddress.ip_network(evaluation.one("aws:ec2/vpc:Vpc").inputs["cidrBlock"])
    blocks = [ipaddress.ip_network(s.inputs["cidrBlock"]) for s in evaluation.all(SUBNET)]
    assert all(block.subnet_of(vpc) for block in blocks)
    for first, second in itertools.combinations(blocks, 2):
        assert not first.overlaps(second), f"{first} overlaps {second}"


def test_subnet_sizes_come_from_config(network):
    assert {s.inputs["cidrBlock"].split("/")[1] for s in subnets(network, "public")} == {"24"}
    assert {s.inputs["cidrBlock"].split("/")[1] for s in subnets(network, "private")} == {"20"}


def test_no_subnet_maps_public_ips(network):
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in network.all(SUBNET))


def test_exported_subnet_ids_are_ordered_by_zone(network):
    zones = network.exports["availabilityZones"]
    for tier, key in (("public", "publicSubnetIds"), ("private", "privateSubnetIds")):
        exported = [network.by_id(i) for i in network.exports[key]]
        assert [s.inputs["availabilityZone"] for s in exported] == zones
        assert all(s.inputs["tags"]["Tier"] == tier for s in exported)


def test_a_custom_vpc_cidr_and_explicit_zones_are_honoured():
    evaluation = evaluate_layer(
        "network",
        config={
            "vpcCidr": "172.20.0.0/20",
            "publicSubnetPrefix": 26,
            "privateSubnetPrefix": 24,
            "availabilityZones": ["us-east-1d", "us-east-1e", "us-east-1f"],
        },
    )
    vpc = ipaddress.ip_network("172.20.0.0/20")
    assert evaluation.one("aws:ec2/vpc:Vpc").inputs["cidrBlock"] == str(vpc)
    assert {s.inputs["availabilityZone"] for s in evaluation.all(SUBNET)} == {
        "us-east-1d",
        "us-east-1e",
        "us-east-1f",
    }
    assert all(ipaddress.ip_network(s.inputs["cidrBlock"]).subnet_of(vpc) for s in evaluation.all(SUBNET))
    zones_lookup = "aws:index/getAvailabilityZones:getAvailabilityZones"
    assert not any(i.token == zones_lookup for i in evaluation.invokes)


def test_the_plan_packs_largest_blocks_first_without_gaps():
    plan = plan_subnets(ipaddress.ip_network("10.0.0.0/16"), 3, 24, 20)
    assert [str(n) for n in plan.private] == ["10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"]
    assert [str(n) for n in plan.public] == ["10.0.48.0/24", "10.0.49.0/24", "10.0.50.0/24"]


def test_a_vpc_cidr_too_small_is_a_clear_error():
    with pytest.raises(ConfigError) as caught:
        evaluate_layer("network", config={"vpcCidr": "10.0.0.0/19"})
    assert str(caught.value).startswith(
        "vpcCidr: is too small for 3 public /24 and 3 private /20 subnets (13056 addresses, the VPC has 8192)"
    )


def test_a_subnet_prefix_not_longer_than_the_vpc_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"^privateSubnetPrefix: must be longer than the VPC's /16"):
        plan_subnets(ipaddress.ip_network("10.0.0.0/16"), 3, 24, 16)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"vpcCidr": "10.0.0/16"}, r"^vpcCidr: must be an IPv4 CIDR block"),
        ({"natGateways": "two"}, r"^natGateways: must be one of \"perAz\", \"single\", got \"two\""),
        ({"azCount": 2}, r"^azCount: must be at least 3"),
        ({"environmentSuffix": "Dev_1"}, r"^environmentSuffix: must use only lowercase letters"),
    ],
)
def test_bad_input_fails_before_any_resource_is_created(config, message):
    with pytest.raises(ConfigError, match=message):
        evaluate_layer("network", config=config)


def test_fewer_than_three_available_zones_is_a_clear_error():
    with pytest.raises(ConfigError) as caught:
        evaluate_layer("network", availability_zones=("us-east-1a", "us-east-1b"))
    assert str(caught.value).startswith(
        "azCount: us-east-1 has only 2 available zones (us-east-1a, us-east-1b), got 3"
    )
