"""The ECS cluster and the Cloud Map namespace."""

from __future__ import annotations

import pytest

CLUSTER = "aws:ecs/cluster:Cluster"
CAPACITY = "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders"
NAMESPACE = "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace"


@pytest.mark.parametrize(("fixture", "level"), [("platform", "enabled"), ("platform_alt", "enhanced")])
def test_container_insights_is_on_at_the_configured_level(request, fixture, level):
    cluster = request.getfixturevalue(fixture).one(CLUSTER)
    assert cluster.inputs["settings"] == [{"name": "containerInsights", "value": level}]


def test_the_cluster_is_named_by_type_and_suffix(platform, platform_alt):
    assert platform.one(CLUSTER).inputs["name"] == "ecs-cluster-dev"
    assert platform_alt.one(CLUSTER).inputs["name"] == "ecs-cluster-qa-7"


def test_both_fargate_providers_are_attached_and_spot_is_used_only_when_weighted(platform, platform_alt):
    dev, alt = platform.one(CAPACITY), platform_alt.one(CAPACITY)
    for capacity in (dev, alt):
        assert capacity.inputs["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
        assert capacity.inputs["clusterName"] in ("ecs-cluster-dev", "ecs-cluster-qa-7")
    dev_strategy = {
        s["capacityProvider"]: s["weight"] for s in dev.inputs["defaultCapacityProviderStrategies"]
    }
    assert dev_strategy == {"FARGATE": 100, "FARGATE_SPOT": 100}  # the example dev stack: half on Spot
    alt_strategy = alt.inputs["defaultCapacityProviderStrategies"]
    assert [s["capacityProvider"] for s in alt_strategy] == ["FARGATE"]


def test_ecs_exec_is_off_unless_configured(platform):
    assert "configuration" not in platform.one(CLUSTER).inputs
    assert not [g for g in platform.all("aws:cloudwatch/logGroup:LogGroup") if "exec" in g.name]


def test_ecs_exec_sessions_are_encrypted_and_logged_to_an_encrypted_group(platform_alt):
    key_arn = platform_alt.one("aws:kms/key:Key").state["arn"]
    execute = platform_alt.one(CLUSTER).inputs["configuration"]["executeCommandConfiguration"]
    assert execute["kmsKeyId"] == key_arn
    assert execute["logging"] == "OVERRIDE"
    assert execute["logConfiguration"] == {
        "cloudWatchLogGroupName": "/ecs/exec-qa-7",
        "cloudWatchEncryptionEnabled": True,
    }
    group = platform_alt.one("aws:cloudwatch/logGroup:LogGroup", "/ecs/exec-qa-7")
    assert group.inputs["kmsKeyId"] == key_arn
    assert group.inputs["retentionInDays"] == 90


@pytest.mark.parametrize(
    ("fixture", "upstream", "name"),
    [("platform", "network", "payments-dev.local"), ("platform_alt", "network_ha", "pay-qa-7.internal")],
)
def test_the_namespace_is_private_on_the_network_layers_vpc(request, fixture, upstream, name):
    namespace = request.getfixturevalue(fixture).one(NAMESPACE)
    assert namespace.inputs["name"] == name
    assert namespace.inputs["vpc"] == request.getfixturevalue(upstream).exports["vpcId"]
