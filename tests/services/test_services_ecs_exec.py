"""ECS Exec where the platform enables it (`ecsExec`, off by default): the service flag, the task role's
channels, session logs and key, and writable paths for the SSM agent on a read-only root filesystem."""

from __future__ import annotations

import json

import pytest

from stacks.services.iam import SSM_MESSAGES_ACTIONS
from stacks.services.task_definition import EXEC_VOLUMES
from tests.helpers import statements
from tests.services.conftest import SPECS, one_owned

SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def task_policy(evaluation, spec):
    return {
        s.get("Sid"): s
        for s in statements(one_owned(evaluation, spec, ROLE_POLICY, "-task-").inputs["policy"])
    }


def test_ecs_exec_is_off_unless_a_stack_turns_it_on(platform):
    assert platform.exports["ecsExecLogGroupName"] == ""


@pytest.mark.parametrize("spec", SPECS)
def test_without_ecs_exec_services_get_no_flag_channels_or_volumes(services, spec):
    assert one_owned(services, spec, SERVICE).inputs["enableExecuteCommand"] is False
    policy = task_policy(services, spec)
    assert not any(a.startswith("ssmmessages:") for s in policy.values() for a in _list(s["Action"]))
    definition = one_owned(services, spec, TASK_DEFINITION).inputs
    assert [v["name"] for v in definition["volumes"]] == ["tmp"]


@pytest.mark.parametrize("spec", SPECS)
def test_with_ecs_exec_the_service_flag_is_on(services_alt, spec):
    assert one_owned(services_alt, spec, SERVICE).inputs["enableExecuteCommand"] is True


@pytest.mark.parametrize("spec", SPECS)
def test_with_ecs_exec_the_task_role_opens_channels_and_writes_only_the_exec_log_group(
    services_alt, platform_alt, spec
):
    policy = task_policy(services_alt, spec)
    group = platform_alt.exports["ecsExecLogGroupName"]
    assert group.startswith("/ecs/exec-")
    assert sorted(_list(policy["EcsExecChannels"]["Action"])) == sorted(SSM_MESSAGES_ACTIONS)
    writes = policy["EcsExecWriteSessionLogs"]
    assert all(f":log-group:{group}:" in arn for arn in _list(writes["Resource"]))
    assert sorted(_list(writes["Action"])) == [
        "logs:CreateLogStream",
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
    ]
    key = policy["EcsExecSessionKey"]
    assert _list(key["Action"]) == ["kms:Decrypt"]
    assert _list(key["Resource"]) == [platform_alt.exports["kmsKeyArn"]]


@pytest.mark.parametrize("spec", SPECS)
def test_with_ecs_exec_the_ssm_agent_paths_are_writable_on_the_read_only_root(services_alt, spec):
    inputs = one_owned(services_alt, spec, TASK_DEFINITION).inputs
    [container] = json.loads(inputs["containerDefinitions"])
    assert container["readonlyRootFilesystem"] is True
    mounted = {m["containerPath"]: m["sourceVolume"] for m in container["mountPoints"] if not m["readOnly"]}
    for volume, path in EXEC_VOLUMES.items():
        assert mounted[path] == volume
    assert set(EXEC_VOLUMES) <= {v["name"] for v in inputs["volumes"]}


def _list(value):
    return [value] if isinstance(value, str) else list(value)
