"""The security-group chain as a graph: who can open a connection to whom, on which port.

Nodes are the internet, security groups and (ALB, listener port) pairs. Edges come from the recorded
rule resources (ingress needs a matching egress when the source is a task group) and from listeners,
which forward a port to the target group of exactly one ECS service.
"""

from __future__ import annotations

from collections import deque

import pytest

from shared.catalogue import CATALOGUE, INTERNAL, by_name
from shared.contracts import SecretPurposes
from tests.services.conftest import SPECS, STACKS, one_owned

INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INTERNET = "internet"


def task_groups(services, suffix):
    return {r.inputs["name"].removeprefix("security-group-").removesuffix(f"-{suffix}"): r.id
            for r in services.all("aws:ec2/securityGroup:SecurityGroup")}  # fmt: skip


def upstream(request, fixture):
    """The network and platform evaluations a services fixture was built on."""
    names = ("network", "platform") if fixture == "services" else ("network_ha", "platform_alt")
    return tuple(request.getfixturevalue(name) for name in names)


def graph(network, platform, services):
    """Adjacency: node -> set of nodes it can reach in one hop."""
    edges: dict[str, set[str]] = {}
    groups = {r.id: r for r in platform.all("aws:ec2/securityGroup:SecurityGroup")}
    groups.update({r.id: r for r in services.all("aws:ec2/securityGroup:SecurityGroup")})
    albs = {platform.exports["publicAlbSecurityGroupId"]: platform.exports["publicAlbArn"],
            platform.exports["internalAlbSecurityGroupId"]: platform.exports["internalAlbArn"]}  # fmt: skip
    egress = services.all(EGRESS) + platform.all(EGRESS)

    def may_send(source: str, destination: str, port: int) -> bool:
        if source == INTERNET or source in albs:  # ALBs send anywhere in the VPC (platform layer)
            return True
        return any(
            rule.inputs["securityGroupId"] == source
            and rule.inputs["fromPort"] <= port <= rule.inputs["toPort"]
            and (rule.inputs.get("referencedSecurityGroupId") == destination or rule.inputs.get("cidrIpv4"))
            for rule in egress
        )

    for rule in services.all(INGRESS) + platform.all(INGRESS):
        source = rule.inputs.get("referencedSecurityGroupId") or INTERNET
        destination, port = rule.inputs["securityGroupId"], int(rule.inputs["fromPort"])
        assert port == rule.inputs["toPort"], rule.name  # single ports only, never ranges
        if not may_send(source, destination, port):
            continue
        # Traffic into an ALB's group lands on the listener of that port.
        node = f"{albs[destination]}:{port}" if destination in albs else destination
        edges.setdefault(source, set()).add(node)
    services_by_group = {}
    for service in services.all("aws:ecs/service:Service"):
        [group] = service.inputs["networkConfiguration"]["securityGroups"]
        [target] = service.inputs["loadBalancers"]
        services_by_group[target["targetGroupArn"]] = group
    for listener in services.all("aws:lb/listener:Listener"):
        [action] = listener.inputs["defaultActions"]
        if action["type"] == "forward":
            node = f"{listener.inputs['loadBalancerArn']}:{int(listener.inputs['port'])}"
            edges.setdefault(node, set()).add(services_by_group[action["targetGroupArn"]])
    return edges


def paths(edges, start, goal):
    """Every simple path from start to goal."""
    found, queue = [], deque([[start]])
    while queue:
        path = queue.popleft()
        for nxt in edges.get(path[-1], ()):
            if nxt == goal:
                found.append([*path, nxt])
            elif nxt not in path:
                queue.append([*path, nxt])
    return found


@pytest.mark.parametrize(("fixture", "suffix"), STACKS)
def test_the_internet_reaches_each_service_only_through_the_chain(request, fixture, suffix):
    services = request.getfixturevalue(fixture)
    network, platform = upstream(request, fixture)
    edges = graph(network, platform, services)
    groups = task_groups(services, suffix)
    public = platform.exports["publicAlbArn"]
    internal = platform.exports["internalAlbArn"]
    gateway, processor, fraud = groups["api-gateway"], groups["payment-processor"], groups["fraud-detector"]
    pay, frd = by_name("payment-processor"), by_name("fraud-detector")

    to_gateway = paths(edges, INTERNET, gateway)
    assert to_gateway
    assert all(p[1].startswith(public) for p in to_gateway)
    assert paths(edges, INTERNET, processor) == [
        [*p, f"{internal}:{pay.production_port}", processor] for p in to_gateway
    ]
    assert paths(edges, INTERNET, fraud) == [
        [*p, f"{internal}:{frd.production_port}", fraud] for p in paths(edges, INTERNET, processor)
    ]


