"""The services layer as it stands after a release: traffic on green, a newer task definition running.

A second `up` must propose nothing AWS refuses and replace no target group; `destroy` must delete
every user before what it uses. The rules come from botocore's ECS model and the AWS provider's source
(see offline/live.py).
"""

from __future__ import annotations

import dataclasses
import re

import botocore.session
import pytest

from offline.live import (
    FORCES_NEW,
    LISTENER,
    SERVICE,
    SERVICE_INPUT_TO_UPDATE_MEMBER,
    TARGET_GROUP,
    UPDATABLE_ON_CODE_DEPLOY,
    after_release,
    colours,
    second_up,
    unordered_deletes,
)
from planning.plan import blocking, change_report, render_change
from shared.catalogue import CATALOGUE
from tests.conftest import EXTRA_TASK_GROUP
from tests.services.conftest import SPECS, one_owned, owned_by


def test_the_updateservice_rules_are_the_ones_botocore_documents():
    operation = botocore.session.get_session().get_service_model("ecs").operation_model("UpdateService")
    assert set(SERVICE_INPUT_TO_UPDATE_MEMBER.values()) <= set(operation.input_shape.members)
    doc = re.sub(r"<[^>]+>", "", operation.documentation)
    [rule] = re.findall(r"blue/green \(CODE_DEPLOY\) deployment controller, only (.+?) can be updated", doc)
    phrases = {
        "desiredCount": "desired count",
        "deploymentConfiguration": "deployment configuration",
        "healthCheckGracePeriodSeconds": "health check grace period",
        "placementConstraints": "task placement constraints",
        "placementStrategy": "strategies",
        "enableECSManagedTags": "enable ECS managed tags",
        "propagateTags": "propagate tags",
    }
    assert set(phrases) == UPDATABLE_ON_CODE_DEPLOY
    for phrase in phrases.values():
        assert phrase in rule
    for refused in ("network configuration", "platform version", "load balancer", "task definition"):
        assert refused not in rule


@pytest.mark.parametrize("releases", [1, 2])
def test_after_releases_destroy_deletes_every_user_before_what_it_uses(services, releases):
    assert unordered_deletes(services, after_release(services, releases)) == []


def test_after_a_release_the_listeners_forward_to_green(services, services_released):
    for spec in CATALOGUE:
        service = one_owned(services, spec, SERVICE)
        _, green = colours(services, service)
        listeners = [
            r for r in services.all(LISTENER) if f"-{spec.name}-" in r.name and "redirect" not in r.name
        ]
        for listener in listeners:
            [action] = services_released[f"{LISTENER}::{listener.name}"]["defaultActions"]
            assert action["targetGroupArn"] == green.state["arn"]


def test_the_destroy_check_catches_a_listener_that_depends_on_blue_only(services, services_released):
    broken = []
    greens = {colours(services, s)[1].urn for s in services.all(SERVICE)}
    for resource in services.resources:
        if resource.type == LISTENER:
            resource = dataclasses.replace(
                resource, dependencies=tuple(d for d in resource.dependencies if d not in greens)
            )
        broken.append(resource)
    evaluation = dataclasses.replace(services, resources=tuple(broken))
    found = unordered_deletes(evaluation, services_released)
    assert found
    assert {usage.used for usage in found} <= greens


def test_a_second_up_after_a_release_proposes_no_change(services, services_released):
    assert second_up(services_released, services) == []


def test_config_changes_after_a_release_are_nothing_aws_refuses(services_changed, services_released):
    changes = second_up(services_released, services_changed)
    assert changes  # the alt knobs do change things in place
    assert [c for c in changes if c.refused] == []
    assert [c for c in changes if c.replaces] == []


def test_no_config_change_replaces_a_target_group(services_changed, services_released):
    groups = {c.resource: c for c in second_up(services_released, services_changed)}
    for resource in services_changed.all(TARGET_GROUP):
        change = groups.get(f"{TARGET_GROUP}::{resource.name}")
        assert change is None or not change.replaces, change


