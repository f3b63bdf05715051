"""Routing: public subnets to the internet gateway, each private subnet to a NAT gateway."""

from __future__ import annotations

import pytest

ROUTE = "aws:ec2/route:Route"
NAT = "aws:ec2/natGateway:NatGateway"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"


def table_of_subnet(evaluation, subnet):
    [association] = [a for a in evaluation.all(ASSOCIATION) if a.inputs["subnetId"] == subnet.id]
    return evaluation.by_id(association.inputs["routeTableId"])


def default_route(evaluation, table):
    [route] = [r for r in evaluation.all(ROUTE) if r.inputs["routeTableId"] == table.id]
    assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
    return route


def subnets(evaluation, tier):
    return [s for s in evaluation.all("aws:ec2/subnet:Subnet") if s.inputs["tags"]["Tier"] == tier]


@pytest.mark.parametrize("fixture", ["network", "network_ha"])
def test_public_subnets_share_one_table_routed_to_the_internet_gateway(request, fixture):
    evaluation = request.getfixturevalue(fixture)
    igw = evaluation.one("aws:ec2/internetGateway:InternetGateway")
    tables = {table_of_subnet(evaluation, s).urn for s in subnets(evaluation, "public")}
    assert len(tables) == 1
    route = default_route(evaluation, evaluation.by_urn(tables.pop()))
    assert route.inputs["gatewayId"] == igw.id
    assert "natGatewayId" not in route.inputs


def test_per_az_nat_gives_each_private_subnet_the_nat_in_its_own_zone(network_ha):
    gateways = network_ha.all(NAT)
    assert len(gateways) == 3
    assert len(network_ha.all("aws:ec2/eip:Eip")) == 3
    public_zone = {s.id: s.inputs["availabilityZone"] for s in subnets(network_ha, "public")}
    for subnet in subnets(network_ha, "private"):
        route = default_route(network_ha, table_of_subnet(network_ha, subnet))
        nat = network_ha.by_id(route.inputs["natGatewayId"])
        assert public_zone[nat.inputs["subnetId"]] == subnet.inputs["availabilityZone"]
        assert "gatewayId" not in route.inputs


def test_single_nat_serves_every_private_subnet_from_a_public_subnet(network):
    [nat] = network.all(NAT)
    assert len(network.all("aws:ec2/eip:Eip")) == 1
    assert nat.inputs["subnetId"] in network.exports["publicSubnetIds"]
    private_tables = {table_of_subnet(network, s).urn for s in subnets(network, "private")}
    assert len(private_tables) == 3, "one route table per AZ even with a single NAT"
    for urn in private_tables:
        assert default_route(network, network.by_urn(urn)).inputs["natGatewayId"] == nat.id


@pytest.mark.parametrize("fixture", ["network", "network_ha"])
def test_nat_gateways_use_their_own_elastic_ip_and_depend_on_the_internet_gateway(request, fixture):
    evaluation = request.getfixturevalue(fixture)
    igw = evaluation.one("aws:ec2/internetGateway:InternetGateway")
    eips = {e.state["allocationId"]: e for e in evaluation.all("aws:ec2/eip:Eip")}
    for nat in evaluation.all(NAT):
        assert igw.urn in nat.dependencies
        assert nat.inputs["connectivityType"] == "public"
        assert eips[nat.inputs["allocationId"]].inputs["domain"] == "vpc"


def test_private_route_tables_are_exported_in_zone_order(network_ha):
    tables = [network_ha.by_id(i) for i in network_ha.exports["privateRouteTableIds"]]
    expected = [
        table_of_subnet(network_ha, network_ha.by_id(i)) for i in network_ha.exports["privateSubnetIds"]
    ]
    assert [t.urn for t in tables] == [t.urn for t in expected]
