"""The managed database's alarms: each recommended RDS metric watched on the ledger instance, thresholds
that follow its class (max_connections, memory, vCPUs) and storage, burstable-only credits, the storage
autoscaling ceiling as an EventBridge rule matched with moto's engine, and none of it without a managed
database."""

from __future__ import annotations

import json

import pytest
from moto.events.models import EventPattern

from offline.layer_projects import Layer, evaluate_layer
from shared.config.alerting import DatabaseAlarmConfig
from shared.config.keys import LAYER_KEYS
from shared.config.reader import ConfigReader
from shared.database_connections import GIB, estimated_max_connections, instance_vcpus
from shared.errors import ConfigError

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RULE = "aws:cloudwatch/eventRule:EventRule"
EXPECTED = {
    "cpu",
    "free-storage",
    "latency",
    "ebs-balance",
    "transaction-ids",
    "connections",
    "freeable-memory",
    "load",
}


def database_alarms(evaluation, suffix="dev"):
    prefix = "alarm-database-"
    return {
        a.inputs["name"][len(prefix) : -len(suffix) - 1]: a.inputs
        for a in evaluation.all(ALARM)
        if a.inputs["name"].startswith(prefix)
    }


def platform_with(network, config):
    return evaluate_layer(
        "platform", config=config, upstream={Layer("network").stack_name("dev"): network.exports}
    )


@pytest.fixture(scope="module")
def production_like(network):
    return platform_with(network, {"databaseInstanceClass": "db.m7g.large", "databaseAllocatedStorageGb": 50})


def test_the_dev_database_has_every_alarm_and_its_burstable_class_the_credit_alarm(platform):
    alarms = database_alarms(platform)
    assert set(alarms) == EXPECTED | {"cpu-credits"}  # db.t4g.micro is burstable
    for alarm in alarms.values():
        dimensions = [alarm.get("dimensions")] + [
            q["metric"]["dimensions"] for q in alarm.get("metricQueries") or [] if q.get("metric")
        ]
        assert {json.dumps(d) for d in dimensions if d} == {
            json.dumps({"DBInstanceIdentifier": "rds-ledger-dev"})
        }


def test_thresholds_follow_the_class_and_the_storage(platform, production_like):
    dev, prod = database_alarms(platform), database_alarms(production_like)
    # db.t4g.micro: 1 GiB, RDS's default max_connections 112, 2 vCPUs; db.m7g.large: 8 GiB, 901, 2.
    assert (
        dev["connections"]["threshold"]
        == 112 * 80 // 100
        == estimated_max_connections("db.t4g.micro") * 80 // 100
    )
    assert prod["connections"]["threshold"] == estimated_max_connections("db.m7g.large") * 80 // 100
    assert dev["freeable-memory"]["threshold"] == GIB * 25 // 100
    assert prod["freeable-memory"]["threshold"] == 8 * GIB * 25 // 100
    assert dev["freeable-memory"]["evaluationPeriods"] == 15  # AWS's 15 of 15 minutes
    assert prod["load"]["threshold"] == instance_vcpus("db.m7g.large") == 2
    assert prod["free-storage"]["threshold"] == 50 * GIB * 10 // 100
    assert "cpu-credits" not in prod  # a fixed-performance class has no credits
    assert dev["cpu"]["threshold"] == 90
    assert dev["cpu"]["comparisonOperator"] == "GreaterThanThreshold"
    assert dev["transaction-ids"]["threshold"] == 1_000_000_000
    assert dev["latency"]["threshold"] == pytest.approx(0.02)  # 20 ms, in the metric's seconds


def test_thresholds_come_from_config(network):
    evaluation = platform_with(
        network,
        {
            "databaseConnectionsPercent": 90,
            "databaseCpuPercent": 75,
            "databaseFreeableMemoryPercent": 10,
            "databaseFreeStoragePercent": 20,
            "databaseLatencyMs": 50,
            "databaseCpuCreditBalance": 100,
        },
    )
    alarms = database_alarms(evaluation)
    assert alarms["connections"]["threshold"] == 112 * 90 // 100
    assert alarms["cpu"]["threshold"] == 75
    assert alarms["freeable-memory"]["threshold"] == GIB * 10 // 100
    assert alarms["free-storage"]["threshold"] == 20 * GIB * 20 // 100
    assert alarms["latency"]["threshold"] == pytest.approx(0.05)
    assert alarms["cpu-credits"]["threshold"] == 100