def test_the_check_catches_a_service_that_would_send_network_changes_to_updateservice(
    services_changed, services_released
):
    unguarded = tuple(
        dataclasses.replace(r, ignore_changes=("taskDefinition", "loadBalancers", "desiredCount"))
        if r.type == SERVICE
        else r
        for r in services_changed.resources
    )
    changes = second_up(services_released, dataclasses.replace(services_changed, resources=unguarded))
    refused = {key for change in changes for key in change.refused}
    assert {"networkConfiguration", "platformVersion", "capacityProviderStrategies"} <= refused


@pytest.mark.parametrize("spec", SPECS)
def test_up_says_which_services_need_a_release(services, services_changed, spec):
    assert services.exports["pendingReleases"][spec.name] == []
    # SERVICES_CHANGED_CONFIG: task size, ARM64, health check, stop timeout and the secret cache TTL
    # reach the tasks through a new task-definition revision, so only with the next release too.
    secrets = ["taskDefinition.environment.SECRET_CACHE_TTL_SECONDS"] if spec.secrets else []
    assert services_changed.exports["pendingReleases"][spec.name] == [
        "networkConfiguration",
        "platformVersion",
        "capacityProviderStrategy",
        "taskDefinition.cpu",
        "taskDefinition.memory",
        "taskDefinition.runtimePlatform",
        *secrets,
        "taskDefinition.healthCheck",
        "taskDefinition.stopTimeout",
    ]


@pytest.mark.parametrize("spec", SPECS)
def test_release_settings_carry_the_desired_network_platform_and_strategy(services_changed, spec):
    settings = services_changed.exports["appSpecProperties"][spec.name]
    awsvpc = settings["networkConfiguration"]["awsvpcConfiguration"]
    assert awsvpc["securityGroups"][1:] == [EXTRA_TASK_GROUP]
    assert awsvpc["assignPublicIp"] == "DISABLED"
    assert len(awsvpc["subnets"]) == 3
    assert settings["platformVersion"] == "1.4.0"
    assert settings["capacityProviderStrategy"] == [
        {"capacityProvider": "FARGATE", "weight": 1, "base": 0},
        {"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 0},
    ]


@pytest.mark.parametrize("spec", SPECS)
def test_every_argument_that_replaces_a_target_group_is_set_explicitly(services, spec):
    for group in owned_by(services, spec, TARGET_GROUP):
        forcing = FORCES_NEW[TARGET_GROUP] - {"name", "namePrefix"}  # auto-named: Pulumi keeps the name
        assert forcing <= set(group.inputs), forcing - set(group.inputs)
        assert group.inputs["port"] == spec.container_port  # from the catalogue, not config


def test_the_check_reports_a_target_group_a_change_would_replace(services, services_released):
    moved = tuple(
        dataclasses.replace(r, inputs={**r.inputs, "port": r.inputs["port"] + 1})
        if r.type == TARGET_GROUP
        else r
        for r in services.resources
    )
    changes = second_up(services_released, dataclasses.replace(services, resources=moved))
    replaced = [c for c in changes if c.replaces == ("port",)]
    assert len(replaced) == len(services.all(TARGET_GROUP))


def test_plan_change_lists_the_changes_and_the_services_that_need_a_release(services, services_changed):
    report = change_report({"services": services}, {"services": services_changed})
    assert set(report["services"]["pendingReleases"]) == {spec.name for spec in CATALOGUE}
    assert not blocking(report)
    text = "\n".join(render_change(report))
    assert (
        "needs a release: payment-processor (networkConfiguration, platformVersion, "
        "capacityProviderStrategy, taskDefinition.cpu," in text
    )


def test_plan_change_blocks_what_aws_refuses_or_a_replaced_target_group():
    refused = {
        "services": {
            "changes": [{"resource": f"{SERVICE}::s", "keys": ["x"], "replaces": [], "refused": ["x"]}]
        }
    }
    replaced = {
        "services": {
            "changes": [
                {"resource": f"{TARGET_GROUP}::t", "keys": ["port"], "replaces": ["port"], "refused": []}
            ]
        }
    }
    assert blocking(refused)
    assert blocking(replaced)
    assert "REFUSED by AWS: x" in "\n".join(
        render_change({k: {**v, "pendingReleases": {}} for k, v in refused.items()})
    )
