"""The services layer's environment-wide alarms: ECS failing to start this cluster's tasks (an
EventBridge rule matched with moto's engine against the shape of ECS's service action events), the
HTTPS certificate's expiry only where a certificate is configured, and each release hook's errors and
throttles."""

from __future__ import annotations

import json

import pytest
from moto.events.models import EventPattern

from tests.conftest import CERTIFICATE_ARN

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RULE = "aws:cloudwatch/eventRule:EventRule"


def by_name(evaluation):
    return {a.inputs["name"]: a.inputs for a in evaluation.all(ALARM)}


def service_action(event_name: str, cluster_arn: str) -> dict:
    """An "ECS Service Action" event (ECS developer guide, "Amazon ECS service action events")."""
    return {
        "version": "0",
        "id": "57c9506e-9d21-294c-d2fe-e8738da7e67d",
        "detail-type": "ECS Service Action",
        "source": "aws.ecs",
        "account": "123456789012",
        "time": "2026-12-06T03:00:00Z",
        "region": "us-east-1",
        "resources": [cluster_arn.replace(":cluster/", ":service/") + "/ecs-service-api-gateway-dev"],
        "detail": {
            "eventType": "WARN" if event_name.endswith("IMPAIRED") else "INFO",
            "eventName": event_name,
            "clusterArn": cluster_arn,
            "createdAt": "2026-12-06T03:00:00.000Z",
        },
    }


@pytest.mark.parametrize(
    ("event_name", "this_cluster", "notified"),
    [
        ("SERVICE_TASK_START_IMPAIRED", True, True),
        ("SERVICE_TASK_PLACEMENT_FAILURE", True, True),
        ("SERVICE_TASK_CONFIGURATION_FAILURE", True, True),
        ("SERVICE_STEADY_STATE", True, False),
        ("SERVICE_TASK_START_IMPAIRED", False, False),
    ],
)
def test_ecs_failing_to_start_this_clusters_tasks_pages(
    services, platform, event_name, this_cluster, notified
):
    [rule] = [r for r in services.all(RULE) if r.inputs["name"] == "events-tasks-cannot-start-dev"]
    cluster = (
        platform.exports["clusterArn"] if this_cluster else "arn:aws:ecs:us-east-1:123456789012:cluster/other"
    )
    assert (
        EventPattern.load(rule.inputs["eventPattern"]).matches_event(service_action(event_name, cluster))
        is notified
    )
    assert "Severity: page" in rule.inputs["description"]


def test_the_certificate_alarm_exists_only_with_a_certificate(services, services_alt):
    assert "alarm-certificate-expiry-dev" not in by_name(services)  # the example serves plain HTTP
    alarm = by_name(services_alt)["alarm-certificate-expiry-qa-7"]
    assert (alarm["namespace"], alarm["metricName"]) == ("AWS/CertificateManager", "DaysToExpiry")
    assert alarm["dimensions"] == {"CertificateArn": CERTIFICATE_ARN}
    assert alarm["period"] == 86_400
    assert alarm["statistic"] == "Minimum"
    assert alarm["comparisonOperator"] == "LessThanThreshold"
    assert alarm["threshold"] == 45


@pytest.mark.parametrize("hook", ["scan-gate", "smoke-test"])
def test_each_release_hook_has_an_errors_and_throttles_alarm(services, hook):
    functions = {f.inputs["name"] for f in services.all("aws:lambda/function:Function")}
    alarm = by_name(services)[f"alarm-lambda-{hook}-failures-dev"]
    metrics = {q["metric"]["metricName"]: q["metric"] for q in alarm["metricQueries"] if q.get("metric")}
    assert set(metrics) == {"Errors", "Throttles"}
    assert {m["dimensions"]["FunctionName"] for m in metrics.values()} <= functions
    [result] = [q for q in alarm["metricQueries"] if q.get("returnData")]
    assert result["expression"] == "FILL(errors, 0) + FILL(throttles, 0)"
    assert "Severity: ticket" in alarm["alarmDescription"]


def test_the_rotation_function_has_an_errors_and_throttles_alarm(platform):
    alarm = by_name(platform)["alarm-lambda-secret-rotation-failures-dev"]
    [function] = [
        f.inputs["name"]
        for f in platform.all("aws:lambda/function:Function")
        if "rotation" in f.inputs["name"]
    ]
    names = {q["metric"]["dimensions"]["FunctionName"] for q in alarm["metricQueries"] if q.get("metric")}
    assert names == {function}
    assert json.dumps(alarm["alarmActions"]).count("sns-tickets-dev") == 1
