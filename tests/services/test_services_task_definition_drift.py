"""`pendingReleases` names the task-definition fields a release must carry: the stack's revision against
the one the service runs (read with the getTaskDefinition invoke, which the offline engine answers as
DescribeTaskDefinition does, ECS's filled-in defaults included)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from offline.layer_projects import Layer, evaluate_layer
from shared.catalogue import CATALOGUE
from shared.config.services import HealthCheckConfig
from shared.container_settings import DATABASE_POOL_SIZE
from stacks.services.task_definition import ContainerInputs, container_definition
from stacks.services.task_definition_drift import drift, reduce_container

TOKEN = "aws:ecs/getTaskDefinition:getTaskDefinition"


@pytest.fixture(scope="module")
def pool_changed(network, platform, services_released):
    """A second `up` of the released dev stack with only databasePoolSize changed."""
    return evaluate_layer(
        "services",
        config={"databasePoolSize": 25},
        upstream={
            Layer("network").stack_name("dev"): network.exports,
            Layer("platform").stack_name("dev"): platform.exports,
        },
        live=services_released,
    )


def test_a_released_stack_with_only_the_pool_size_changed_names_that_variable_alone(pool_changed):
    pending = pool_changed.exports["pendingReleases"]
    for spec in CATALOGUE:
        expected = ["taskDefinition.environment.DATABASE_POOL_SIZE"] if spec.database_client else []
        assert pending[spec.name] == expected, spec.name
    # It read the revision each release registered, not the stack's own.
    read = sorted(i.args["taskDefinition"] for i in pool_changed.invokes if i.token == TOKEN)
    assert len(read) == len(CATALOGUE)
    assert all(arn.endswith(":2") for arn in read)


def test_a_fresh_stack_compares_its_revision_with_itself(services):
    assert all(fields == [] for fields in services.exports["pendingReleases"].values())
    assert len([i for i in services.invokes if i.token == TOKEN]) == len(CATALOGUE)


def container(**changes):
    spec = next(s for s in CATALOGUE if s.database_client)
    inputs = ContainerInputs(
        image="111111111111.dkr.ecr.us-east-1.amazonaws.com/ecr-payment-processor-dev@sha256:" + "a" * 64,
        log_group="/ecs/payment-processor-dev",
        region="us-east-1",
        secret_arns={"DATABASE": "arn:aws:secretsmanager:us-east-1:111111111111:secret:db-AbCdEf"},
        downstream_urls={},
        health_check=HealthCheckConfig(
            interval_seconds=30, timeout_seconds=5, retries=3, start_period_seconds=60
        ),
        stop_timeout_seconds=30,
        settings={DATABASE_POOL_SIZE.key: 8},
    )
    return container_definition(spec, dataclasses.replace(inputs, **changes))


def task(containers, **fields):
    return {
        "cpu": "512",
        "memory": "1024",
        "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        "taskRoleArn": "arn:aws:iam::111111111111:role/task",
        "executionRoleArn": "arn:aws:iam::111111111111:role/execution",
        "volumes": [{"name": "tmp"}],
        "containerDefinitions": containers,
        **fields,
    }


def as_ecs_returns_it(definition):
    """What DescribeTaskDefinition returns for what was registered: filled-in defaults, reordered lists."""
    returned = json.loads(json.dumps(definition))
    for c in returned["containerDefinitions"]:
        c.update(cpu=0, volumesFrom=[], systemControls=[], environment=list(reversed(c["environment"])))
        for port in c["portMappings"]:
            port["hostPort"] = port["containerPort"]
    return returned


def test_what_ecs_fills_in_or_reorders_is_no_drift_and_the_image_never_is():
    wanted = task([container()])
    running = as_ecs_returns_it(task([container(image="other@sha256:" + "b" * 64)]))
    assert drift(wanted, running, "payment-processor") == []
    assert reduce_container(running["containerDefinitions"][0])["environment"] == sorted(
        wanted["containerDefinitions"][0]["environment"], key=lambda e: e["name"]
    )


@pytest.mark.parametrize(
    ("wanted", "fields"),
    [
        (task([container()], cpu="1024"), ["taskDefinition.cpu"]),
        (task([container()], cpu=512), []),  # a number and the API's string are the same size
        (
            task(
                [container()], runtimePlatform={"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}
            ),
            ["taskDefinition.runtimePlatform"],
        ),
        (task([container(stop_timeout_seconds=60)]), ["taskDefinition.stopTimeout"]),
        (
            task([container(settings={DATABASE_POOL_SIZE.key: 25})]),
            ["taskDefinition.environment.DATABASE_POOL_SIZE"],
        ),
        (
            task(
                [
                    container(
                        secret_arns={
                            "DATABASE": "arn:aws:secretsmanager:us-east-1:111111111111:secret:db-New1"
                        }
                    )
                ]
            ),
            ["taskDefinition.environment.DATABASE_SECRET_ARN"],
        ),
        (
            task(
                [
                    container(
                        health_check=HealthCheckConfig(
                            interval_seconds=10, timeout_seconds=5, retries=3, start_period_seconds=60
                        )
                    )
                ]
            ),
            ["taskDefinition.healthCheck"],
        ),
        (task([container(execute_command=True)]), ["taskDefinition.mountPoints"]),
        (
            task([container()], volumes=[{"name": "tmp"}, {"name": "exec-ssm-lib"}]),
            ["taskDefinition.volumes"],
        ),
        (task([container(), {**container(), "name": "sidecar"}]), ["taskDefinition.containerDefinitions"]),
    ],
    ids=[
        "cpu",
        "cpu-as-number",
        "arch",
        "stop",
        "pool",
        "secret",
        "health",
        "exec-mounts",
        "volumes",
        "sidecar",
    ],
)
def test_each_changed_field_is_named(wanted, fields):
    running = as_ecs_returns_it(task([container()]))
    assert drift(wanted, running, "payment-processor") == fields