def test_an_unknown_class_warns_and_keeps_the_alarms_that_need_no_class_facts(monkeypatch, network):
    evaluation = platform_with(network, {"databaseInstanceClass": "db.x2g.large"})
    assert set(database_alarms(evaluation)) == EXPECTED - {"connections", "freeable-memory", "load"}
    assert [w for w in evaluation.warnings if "db.x2g.large is not a class" in w]


def test_an_external_database_has_no_database_alarms_and_no_dashboard_row(platform_alt, services_alt):
    assert database_alarms(platform_alt, suffix="qa-7") == {}
    assert not [r for r in platform_alt.all(RULE) if "database" in r.inputs["name"]]
    assert platform_alt.exports["databaseIdentifier"] == ""
    body = json.loads(services_alt.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    assert not [w for w in body["widgets"] if w["properties"].get("title", "").startswith("Database")]


def test_the_dashboard_has_a_database_row_reading_the_alarms_metrics(services, platform):
    body = json.loads(services.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    rows = [w for w in body["widgets"] if w["properties"].get("title", "").startswith("Database")]
    assert len(rows) == 6
    read = {row[1] for w in rows for row in w["properties"]["metrics"]}
    watched = {
        a["metricName"] if a.get("metricName") else q["metric"]["metricName"]
        for a in database_alarms(platform).values()
        for q in (a.get("metricQueries") or [{"metric": {"metricName": a.get("metricName")}}])
        if a.get("metricName") or q.get("metric")
    }
    assert watched - {"EBSByteBalance%", "EBSIOBalance%"} <= read
    assert any(w["properties"].get("markdown") == "## Database: rds-ledger-dev" for w in body["widgets"])


def rds_event(event_id: str, arn: str) -> dict:
    """The shape of an RDS DB instance event on EventBridge (RDS user guide, "RDS events in EventBridge")."""
    return {
        "version": "0",
        "id": "68f6e973-1a0c-d37b-f2f2-94a7f62ffd4e",
        "detail-type": "RDS DB Instance Event",
        "source": "aws.rds",
        "account": "123456789012",
        "time": "2026-12-06T03:00:00Z",
        "region": "us-east-1",
        "resources": [arn],
        "detail": {
            "EventCategories": ["notification"],
            "SourceType": "DB_INSTANCE",
            "SourceArn": arn,
            "Date": "2026-12-06T03:00:00.000Z",
            "Message": "The storage size is approaching the maximum storage threshold.",
            "SourceIdentifier": arn.rsplit(":", 1)[-1],
            "EventID": event_id,
        },
    }


@pytest.mark.parametrize(
    ("event_id", "arn", "notified"),
    [
        ("RDS-EVENT-0225", "arn:aws:rds:us-east-1:123456789012:db:rds-ledger-dev", True),
        ("RDS-EVENT-0049", "arn:aws:rds:us-east-1:123456789012:db:rds-ledger-dev", False),
        ("RDS-EVENT-0225", "arn:aws:rds:us-east-1:123456789012:db:another-database", False),
    ],
)
def test_the_storage_ceiling_rule_matches_this_instance_approaching_its_ceiling(
    platform, event_id, arn, notified
):
    [rule] = [r for r in platform.all(RULE) if r.inputs["name"] == "events-database-storage-ceiling-dev"]
    assert EventPattern.load(rule.inputs["eventPattern"]).matches_event(rds_event(event_id, arn)) is notified


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"databaseConnectionsPercent": 0}, "at least 1"),
        ({"databaseCpuPercent": 101}, "at most 100"),
        ({"databaseFreeStoragePercent": 0}, "at least 1"),
        ({"databaseLatencyMs": 0}, "at least 1"),
    ],
)
def test_bad_database_thresholds_are_refused(values, message):
    with pytest.raises(ConfigError, match=message):
        DatabaseAlarmConfig.load(ConfigReader.from_mapping(values).declared(LAYER_KEYS["platform"]))


@pytest.mark.parametrize(
    ("instance_class", "vcpus"),
    [
        ("db.t4g.micro", 2),
        ("db.t3.large", 2),
        ("db.t4g.2xlarge", 8),
        ("db.m7g.large", 2),
        ("db.r6g.4xlarge", 16),
    ],
)
def test_vcpus_of_known_classes(instance_class, vcpus):
    assert instance_vcpus(instance_class) == vcpus


def test_vcpus_of_an_unknown_class_is_none():
    assert instance_vcpus("db.x2g.large") is None
    assert instance_vcpus("db.m4.large") is None
