"""End to end against moto: change the services' security group in config, `up` (offline), release,
and the new task set runs with the new group; the same for the platform version and the capacity
provider strategy. UpdateService would refuse all three on a CODE_DEPLOY service."""

from __future__ import annotations

import copy
import json

import boto3
import pytest

from release import cli
from tests.aws_fakes import ACCOUNT, REGION, codedeploy_group, create_network, push_image, set_scan
from tests.conftest import EXTRA_TASK_GROUP

CLUSTER, SERVICE, FAMILY = (
    "ecs-cluster-dev",
    "ecs-service-payment-processor-dev",
    "task-payment-processor-dev",
)
REPOSITORY = "ecr-payment-processor-dev"
APP, GROUP = "codedeploy-payments-dev", "deployment-group-payment-processor-dev"
URI = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}"


@pytest.fixture
def running(aws, codedeploy_starts_task_sets, monkeypatch, services, services_changed):
    """payment-processor as the first `up` of the dev stack left it, with the first `up`'s settings."""
    first = services.exports["appSpecProperties"]["payment-processor"]
    changed = services_changed.exports["appSpecProperties"]["payment-processor"]
    awsvpc = changed["networkConfiguration"]["awsvpcConfiguration"]
    create_network(monkeypatch, awsvpc["subnets"], awsvpc["securityGroups"])
    boto3.client("ecr", region_name=REGION).create_repository(repositoryName=REPOSITORY)
    push_image(REPOSITORY, "v1")
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName=CLUSTER)
    definition = ecs.register_task_definition(
        family=FAMILY,
        containerDefinitions=[{"name": "payment-processor", "image": f"{URI}:v1", "memory": 2048}],
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="1024",
        memory="2048",
    )["taskDefinition"]
    ecs.create_service(
        cluster=CLUSTER,
        serviceName=SERVICE,
        taskDefinition=definition["taskDefinitionArn"],
        desiredCount=2,
        deploymentController={"type": "CODE_DEPLOY"},
        platformVersion=first["platformVersion"],
        networkConfiguration=first["networkConfiguration"],
    )
    codedeploy_group(APP, GROUP, CLUSTER, SERVICE)
    v2 = push_image(REPOSITORY, "v2")
    set_scan(REPOSITORY, v2, "COMPLETE")
    return first


@pytest.fixture
def stack_outputs(running, services_changed) -> dict:
    """The changed stack's outputs, its task definition registered as `up` would (bigger tasks)."""
    ecs = boto3.client("ecs", region_name=REGION)
    revision = ecs.register_task_definition(
        family=FAMILY,
        containerDefinitions=[{"name": "payment-processor", "image": f"{URI}:v1", "memory": 4096}],
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="2048",
        memory="4096",
    )["taskDefinition"]["taskDefinitionArn"]
    outputs = copy.deepcopy(services_changed.exports)
    outputs["appSpecProperties"]["payment-processor"]["taskDefinition"] = revision
    return outputs


def release(outputs: dict, lines: list[str]) -> int:
    return cli.main(
        ["dev", "payment-processor", "v2", "--no-wait"],
        clients=lambda service, region: boto3.client(service, region_name=region),
        out=lines.append,
        outputs=lambda stack: outputs,
    )


def task_sets() -> list[dict]:
    ecs = boto3.client("ecs", region_name=REGION)
    return ecs.describe_task_sets(cluster=CLUSTER, service=SERVICE)["taskSets"]


def test_a_release_after_up_runs_the_new_task_set_with_the_changed_settings(running, stack_outputs):
    lines: list[str] = []
    assert release(stack_outputs, lines) == cli.OK
    [task_set] = task_sets()
    awsvpc = task_set["networkConfiguration"]["awsvpcConfiguration"]
    assert EXTRA_TASK_GROUP in awsvpc["securityGroups"]
    assert EXTRA_TASK_GROUP not in running["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"]
    assert (
        awsvpc["securityGroups"][0]
        == running["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"][0]
    )
    assert task_set["platformVersion"] == "1.4.0"
    assert {(s["capacityProvider"], s["weight"]) for s in task_set["capacityProviderStrategy"]} == {
        ("FARGATE", 1),
        ("FARGATE_SPOT", 3),
    }
    # The release copies the stack's revision (2: bigger tasks), not the running one (1).
    assert task_set["taskDefinition"].endswith(f"task-definition/{FAMILY}:3")
    released = boto3.client("ecs", region_name=REGION).describe_task_definition(
        taskDefinition=task_set["taskDefinition"]
    )["taskDefinition"]
    assert (released["cpu"], released["memory"]) == ("2048", "4096")
    assert released["containerDefinitions"][0]["image"].startswith(f"{URI}@sha256:")
    text = "\n".join(lines)
    assert "carries the config changes waiting for it: networkConfiguration, platformVersion" in text


def test_without_stack_outputs_a_release_keeps_the_running_settings_and_says_so(running):
    lines: list[str] = []
    assert release({}, lines) == cli.OK
    [task_set] = task_sets()
    assert task_set["networkConfiguration"] == running["networkConfiguration"]
    assert "keeps the service's running network configuration" in "\n".join(lines)


def test_outputs_from_a_file_in_either_json_shape(running, stack_outputs, tmp_path):
    saved = tmp_path / "outputs.json"
    saved.write_text(json.dumps({"services": stack_outputs}, default=str))
    lines: list[str] = []
    code = cli.main(
        ["dev", "payment-processor", "v2", "--no-wait", "--outputs", str(saved)],
        clients=lambda service, region: boto3.client(service, region_name=region),
        out=lines.append,
    )
    assert code == cli.OK
    [task_set] = task_sets()
    assert EXTRA_TASK_GROUP in task_set["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"]


def test_unreadable_outputs_are_refused_before_anything_changes(running, tmp_path):
    lines: list[str] = []
    code = cli.main(
        ["dev", "payment-processor", "v2", "--outputs", str(tmp_path / "missing.json")],
        clients=lambda service, region: boto3.client(service, region_name=region),
        out=lines.append,
    )
    assert code == cli.REFUSED
    assert "cannot read stack outputs" in "\n".join(lines)
    assert task_sets() == []


def test_without_a_pulumi_cli_the_outputs_are_not_read(monkeypatch):
    from deploy.backend import AutomationBackend
    from release.appspec_properties import from_pulumi

    monkeypatch.setattr(AutomationBackend, "cli_version", lambda self: None)
    assert from_pulumi("dev") is None


def test_release_settings_with_an_unknown_field_are_refused():
    from release.appspec_properties import desired_settings
    from release.targets import ReleaseError

    outputs = {"appSpecProperties": {"payment-processor": {"desiredCount": 3}}}
    with pytest.raises(ReleaseError, match="unknown fields"):
        desired_settings(outputs, "payment-processor", lambda line: None)


def test_a_stack_revision_that_cannot_be_read_is_refused_before_anything_changes(running, stack_outputs):
    stack_outputs["appSpecProperties"]["payment-processor"]["taskDefinition"] = (
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{FAMILY}:99"
    )
    lines: list[str] = []
    assert release(stack_outputs, lines) == cli.REFUSED
    assert "the stack's task definition" in "\n".join(lines)
    assert task_sets() == []
