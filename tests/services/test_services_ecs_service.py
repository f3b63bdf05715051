"""The ECS services: placement, networking, CodeDeploy control and the options that keep Pulumi out of
CodeDeploy's way, asserted through the resource options the offline engine records."""

from __future__ import annotations

import pytest

from tests.services.conftest import SPECS, STACKS, one_owned, owned_by

SERVICE = "aws:ecs/service:Service"


@pytest.mark.parametrize(("fixture", "suffix"), STACKS)
@pytest.mark.parametrize("spec", SPECS)
def test_services_run_in_private_subnets_without_public_ips_under_codedeploy(request, fixture, suffix, spec):
    evaluation = request.getfixturevalue(fixture)
    network = request.getfixturevalue("network" if fixture == "services" else "network_ha")
    platform = request.getfixturevalue("platform" if fixture == "services" else "platform_alt")
    inputs = one_owned(evaluation, spec, SERVICE).inputs
    assert inputs["name"] == f"ecs-service-{spec.name}-{suffix}"
    assert inputs["cluster"] == platform.exports["clusterArn"]
    assert inputs["deploymentController"] == {"type": "CODE_DEPLOY"}
    assert inputs["networkConfiguration"]["subnets"] == network.exports["privateSubnetIds"]
    assert not set(inputs["networkConfiguration"]["subnets"]) & set(network.exports["publicSubnetIds"])
    assert inputs["networkConfiguration"]["assignPublicIp"] is False
    assert inputs["propagateTags"] == "SERVICE"
    assert inputs["enableEcsManagedTags"] is True
    assert inputs["forceDelete"] is True
    assert "deploymentCircuitBreaker" not in inputs  # not applicable under CODE_DEPLOY
    assert "launchType" not in inputs  # the capacity provider strategy decides


@pytest.mark.parametrize("spec", SPECS)
def test_service_starts_on_blue_with_the_defaults(services, spec):
    inputs = one_owned(services, spec, SERVICE).inputs
    blue = next(g for g in owned_by(services, spec, "aws:lb/targetGroup:TargetGroup") if "-blue-" in g.name)
    assert inputs["loadBalancers"] == [
        {
            "targetGroupArn": blue.state["arn"],
            "containerName": spec.name,
            "containerPort": spec.container_port,
        }
    ]
    assert inputs["desiredCount"] == 2
    assert inputs["healthCheckGracePeriodSeconds"] == 60
    assert inputs["capacityProviderStrategies"] == [{"capacityProvider": "FARGATE", "weight": 1}]
    assert (
        inputs["taskDefinition"]
        == one_owned(services, spec, "aws:ecs/taskDefinition:TaskDefinition").state["arn"]
    )


def test_count_grace_and_spot_come_from_config(services_alt):
    for service in services_alt.all(SERVICE):
        inputs = service.inputs
        assert inputs["desiredCount"] == 4
        assert inputs["healthCheckGracePeriodSeconds"] == 90
        assert inputs["capacityProviderStrategies"] == [
            {"capacityProvider": "FARGATE", "weight": 1},
            {"capacityProvider": "FARGATE_SPOT", "weight": 3},
        ]


@pytest.mark.parametrize("spec", SPECS)
def test_pulumi_leaves_to_codedeploy_and_releases_what_updateservice_refuses(services, spec):
    service = one_owned(services, spec, SERVICE)
    assert set(service.ignore_changes) == {
        "taskDefinition",
        "loadBalancers",
        "desiredCount",
        "networkConfiguration",
        "platformVersion",
        "capacityProviderStrategies",
        "enableExecuteCommand",
    }


@pytest.mark.parametrize("spec", SPECS)
def test_the_service_waits_for_its_listeners_and_role_policies(services, spec):
    service = one_owned(services, spec, SERVICE)
    listeners = owned_by(services, spec, "aws:lb/listener:Listener")
    policies = owned_by(services, spec, "aws:iam/rolePolicy:RolePolicy")
    assert len(listeners) == 2
    assert len(policies) == 2
    # None of these is an input of the service, so only `depends_on` can have put them here.
    for dependency in listeners + policies:
        assert dependency.urn in service.dependencies, dependency.name
