"""The on-call alarms: per service from the catalogue, per load balancer, and the optional WAF alarm;
their thresholds come from config and bad values are refused with the fix."""

from __future__ import annotations

import pytest

from offline.layer_projects import Layer, evaluate_layer
from shared.catalogue import CATALOGUE
from shared.config.alerting import PlatformAlarmConfig, ServiceAlarmConfig
from shared.config.keys import LAYER_KEYS
from shared.config.reader import ConfigReader
from shared.errors import ConfigError

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ON_CALL = (
    "running-below-min",
    "running-below-desired",
    "unhealthy-targets",
    "5xx-rate",
    "p99-latency",
    "cpu-at-max",
    "memory-at-max",
)


def by_name(evaluation):
    return {a.inputs["name"]: a.inputs for a in evaluation.all(ALARM)}


def result_expression(alarm):
    [result] = [q for q in alarm["metricQueries"] if q.get("returnData")]
    return result["expression"]


@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda s: s.name)
def test_every_catalogue_service_has_the_on_call_alarms(services, platform, spec):
    alarms = by_name(services)
    for purpose in ON_CALL:
        assert f"alarm-{spec.name}-{purpose}-dev" in alarms
    running = alarms[f"alarm-{spec.name}-running-below-min-dev"]
    assert (running["namespace"], running["metricName"]) == ("ECS/ContainerInsights", "RunningTaskCount")
    assert running["dimensions"] == {
        "ClusterName": platform.exports["clusterName"],
        "ServiceName": f"ecs-service-{spec.name}-dev",
    }
    assert running["threshold"] == 2  # minCapacity
    assert running["comparisonOperator"] == "LessThanThreshold"
    assert running["treatMissingData"] == "breaching"
    rate = alarms[f"alarm-{spec.name}-5xx-rate-dev"]
    assert result_expression(rate) == "IF(requests > 0, 100 * errors / requests, 0)"
    assert rate["threshold"] == 1  # target5xxPercent's default for payments
    for kind in ("cpu", "memory"):
        at_max = alarms[f"alarm-{spec.name}-{kind}-at-max-dev"]
        assert result_expression(at_max) == "IF(desired >= 10 AND utilization >= 85, 1, 0)"
    latency = alarms[f"alarm-{spec.name}-p99-latency-dev"]
    assert latency["threshold"] == 1.0
    # A minute with fewer than latencyMinRequestsPerMinute requests cannot page on one slow request.
    assert result_expression(latency) == "IF(requests >= 100, MAX([latency_raw_blue, latency_raw_green]), 0)"
    below_desired = alarms[f"alarm-{spec.name}-running-below-desired-dev"]
    assert result_expression(below_desired) == "desired - FILL(running, 0)"
    assert below_desired["evaluationPeriods"] == 10
    assert below_desired["threshold"] == 1
    floor = alarms.get(f"alarm-{spec.name}-no-successful-requests-dev")
    assert (floor is not None) is (not spec.internal)  # the edge only


def test_the_edge_pages_when_successful_traffic_stops(services):
    alarm = by_name(services)["alarm-api-gateway-no-successful-requests-dev"]
    assert alarm["comparisonOperator"] == "LessThanThreshold"
    assert alarm["threshold"] == 1
    assert alarm["treatMissingData"] == "breaching"  # ELB publishes nothing without requests
    assert alarm["evaluationPeriods"] == 15
    names = {q["metric"]["metricName"] for q in alarm["metricQueries"] if q.get("metric")}
    assert names == {"HTTPCode_Target_2XX_Count"}


def test_a_traffic_floor_of_zero_turns_the_traffic_alarm_off(network, platform):
    evaluation = evaluate_layer(
        "services",
        config={"minSuccessfulRequestsPerMinute": 0, "latencyMinRequestsPerMinute": 20},
        upstream={
            Layer("network").stack_name("dev"): network.exports,
            Layer("platform").stack_name("dev"): platform.exports,
        },
    )
    alarms = by_name(evaluation)
    assert not [n for n in alarms if "no-successful-requests" in n]
    assert "requests >= 20" in result_expression(alarms["alarm-api-gateway-p99-latency-dev"])