@pytest.mark.parametrize(("fixture", "suffix"), STACKS)
def test_services_cannot_skip_a_link_or_call_backwards(request, fixture, suffix):
    services = request.getfixturevalue(fixture)
    network, platform = upstream(request, fixture)
    edges = graph(network, platform, services)
    groups = task_groups(services, suffix)
    # One hop from each task group: only the listeners of what it calls, and the database for the
    # services that read its connection secret.
    internal = platform.exports["internalAlbArn"]
    database = platform.exports["databaseSecurityGroupId"]
    for spec in CATALOGUE:
        expected = {f"{internal}:{by_name(d).production_port}" for d in spec.downstream}
        if SecretPurposes.DATABASE_CONNECTION in spec.secrets.values():
            expected.add(database)
        assert edges.get(groups[spec.name], set()) == expected, spec.name
    assert paths(edges, groups["api-gateway"], groups["fraud-detector"])  # through payment-processor
    for path in paths(edges, groups["api-gateway"], groups["fraud-detector"]):
        assert groups["payment-processor"] in path
    assert paths(edges, groups["fraud-detector"], groups["payment-processor"]) == []
    assert paths(edges, groups["payment-processor"], groups["api-gateway"]) == []


@pytest.mark.parametrize("spec", SPECS)
def test_task_ingress_is_the_container_port_from_its_own_load_balancer(services, platform, spec):
    group = one_owned_group(services, spec)
    rules = [r for r in services.all(INGRESS) if r.inputs["securityGroupId"] == group.id]
    [rule] = rules
    balancer = "internalAlbSecurityGroupId" if spec.load_balancer == INTERNAL else "publicAlbSecurityGroupId"
    assert rule.inputs["referencedSecurityGroupId"] == platform.exports[balancer]
    assert (rule.inputs["fromPort"], rule.inputs["toPort"], rule.inputs["ipProtocol"]) == (
        spec.container_port, spec.container_port, "tcp"
    )  # fmt: skip
    assert "cidrIpv4" not in rule.inputs


@pytest.mark.parametrize("spec", SPECS)
def test_task_egress_is_downstream_listener_ports_https_and_the_database_for_its_clients(
    services, platform, spec
):
    group = one_owned_group(services, spec)
    rules = [r for r in services.all(EGRESS) if r.inputs["securityGroupId"] == group.id]
    seen = {
        (r.inputs["fromPort"], r.inputs.get("referencedSecurityGroupId") or r.inputs["cidrIpv4"])
        for r in rules
    }
    internal = platform.exports["internalAlbSecurityGroupId"]
    expected = {(443, "0.0.0.0/0")} | {(by_name(d).production_port, internal) for d in spec.downstream}
    if SecretPurposes.DATABASE_CONNECTION in spec.secrets.values():
        expected.add((platform.exports["databasePort"], platform.exports["databaseSecurityGroupId"]))
    assert seen == expected
    assert all(r.inputs["fromPort"] == r.inputs["toPort"] and r.inputs["ipProtocol"] == "tcp" for r in rules)


@pytest.mark.parametrize(("fixture", "suffix"), STACKS)
def test_only_the_rotation_function_and_the_database_clients_reach_the_database(request, fixture, suffix):
    services = request.getfixturevalue(fixture)
    network, platform = upstream(request, fixture)
    edges = graph(network, platform, services)
    database = platform.exports["databaseSecurityGroupId"]
    port = platform.exports["databasePort"]
    rules = [
        r for r in platform.all(INGRESS) + services.all(INGRESS) if r.inputs["securityGroupId"] == database
    ]
    assert {int(r.inputs["fromPort"]) for r in rules} == {port}
    groups = task_groups(services, suffix)
    clients = {groups[s.name] for s in CATALOGUE if SecretPurposes.DATABASE_CONNECTION in s.secrets.values()}
    assert clients == {groups["payment-processor"]}
    rotation = platform.exports["secretRotationSecurityGroupId"]
    assert {r.inputs["referencedSecurityGroupId"] for r in rules} == clients | {rotation}
    assert {node for node, reached in edges.items() if database in reached} <= clients | {rotation}
    assert groups["payment-processor"] in {node for node, reached in edges.items() if database in reached}
    assert paths(edges, INTERNET, database) == [
        [*p, database] for p in paths(edges, INTERNET, groups["payment-processor"])
    ]  # from the internet only through the whole chain to payment-processor


def test_the_security_groups_have_no_inline_rules(services):
    for group in services.all("aws:ec2/securityGroup:SecurityGroup"):
        assert not {"ingress", "egress"} & set(group.inputs), group.name


def one_owned_group(services, spec):
    return services.one("aws:ec2/securityGroup:SecurityGroup", f"security-group-{spec.name}-dev")


def test_the_ecs_services_use_their_own_group(services):
    for spec in CATALOGUE:
        service = one_owned(services, spec, "aws:ecs/service:Service")
        assert service.inputs["networkConfiguration"]["securityGroups"] == [
            one_owned_group(services, spec).id
        ]
