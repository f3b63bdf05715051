"""The alarms, event rules and dashboard against the world: every metric, namespace and dimension set
against what AWS documents (tests/reference/aws_cloudwatch_metrics.json, one source page per
namespace), every request against botocore's service models, and the event patterns against moto's
implementation of EventBridge matching with AWS's documented sample events."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator
from moto.events.models import EventPattern

from offline.layer_projects import evaluate_layer
from stacks.platform.rotation_events import ROTATION_FAILED_PATTERN
from stacks.services.dashboard import DashboardInputs, ServicePanel, dashboard_body
from stacks.services.deployment_events import deployment_failed_pattern

REFERENCE = json.loads(
    (Path(__file__).resolve().parents[1] / "reference" / "aws_cloudwatch_metrics.json").read_text()
)
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RULE = "aws:cloudwatch/eventRule:EventRule"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
# MetricDataQuery.Id: "must start with a lowercase letter", letters, digits and underscores
# (CloudWatch API reference, MetricDataQuery).
QUERY_ID = re.compile(r"[a-z][a-zA-Z0-9_]*")
Metric = tuple[str, str, frozenset[str]]


@pytest.fixture(scope="module")
def layers(network_ha, platform, services, services_alt):
    without_waf = evaluate_layer(
        "platform",
        config={"waf": False},
        upstream={"organization/payments-network/dev": network_ha.exports},
    )
    return [network_ha, platform, without_waf, services, services_alt]  # services_alt: HTTPS, a certificate


@pytest.fixture(scope="module")
def cloudwatch():
    return botocore.session.get_session().get_service_model("cloudwatch")


@pytest.fixture(scope="module")
def events():
    return botocore.session.get_session().get_service_model("events")


def alarm_metrics(alarm: dict[str, Any]) -> Iterator[Metric]:
    if alarm.get("metricName"):
        yield alarm["namespace"], alarm["metricName"], frozenset(alarm.get("dimensions") or {})
    for query in alarm.get("metricQueries") or []:
        metric = query.get("metric")
        if metric:
            yield metric["namespace"], metric["metricName"], frozenset(metric.get("dimensions") or {})


def dashboard_metrics(body: dict[str, Any]) -> Iterator[Metric]:
    for widget in body["widgets"]:
        for row in widget["properties"].get("metrics", []):
            if isinstance(row[0], str):
                plain = [v for v in row if isinstance(v, str)]
                yield plain[0], plain[1], frozenset(plain[2::2])


def documented(metric: Metric) -> str | None:
    """Why AWS would not publish `metric`, or None when its documentation lists it."""
    namespace, name, dimensions = metric
    spec = REFERENCE["namespaces"].get(namespace)
    if spec is None:
        return f"namespace {namespace} is not in the reference"
    sets = spec["metrics"].get(name)
    if sets is None:
        return f"{namespace} has no metric {name} ({spec['source']})"
    if dimensions not in {frozenset(s) for s in sets}:
        return f"{namespace} {name} is not published with dimensions {sorted(dimensions)} ({spec['source']})"
    return None


def waf_dashboard() -> dict[str, Any]:
    panel = ServicePanel(
        "api-gateway", "ecs-service-api-gateway-dev", "app/a/1", ("targetgroup/b/2", "targetgroup/g/3")
    )
    return dashboard_body(
        DashboardInputs(
            region="us-east-1",
            cluster_name="ecs-cluster-dev",
            services=(panel,),
            nat_gateway_ids=("nat-1",),
            load_balancers=(("public", "app/a/1"),),
            waf_web_acl_name="waf-public-dev",
        )
    )


def test_every_alarm_and_widget_metric_is_one_aws_documents(layers):
    used: set[Metric] = set()
    for evaluation in layers:
        for alarm in evaluation.all(ALARM):
            used.update(alarm_metrics(alarm.inputs))
        for dashboard in evaluation.all(DASHBOARD):
            used.update(dashboard_metrics(json.loads(dashboard.inputs["dashboardBody"])))
    used.update(dashboard_metrics(waf_dashboard()))
    assert {m[0] for m in used} == set(REFERENCE["namespaces"])  # every namespace is exercised
    problems = [p for p in map(documented, sorted(used, key=str)) if p]
    assert problems == []


def test_the_reference_check_catches_an_undocumented_metric_or_dimension():
    assert documented(
        ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", frozenset({"LoadBalancer", "TargetGroup"}))
    )
    assert documented(("AWS/ECS", "RunningTaskCount", frozenset({"ClusterName", "ServiceName"})))
    assert documented(("AWS/NATGateway", "PacketsDropped", frozenset({"NatGatewayId"})))
    assert documented(("AWS/ECS", "CPUUtilization", frozenset({"ClusterName", "ServiceName"}))) is None


def test_every_namespace_of_the_reference_names_its_aws_source():
    for namespace, spec in REFERENCE["namespaces"].items():
        assert spec["source"].startswith("https://docs.aws.amazon.com/"), namespace


def put_metric_alarm(inputs: dict[str, Any]) -> dict[str, Any]:
    """The PutMetricAlarm request the provider sends for a recorded MetricAlarm."""
    params: dict[str, Any] = {
        "AlarmName": inputs["name"],
        "AlarmDescription": inputs["alarmDescription"],
        "AlarmActions": inputs["alarmActions"],
        "OKActions": inputs["okActions"],
        # Pulumi's wire format carries every number as a float; the provider sends integers here.
        "EvaluationPeriods": int(inputs["evaluationPeriods"]),
        "DatapointsToAlarm": int(inputs["datapointsToAlarm"]),
        "Threshold": float(inputs["threshold"]),
        "ComparisonOperator": inputs["comparisonOperator"],
        "TreatMissingData": inputs["treatMissingData"],
        "Tags": [{"Key": k, "Value": v} for k, v in inputs["tags"].items()],
    }
    if inputs.get("metricName"):
        params.update(
            Namespace=inputs["namespace"],
            MetricName=inputs["metricName"],
            Statistic=inputs["statistic"],
            Period=int(inputs["period"]),
            Dimensions=[{"Name": k, "Value": v} for k, v in inputs["dimensions"].items()],
        )
    else:
        params["Metrics"] = [_query(q) for q in inputs["metricQueries"]]
    return params


def _query(query: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {"Id": query["id"], "ReturnData": bool(query.get("returnData"))}
    if query.get("expression"):
        converted["Expression"] = query["expression"]
    if query.get("label"):
        converted["Label"] = query["label"]
    metric = query.get("metric")
    if metric:
        converted["MetricStat"] = {
            "Metric": {
                "Namespace": metric["namespace"],
                "MetricName": metric["metricName"],
                "Dimensions": [{"Name": k, "Value": v} for k, v in metric["dimensions"].items()],
            },
            "Period": int(metric["period"]),
            "Stat": metric["stat"],
        }
    return converted


def test_every_alarm_is_a_valid_put_metric_alarm_request(layers, cloudwatch):
    shape = cloudwatch.operation_model("PutMetricAlarm").input_shape
    validator = ParamValidator()
    count = 0
    for evaluation in layers:
        for alarm in evaluation.all(ALARM):
            report = validator.validate(put_metric_alarm(alarm.inputs), shape)
            assert not report.has_errors(), f"{alarm.name}: {report.generate_report()}"
            count += 1
    assert count > 25


def test_metric_math_returns_one_series_and_reads_only_queries_it_defines(layers):
    for evaluation in layers:
        for alarm in evaluation.all(ALARM):
            queries = alarm.inputs.get("metricQueries") or []
            if not queries:
                continue
            ids = [q["id"] for q in queries]
            assert len(ids) == len(set(ids)), alarm.name
            assert all(QUERY_ID.fullmatch(i) for i in ids), alarm.name
            assert sum(1 for q in queries if q.get("returnData")) == 1, alarm.name
            for position, query in enumerate(queries):
                for token in re.findall(r"\b[a-z][a-zA-Z0-9_]*\b", query.get("expression") or ""):
                    assert token in ids[:position], (
                        f"{alarm.name}: {token} is not defined before {query['id']}"
                    )


def test_every_rule_is_a_valid_put_rule_request(layers, events):
    shape = events.operation_model("PutRule").input_shape
    rules = [r for e in layers for r in e.all(RULE)]
    assert len(rules) >= 4
    for rule in rules:
        params = {
            "Name": rule.inputs["name"],
            "State": rule.inputs["state"],
            "Description": rule.inputs["description"],
        }
        # A rule matches events or runs on a schedule (the heartbeat), never both.
        if rule.inputs.get("scheduleExpression"):
            assert "eventPattern" not in rule.inputs
            params["ScheduleExpression"] = rule.inputs["scheduleExpression"]
        else:
            params["EventPattern"] = rule.inputs["eventPattern"]
        report = ParamValidator().validate(params, shape)
        assert not report.has_errors(), report.generate_report()


def test_the_dashboard_is_a_valid_put_dashboard_request_on_the_24_column_grid(services, cloudwatch):
    dashboard = services.one(DASHBOARD)
    params = {
        "DashboardName": dashboard.inputs["dashboardName"],
        "DashboardBody": dashboard.inputs["dashboardBody"],
    }
    report = ParamValidator().validate(params, cloudwatch.operation_model("PutDashboard").input_shape)
    assert not report.has_errors(), report.generate_report()
    body = json.loads(dashboard.inputs["dashboardBody"])
    for widget in body["widgets"]:
        assert widget["type"] in ("metric", "text")
        assert widget["x"] >= 0
        assert widget["x"] + widget["width"] <= 24
        if widget["type"] == "metric":
            ids = [
                o["id"]
                for row in widget["properties"]["metrics"]
                for o in row
                if isinstance(o, dict) and "id" in o
            ]
            assert len(ids) == len(set(ids))
            assert all(QUERY_ID.fullmatch(i) for i in ids)
    titles = [w["properties"].get("title", "") for w in body["widgets"]]
    for service in ("api-gateway", "payment-processor", "fraud-detector"):
        for what in ("requests", "target 5xx", "latency", "healthy targets", "CPU and memory", "tasks"):
            assert any(t.startswith(f"{service}: {what}") for t in titles), (service, what)
    assert any(t.startswith("WAF") for t in titles)  # the dev stack has its web ACL (waf: true)
    assert any(w["properties"].get("title", "").startswith("WAF") for w in waf_dashboard()["widgets"])


# AWS's sample events: EventBridge events reference, "AWS CodeDeploy events"; Secrets Manager's
# CloudTrail rotation entries arrive as "AWS Service Event via CloudTrail".
def codedeploy_event(state: str, application: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "c071bfbf-83c4-49ca-a6ff-3df053957145",
        "detail-type": "CodeDeploy Deployment State-change Notification",
        "source": "aws.codedeploy",
        "account": "123456789012",
        "time": "2016-06-30T22:06:31Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:codedeploy:us-east-1:123456789012:application:{application}"],
        "detail": {
            "instanceGroupId": "9fd2fbef-2157-40d8-91e7-6845af69e2d2",
            "region": "us-east-1",
            "application": application,
            "deploymentId": "d-123456789",
            "state": state,
            "deploymentGroup": "deployment-group-api-gateway-dev",
        },
    }


def rotation_event(event_name: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "01234567-0123-0123-0123-012345678901",
        "detail-type": "AWS Service Event via CloudTrail",
        "source": "aws.secretsmanager",
        "account": "123456789012",
        "time": "2026-12-02T03:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": event_name,
            "eventType": "AwsServiceEvent",
            "additionalEventData": {"SecretId": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x"},
        },
    }


@pytest.mark.parametrize(
    ("state", "notified"), [("FAILURE", True), ("STOP", True), ("SUCCESS", False), ("START", False)]
)
def test_the_deployment_rule_matches_failed_and_stopped_releases_of_this_environment_only(
    services, state, notified
):
    [rule] = [r for r in services.all(RULE) if r.inputs["name"] == "events-deployment-failed-dev"]
    pattern = EventPattern.load(rule.inputs["eventPattern"])
    assert json.loads(rule.inputs["eventPattern"]) == deployment_failed_pattern("codedeploy-payments-dev")
    assert pattern.matches_event(codedeploy_event(state, "codedeploy-payments-dev")) is notified
    assert pattern.matches_event(codedeploy_event(state, "codedeploy-payments-pr-42")) is False


@pytest.mark.parametrize(
    ("event_name", "notified"),
    [("RotationFailed", True), ("RotationSucceeded", False), ("RotationStarted", False)],
)
def test_the_rotation_rule_matches_failed_rotations_only(platform, event_name, notified):
    [rule] = [r for r in platform.all(RULE) if r.inputs["name"] == "events-rotation-failed-dev"]
    assert json.loads(rule.inputs["eventPattern"]) == ROTATION_FAILED_PATTERN
    assert (
        EventPattern.load(rule.inputs["eventPattern"]).matches_event(rotation_event(event_name)) is notified
    )


def test_every_rule_targets_one_of_the_alarm_topics(network, platform, services):
    topics = {network.exports["alarmTopicArn"], network.exports["ticketTopicArn"]}
    for evaluation in (network, platform, services):
        rules = {r.inputs["name"] for r in evaluation.all(RULE)}
        targets = evaluation.all("aws:cloudwatch/eventTarget:EventTarget")
        assert {t.inputs["rule"] for t in targets} == rules
        assert {t.inputs["arn"] for t in targets} <= topics