def test_on_call_thresholds_come_from_config(services_alt):
    alarms = by_name(services_alt)
    gateway = "api-gateway"
    assert alarms[f"alarm-{gateway}-5xx-rate-qa-7"]["threshold"] == 2.5
    assert alarms[f"alarm-{gateway}-p99-latency-qa-7"]["threshold"] == 0.4
    assert alarms[f"alarm-{gateway}-running-below-min-qa-7"]["threshold"] == 3  # minCapacity
    cpu = result_expression(alarms[f"alarm-{gateway}-cpu-at-max-qa-7"])
    assert "desired >= 6 AND utilization >= 90" in cpu  # maxCapacity, atMaxCapacityPercent
    assert alarms[f"alarm-{gateway}-p99-latency-qa-7"]["evaluationPeriods"] == 4


def test_each_load_balancer_has_a_5xx_rate_alarm_and_the_web_acl_a_blocked_requests_alarm(platform):
    alarms = by_name(platform)
    assert {n for n in alarms if not n.startswith("alarm-database-")} == {
        "alarm-alb-public-5xx-rate-dev",
        "alarm-alb-internal-5xx-rate-dev",
        "alarm-waf-blocked-dev",
        "alarm-lambda-secret-rotation-failures-dev",
    }
    public = alarms["alarm-alb-public-5xx-rate-dev"]
    metrics = {q["id"]: q["metric"] for q in public["metricQueries"] if q.get("metric")}
    assert metrics["errors"]["metricName"] == "HTTPCode_ELB_5XX_Count"
    assert metrics["errors"]["dimensions"] == {
        "LoadBalancer": platform.exports["publicAlbArn"].split(":loadbalancer/")[1]
    }
    waf = alarms["alarm-waf-blocked-dev"]
    assert (waf["namespace"], waf["metricName"]) == ("AWS/WAFV2", "BlockedRequests")
    web_acl = platform.one("aws:wafv2/webAcl:WebAcl").inputs["name"]
    assert waf["dimensions"] == {"WebACL": web_acl, "Region": "us-east-1", "Rule": "ALL"}
    assert platform.exports["wafWebAclName"] == web_acl


def test_the_waf_alarm_follows_the_web_acl_and_its_threshold(network):
    evaluation = evaluate_layer(
        "platform",
        config={"wafBlockedRequestsPerMinute": 250},
        upstream={"organization/payments-network/dev": network.exports},
    )
    assert by_name(evaluation)["alarm-waf-blocked-dev"]["threshold"] == 250
    without = evaluate_layer(
        "platform", config={"waf": False}, upstream={"organization/payments-network/dev": network.exports}
    )
    assert "alarm-waf-blocked-dev" not in by_name(without)
    assert without.exports["wafWebAclName"] == ""


LAYER_OF = {PlatformAlarmConfig: "platform", ServiceAlarmConfig: "services"}


@pytest.mark.parametrize(
    ("loader", "values", "message"),
    [
        (PlatformAlarmConfig, {"loadBalancer5xxPercent": "five"}, "number of percent"),
        (ServiceAlarmConfig, {"target5xxPercent": "0"}, "more than 0"),
        (ServiceAlarmConfig, {"target5xxPercent": "150"}, "at most 100"),
        (ServiceAlarmConfig, {"onCallEvaluationMinutes": 0}, "at least 1"),
        (ServiceAlarmConfig, {"atMaxCapacityPercent": 101}, "at most 100"),
    ],
)
def test_bad_thresholds_are_refused(loader, values, message):
    with pytest.raises(ConfigError, match=message):
        loader.load(ConfigReader.from_mapping(values).declared(LAYER_KEYS[LAYER_OF[loader]]))
