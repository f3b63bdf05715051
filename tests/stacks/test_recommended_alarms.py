"""CloudWatch's recommended alarms, for each AWS service the plan uses, and what the platform does about
each: covered (an alarm of the plan reads the metric), covered differently (an alarm of the plan does the
job another way, and why), or not applicable (why). The list and the page it comes from are in
tests/reference/aws_recommended_alarms.json; this checks it against the dev and production-like plans,
so a removed alarm, a new service without its recommendations, or a claim no alarm backs fails here."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

REFERENCE = json.loads(
    (Path(__file__).resolve().parents[1] / "reference" / "aws_recommended_alarms.json").read_text()
)
PAGE = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Best_Practice_Recommended_Alarms_AWS_Services.html"
STATUSES = ("covered", "covered-differently", "not-applicable")
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
# Which resource of the plan means which AWS service, by the CloudWatch namespace it publishes in.
SERVICES = {
    "aws:lb/loadBalancer:LoadBalancer": ("AWS/ApplicationELB",),
    "aws:ecs/service:Service": ("AWS/ECS", "ECS/ContainerInsights"),
    "aws:ec2/natGateway:NatGateway": ("AWS/NATGateway",),
    "aws:wafv2/webAcl:WebAcl": ("AWS/WAFV2",),
    "aws:rds/instance:Instance": ("AWS/RDS",),
    "aws:sns/topic:Topic": ("AWS/SNS",),
    "aws:lambda/function:Function": ("AWS/Lambda",),
}


@pytest.fixture(scope="module")
def plans(network, platform, services, services_alt):
    """The dev plan and a production-like one (HTTPS with a certificate, every services knob changed)."""
    return [network, platform, services, services_alt]


def alarms_of(plans: Iterable[Any]) -> dict[str, set[tuple[str, str]]]:
    """Alarm name -> the (namespace, metric) pairs it reads."""
    found: dict[str, set[tuple[str, str]]] = {}
    for evaluation in plans:
        for alarm in evaluation.all(ALARM):
            inputs = alarm.inputs
            metrics = {(inputs["namespace"], inputs["metricName"])} if inputs.get("metricName") else set()
            for query in inputs.get("metricQueries") or []:
                if query.get("metric"):
                    metrics.add((query["metric"]["namespace"], query["metric"]["metricName"]))
            found[inputs["name"]] = metrics
    return found


def namespaces_in(plans: Iterable[Any]) -> set[str]:
    used = set()
    for evaluation in plans:
        for resource_type, namespaces in SERVICES.items():
            if evaluation.all(resource_type):
                used.update(namespaces)
        if any(a.inputs.get("namespace") == "AWS/CertificateManager" for a in evaluation.all(ALARM)):
            used.add("AWS/CertificateManager")  # a certificate is configured (certificateArn)
    return used


def problems(namespace: str, entry: dict[str, Any], alarms: dict[str, set[tuple[str, str]]]) -> Iterator[str]:
    """Why one recommendation's claim does not hold in the plans."""
    where = f"{namespace} {entry['metric']}"
    status = entry.get("status")
    if status not in STATUSES:
        yield f"{where}: status {status!r} is not one of {STATUSES}"
        return
    if status != "covered" and len(entry.get("why", "")) < 15:
        yield f"{where}: {status} says why"
    if status == "not-applicable":
        if entry.get("alarms"):
            yield f"{where}: not applicable, yet names alarms"
        return
    patterns = entry.get("alarms") or []
    if not patterns:
        yield f"{where}: {status} names no alarm"
    matched = set()
    for pattern in patterns:
        names = {name for name in alarms if re.search(pattern, name)}
        if not names:
            yield f"{where}: no alarm of the plans matches {pattern!r}"
        matched |= names
    if status == "covered" and not any((namespace, entry["metric"]) in alarms[name] for name in matched):
        yield f"{where}: covered, yet none of {sorted(matched)} reads it"


def test_the_list_names_its_source_page():
    assert REFERENCE["source"] == PAGE


def test_every_service_of_the_plans_has_its_recommendations_listed(plans):
    assert namespaces_in(plans) == set(REFERENCE["namespaces"])


def test_every_recommendation_is_covered_or_explained(plans):
    alarms = alarms_of(plans)
    found = [
        problem
        for namespace, entries in REFERENCE["namespaces"].items()
        for entry in entries
        for problem in problems(namespace, entry, alarms)
    ]
    assert found == []


def test_each_metric_is_listed_once_per_service():
    for namespace, entries in REFERENCE["namespaces"].items():
        metrics = Counter(entry["metric"] for entry in entries)
        assert [m for m, n in metrics.items() if n > 1] == [], namespace


def test_the_database_recommendations_are_all_covered(plans):
    """The issue this closes: the ledger had no alarm at all."""
    rds = {e["metric"]: e["status"] for e in REFERENCE["namespaces"]["AWS/RDS"]}
    applicable = {m: s for m, s in rds.items() if s != "not-applicable"}
    assert set(applicable) == {
        "CPUUtilization",
        "DatabaseConnections",
        "DBLoad",
        "EBSByteBalance%",
        "EBSIOBalance%",
        "FreeableMemory",
        "FreeStorageSpace",
        "MaximumUsedTransactionIDs",
        "ReadLatency",
        "WriteLatency",
    }


def test_the_check_catches_claims_the_plan_does_not_back():
    alarms = {"alarm-database-cpu-dev": {("AWS/RDS", "CPUUtilization")}}
    wrong_metric = {"metric": "FreeableMemory", "status": "covered", "alarms": ["^alarm-database-cpu-"]}
    assert list(problems("AWS/RDS", wrong_metric, alarms)) == [
        "AWS/RDS FreeableMemory: covered, yet none of ['alarm-database-cpu-dev'] reads it"
    ]
    gone = {"metric": "CPUUtilization", "status": "covered", "alarms": ["^alarm-database-gone-"]}
    assert "no alarm of the plans matches" in next(problems("AWS/RDS", gone, alarms))
    unexplained = {"metric": "ReplicaLag", "status": "not-applicable"}
    assert list(problems("AWS/RDS", unexplained, alarms)) == ["AWS/RDS ReplicaLag: not-applicable says why"]
    missing = {"metric": "ReplicaLag", "status": "missing"}
    assert "is not one of" in next(problems("AWS/RDS", missing, alarms))


def test_the_summary_of_coverage(plans, capsys):
    counts = Counter(e["status"] for entries in REFERENCE["namespaces"].values() for e in entries)
    assert set(counts) == set(STATUSES)
    print(dict(counts))  # shown with -s: the figures docs/operations.md quotes
