"""Blue/green releases: the CodeDeploy application, role and groups, and the alarms that roll back."""

from __future__ import annotations

import pytest

from shared.catalogue import CATALOGUE, INTERNAL
from tests.helpers import statements
from tests.services.conftest import SPECS, STACKS, one_owned, owned_by

GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RELEASE_ALARMS = "payments:services:DeploymentAlarms"  # the on-call alarms live in OnCallAlarms


def release_alarms(evaluation, spec=None):
    """The alarms CodeDeploy polls: children of a DeploymentAlarms component."""
    found = evaluation.all(ALARM) if spec is None else owned_by(evaluation, spec, ALARM)
    return [a for a in found if f"{RELEASE_ALARMS}::" in a.parent]


def test_one_ecs_application_and_a_codedeploy_role_with_the_ecs_managed_policy(services):
    application = services.one("aws:codedeploy/application:Application")
    assert (application.inputs["name"], application.inputs["computePlatform"]) == (
        "codedeploy-payments-dev",
        "ECS",
    )
    role = services.one("aws:iam/role:Role", "role-codedeploy-dev")
    [trust] = statements(role.inputs["assumeRolePolicy"])
    assert trust["Principal"] == {"Service": "codedeploy.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    [attachment] = services.all("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS"
    assert attachment.inputs["role"] == "role-codedeploy-dev"


@pytest.mark.parametrize(("fixture", "suffix"), STACKS)
@pytest.mark.parametrize("spec", SPECS)
def test_each_service_has_a_blue_green_group_wired_to_its_own_target_groups_and_listeners(
    request, fixture, suffix, spec
):
    evaluation = request.getfixturevalue(fixture)
    group = one_owned(evaluation, spec, GROUP).inputs
    groups = {
        g.name.split("-")[2]: g.state["name"]
        for g in owned_by(evaluation, spec, "aws:lb/targetGroup:TargetGroup")
    }
    listeners = {r.name: r.state["arn"] for r in owned_by(evaluation, spec, "aws:lb/listener:Listener")}
    assert group["deploymentGroupName"] == f"deployment-group-{spec.name}-{suffix}"
    assert group["appName"] == f"codedeploy-payments-{suffix}"
    assert (
        group["serviceRoleArn"]
        == evaluation.one("aws:iam/role:Role", f"role-codedeploy-{suffix}").state["arn"]
    )
    assert group["deploymentStyle"] == {
        "deploymentType": "BLUE_GREEN",
        "deploymentOption": "WITH_TRAFFIC_CONTROL",
    }
    assert group["ecsService"] == {
        "clusterName": f"ecs-cluster-{suffix}",
        "serviceName": f"ecs-service-{spec.name}-{suffix}",
    }
    pair = group["loadBalancerInfo"]["targetGroupPairInfo"]
    assert [t["name"] for t in pair["targetGroups"]] == [groups["blue"], groups["green"]]
    assert pair["prodTrafficRoute"]["listenerArns"] == [listeners[f"listener-{spec.name}-prod-{suffix}"]]
    assert pair["testTrafficRoute"]["listenerArns"] == [listeners[f"listener-{spec.name}-test-{suffix}"]]
    assert group["autoRollbackConfiguration"] == {
        "enabled": True,
        "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
    }
    alarms = sorted(a.inputs["name"] for a in release_alarms(evaluation, spec))
    assert sorted(group["alarmConfiguration"]["alarms"]) == alarms
    assert group["alarmConfiguration"]["enabled"] is True
    blue_green = group["blueGreenDeploymentConfig"]
    assert blue_green["deploymentReadyOption"] == {"actionOnTimeout": "CONTINUE_DEPLOYMENT"}
    terminate = blue_green["terminateBlueInstancesOnDeploymentSuccess"]
    if fixture == "services":
        assert group["deploymentConfigName"] == "CodeDeployDefault.ECSAllAtOnce"
        assert terminate == {"action": "TERMINATE", "terminationWaitTimeInMinutes": 5}
    else:
        assert group["deploymentConfigName"] == "CodeDeployDefault.ECSCanary10Percent5Minutes"
        assert terminate == {"action": "TERMINATE", "terminationWaitTimeInMinutes": 15}


def test_deployment_groups_wait_for_the_codedeploy_policy(services):
    attachment = services.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    for group in services.all(GROUP):
        assert attachment.urn in group.dependencies, group.name


@pytest.mark.parametrize("spec", SPECS)
def test_alarms_watch_5xx_and_unhealthy_hosts_on_both_target_groups(services, platform, spec):
    alarms = {a.inputs["name"]: a.inputs for a in release_alarms(services, spec)}
    expected = {f"alarm-{spec.name}-5xx-dev", f"alarm-{spec.name}-unhealthy-hosts-dev"}
    if spec.load_balancer != INTERNAL:
        expected.add(f"alarm-{spec.name}-latency-dev")
    assert set(alarms) == expected
    suffixes = sorted(
        g.state["arnSuffix"] for g in owned_by(services, spec, "aws:lb/targetGroup:TargetGroup")
    )
    balancer = platform.exports["internalAlbArn" if spec.load_balancer == INTERNAL else "publicAlbArn"]
    metrics = {
        "5xx": "HTTPCode_Target_5XX_Count",
        "unhealthy-hosts": "UnHealthyHostCount",
        "latency": "TargetResponseTime",
    }
    for name, alarm in alarms.items():
        purpose = name.removeprefix(f"alarm-{spec.name}-").removesuffix("-dev")
        queries = {q["id"]: q for q in alarm["metricQueries"]}
        raw = [queries["blue_raw"]["metric"], queries["green_raw"]["metric"]]
        assert {m["metricName"] for m in raw} == {metrics[purpose]}
        assert sorted(m["dimensions"]["TargetGroup"] for m in raw) == suffixes
        assert {m["dimensions"]["LoadBalancer"] for m in raw} == {balancer.split(":loadbalancer/")[1]}
        assert [q["id"] for q in alarm["metricQueries"] if q.get("returnData")] == ["combined"]
        assert alarm["treatMissingData"] == "notBreaching"
        assert alarm["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarms[f"alarm-{spec.name}-5xx-dev"]["threshold"] == 5
    assert alarms[f"alarm-{spec.name}-unhealthy-hosts-dev"]["threshold"] == 1


def test_alarm_thresholds_come_from_config(services_alt):
    gateway = CATALOGUE[0].name
    alarms = {a.inputs["name"]: a.inputs for a in release_alarms(services_alt)}
    assert alarms[f"alarm-{gateway}-latency-qa-7"]["threshold"] == 0.75
    assert alarms[f"alarm-{gateway}-5xx-qa-7"]["threshold"] == 20
    assert {a["evaluationPeriods"] for a in alarms.values()} == {3}
