"""Destroy removes the task-definition revisions releases registered: deregister, then delete."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from deploy import task_definitions
from deploy.runner import FAILED, SUCCEEDED, Deployer
from deploy.task_definitions import DELETE_BATCH, families, remove_revisions
from tests.aws_fakes import REGION
from tests.deploy.conftest import OFFLINE_AWS, FakeBackend


def register(ecs, family: str, count: int) -> list[str]:
    container = {"name": "app", "image": "example:1", "memory": 512}
    return [
        ecs.register_task_definition(family=family, containerDefinitions=[container])["taskDefinition"][
            "taskDefinitionArn"
        ]
        for _ in range(count)
    ]


def test_the_families_are_the_services_layers_names():
    assert families("qa-7") == [
        "task-api-gateway-qa-7",
        "task-payment-processor-qa-7",
        "task-fraud-detector-qa-7",
    ]


def test_every_revision_of_the_families_is_deregistered_then_deleted_and_nothing_else(aws):
    ecs = boto3.client("ecs", region_name=REGION)
    mine = register(ecs, "task-api-gateway-dev", DELETE_BATCH + 2)  # more than one delete call
    mine += register(ecs, "task-fraud-detector-dev", 1)
    ecs.deregister_task_definition(taskDefinition=mine[0])  # one already INACTIVE
    others = register(ecs, "task-api-gateway-dev-old", 1) + register(ecs, "task-api-gateway-qa-7", 1)
    lines: list[str] = []
    removal = remove_revisions(ecs, families("dev"), lines.append)
    assert sorted(removal.deleted) == sorted(mine)
    assert len(removal.deregistered) == len(mine) - 1
    assert removal.failures == []
    left = ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"]
    assert sorted(left) == sorted(others)
    assert ecs.list_task_definitions(status="INACTIVE")["taskDefinitionArns"] == []  # DELETE_IN_PROGRESS
    assert lines == [f"task definitions: {len(mine) - 1} deregistered, {len(mine)} deleted"]


@pytest.mark.usefixtures("repo", "passphrase")
def test_destroy_of_the_services_layer_removes_the_stacks_revisions(task_definition_removals):
    backend = FakeBackend().deployed("network", "platform", "services")
    results = Deployer(backend, out=[].append, **OFFLINE_AWS).run("destroy", "dev")
    assert [r.status for r in results] == [SUCCEEDED] * 3
    assert task_definition_removals == [("us-east-1", "dev")]


@pytest.mark.usefixtures("repo", "passphrase")
def test_a_clean_up_that_aws_refuses_fails_the_layer_and_says_to_run_destroy_again(monkeypatch):
    def refuse(region, suffix, out):
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DeleteTaskDefinitions"
        )

    monkeypatch.setattr(task_definitions, "remove_release_revisions", refuse)
    results = Deployer(
        FakeBackend().deployed("network", "platform", "services"),
        out=[].append,
        **OFFLINE_AWS,
    ).run("destroy", "dev")
    assert results[0].status == FAILED
    assert "run destroy again" in results[0].detail
    assert [r.status for r in results[1:]] == ["not run", "not run"]


@pytest.mark.usefixtures("repo", "passphrase")
def test_other_layers_leave_task_definitions_alone(task_definition_removals):
    backend = FakeBackend().deployed("network", "platform")
    results = Deployer(backend, out=[].append, **OFFLINE_AWS).run("destroy", "dev", "platform")
    assert [r.status for r in results] == [SUCCEEDED]
    assert task_definition_removals == []
