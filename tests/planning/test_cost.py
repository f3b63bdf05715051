"""The monthly cost estimate: each line from resource inputs and the dated price table, nothing else."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from offline.engine import Evaluation
from planning import cost, pricing
from policy.model import Resource
from policy.offline_check import resources_of

TABLE = pricing.load("us-east-1")
HOURS = TABLE.hours_per_month


def estimate_of(**layers: Evaluation) -> cost.CostEstimate:
    return cost.estimate({name: resources_of(e) for name, e in layers.items()}, TABLE)


def line(estimate: cost.CostEstimate, item: str, layer: str | None = None) -> cost.CostLine:
    [found] = [e for e in estimate.lines if e.item == item and layer in (None, e.layer)]
    return found


def task_month(vcpu: float, gb: float, architecture: str = "X86_64", spot: bool = False) -> float:
    rate = TABLE.fargate_rate(architecture, spot)
    return HOURS * (vcpu * rate.vcpu_hour + gb * rate.gb_hour)


@pytest.fixture(scope="module")
def dev(network: Evaluation, platform: Evaluation, services: Evaluation) -> cost.CostEstimate:
    return estimate_of(network=network, platform=platform, services=services)


@pytest.fixture(scope="module")
def alt(network_ha: Evaluation, platform_alt: Evaluation, services_alt: Evaluation) -> cost.CostEstimate:
    return estimate_of(network=network_ha, platform=platform_alt, services=services_alt)


# --- the table ---------------------------------------------------------------------------------


def test_the_table_is_dated_and_states_its_region_and_sources():
    raw = json.loads(pricing.table_path("us-east-1").read_text())
    assert raw["region"] == "us-east-1"
    assert raw["pricesAsOf"]
    assert raw["recordedOn"]
    assert set(raw["sources"]) >= {"fargate", "natGateway", "loadBalancer", "kms", "secretsManager"}
    assert TABLE.prices_as_of == raw["pricesAsOf"]


def test_the_table_holds_the_rates_the_issue_lists():
    # Fargate vCPU and GB hours, x86 and ARM, on-demand and Spot.
    for architecture in pricing.FARGATE_ARCHITECTURES:
        on_demand = TABLE.fargate_rate(architecture, spot=False)
        spot = TABLE.fargate_rate(architecture, spot=True)
        assert 0 < spot.vcpu_hour < on_demand.vcpu_hour
        assert 0 < spot.gb_hour < on_demand.gb_hour
    assert TABLE.fargate_rate("ARM64", False).vcpu_hour < TABLE.fargate_rate("X86_64", False).vcpu_hour
    for section, key in pricing.REQUIRED_RATES:
        assert TABLE.rate(section, key) > 0


def test_a_one_vcpu_two_gb_task_costs_what_the_published_rates_say():
    # 730 h x (1 x 0.04048 + 2 x 0.004445) = 36.04 USD, the figure AWS's own calculator gives.
    assert task_month(1, 2) == pytest.approx(36.04, abs=0.01)


def write_table(tmp_path: Path, change) -> Path:
    raw = json.loads(pricing.table_path("us-east-1").read_text())
    change(raw)
    path = tmp_path / "us-east-1.json"
    path.write_text(json.dumps(raw))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda raw: raw["prices"]["natGateway"].pop("hour"),
            "natGateway.hour must be a non-negative number",
        ),
        (lambda raw: raw["prices"]["kms"].update(keyMonth=-1), "kms.keyMonth must be a non-negative number"),
        (lambda raw: raw["prices"]["fargate"].pop("ARM64"), "'ARM64' is missing"),
        (lambda raw: raw["usage"]["natGbPerMonth"].pop("max"), "usage.natGbPerMonth.max"),
        (lambda raw: raw.update(region="eu-west-1"), "is for region 'eu-west-1', not us-east-1"),
        (lambda raw: raw.pop("pricesAsOf"), "'pricesAsOf' must say when the prices were taken"),
    ],
)
def test_a_table_missing_a_rate_is_refused(tmp_path, change, message):
    with pytest.raises(pricing.PriceTableError, match=message.replace("(", r"\(").replace(")", r"\)")):
        pricing.load("us-east-1", write_table(tmp_path, change))


def test_a_region_without_a_table_says_which_file_to_add():
    with pytest.raises(
        pricing.PriceTableError, match=r"no price table for eu-west-1: add prices/eu-west-1.json"
    ):
        pricing.load("eu-west-1")


# --- the example stack --------------------------------------------------------------------------


def test_fargate_is_priced_per_service_from_its_task_size_and_scaling_bounds(dev):
    fargate = [entry for entry in dev.lines if entry.item.startswith("Fargate ")]
    assert [entry.item for entry in fargate] == [
        "Fargate ecs-service-api-gateway-dev",
        "Fargate ecs-service-fraud-detector-dev",
        "Fargate ecs-service-payment-processor-dev",
    ]
    for entry in fargate:
        assert entry.layer == "services"
        assert entry.monthly == {
            "min": pytest.approx(2 * task_month(1, 2)),
            "max": pytest.approx(10 * task_month(1, 2)),
        }
        assert entry.basis == "2-10 tasks x 1 vCPU / 2 GB X86_64, 0% Spot"


def test_network_lines_follow_the_gateways_addresses_and_flow_logs(dev):
    nat = line(dev, "NAT gateways")
    data = TABLE.usage["natGbPerMonth"]
    hourly = HOURS * TABLE.rate("natGateway", "hour")  # the example stack has a single gateway
    assert nat.monthly["min"] == pytest.approx(hourly + data["min"] * TABLE.rate("natGateway", "gbProcessed"))
    assert nat.monthly["max"] == pytest.approx(hourly + data["max"] * TABLE.rate("natGateway", "gbProcessed"))
    ipv4 = {entry.layer: entry for entry in dev.lines if entry.item == "Public IPv4 addresses"}
    assert ipv4["network"].monthly["min"] == pytest.approx(1 * HOURS * TABLE.rate("publicIpv4", "hour"))
    # The internet-facing ALB holds one address per public subnet; the internal one none.
    assert ipv4["platform"].monthly["min"] == pytest.approx(3 * HOURS * TABLE.rate("publicIpv4", "hour"))
    assert "Interface endpoints" not in {entry.item for entry in dev.lines}  # off in the example
    assert line(dev, "VPC flow logs").layer == "network"


def test_platform_lines_count_both_albs_the_secrets_and_the_keys(dev):
    albs = line(dev, "Application load balancers")
    lcu = TABLE.usage["lcuPerLoadBalancer"]
    per_alb = {
        s: HOURS * (TABLE.rate("loadBalancer", "hour") + lcu[s] * TABLE.rate("loadBalancer", "lcuHour"))
        for s in ("min", "max")
    }
    assert albs.monthly == {
        "min": pytest.approx(2 * per_alb["min"]),
        "max": pytest.approx(2 * per_alb["max"]),
    }
    assert line(dev, "Secrets Manager secrets").monthly["min"] == pytest.approx(
        3 * TABLE.rate("secretsManager", "secretMonth")
    )
    keys = {entry.layer: entry.monthly["min"] for entry in dev.lines if entry.item == "KMS keys"}
    # The network's flow-log key and alarm-topic key; the platform's key.
    assert keys == {"network": 2 * TABLE.rate("kms", "keyMonth"), "platform": TABLE.rate("kms", "keyMonth")}


def test_alarms_pay_for_every_metric_their_math_reads(dev):
    # Seven release alarms, each metric math over the blue and the green target group (14 metrics);
    # seven on-call alarms per service: running below the minimum (1) and below desired (2), unhealthy
    # targets (2), 5xx rate (4), p99 with its request floor (4), CPU and memory at max capacity (2 each),
    # 17 metrics a service; the edge's traffic floor (2); each release hook's errors and throttles (2 x 2).
    alarms = line(dev, "CloudWatch alarms", "services")
    assert alarms.basis == "31 alarm(s) reading 71 metric(s)"
    assert alarms.monthly["min"] == pytest.approx(71 * TABLE.rate("cloudwatchMetrics", "alarmMetricMonth"))


def test_logs_and_container_insights_scale_with_the_task_count(dev):
    logs = line(dev, "Service logs")
    assert logs.basis == "3 log group(s), 6-30 GB a month kept 30 days"
    assert logs.monthly["max"] == pytest.approx(5 * logs.monthly["min"])
    insights = line(dev, "Container Insights (services)")
    metrics = 3 * TABLE.rate("containerInsights", "metricsPerService") + 3 * TABLE.rate(
        "containerInsights", "metricsPerTaskFamily"
    )
    assert insights.monthly["min"] == pytest.approx(
        metrics * TABLE.rate("cloudwatchMetrics", "metricMonth")
        + 6
        * TABLE.assumed("containerInsightsGbPerTaskMonth", "min")
        * TABLE.rate("cloudwatchLogs", "gbIngested")
    )


def test_totals_are_the_sum_of_the_lines_and_max_exceeds_min(dev):
    assert dev.total("min") == pytest.approx(sum(entry.monthly["min"] for entry in dev.lines))
    assert dev.total("max") > dev.total("min") > 0
    assert dev.total("min", "services") + dev.total("min", "platform") + dev.total(
        "min", "network"
    ) == pytest.approx(dev.total("min"))
    as_json = dev.as_json()
    assert as_json["totals"] == {"min": round(dev.total("min"), 2), "max": round(dev.total("max"), 2)}
    assert as_json["pricesAsOf"] == TABLE.prices_as_of
    assert as_json["priceTable"] == "us-east-1.json"


# --- every knob changed -------------------------------------------------------------------------


def test_arm_spot_tasks_use_the_arm_and_spot_rates_in_the_strategy_share(alt):
    # fargateSpotWeight 3 against FARGATE's 1: three tasks in four on Spot; 2 vCPU / 5 GB ARM64, 3-6 tasks.
    blended = 0.25 * task_month(2, 5, "ARM64") + 0.75 * task_month(2, 5, "ARM64", spot=True)
    for entry in (e for e in alt.lines if e.item.startswith("Fargate ")):
        assert entry.monthly == {"min": pytest.approx(3 * blended), "max": pytest.approx(6 * blended)}
        assert entry.basis == "3-6 tasks x 2 vCPU / 5 GB ARM64, 75% Spot"


def test_per_az_nat_and_interface_endpoints_are_priced_per_gateway_and_per_az(alt):
    nat = line(alt, "NAT gateways")
    assert nat.basis.startswith("3 gateway(s)")
    ipv4 = {entry.layer: entry for entry in alt.lines if entry.item == "Public IPv4 addresses"}
    assert ipv4["network"].basis.startswith("3 Elastic IP(s)")
    endpoints = line(alt, "Interface endpoints")
    count = int(endpoints.basis.split(" ")[0])
    assert count >= 4
    assert f"{count * 3} AZ attachments" in endpoints.basis
    fixed = count * 3 * HOURS * TABLE.rate("interfaceEndpoint", "azHour")
    gb = TABLE.usage["interfaceEndpointGbPerMonth"]["min"]
    assert endpoints.monthly["min"] == pytest.approx(
        fixed + gb * TABLE.rate("interfaceEndpoint", "gbProcessed")
    )


def test_enhanced_container_insights_is_flagged_as_only_partly_priced(alt, dev):
    assert any("enhanced observability" in caveat for caveat in alt.caveats)
    assert not any("enhanced observability" in caveat for caveat in dev.caveats)


# --- placement rules, on hand-made resources -----------------------------------------------------


def service(strategy: list[dict[str, object]]) -> Resource:
    return Resource("aws:ecs/service:Service", "svc", {"name": "svc", "capacityProviderStrategies": strategy})


@pytest.mark.parametrize(
    ("strategy", "tasks", "spot"),
    [
        ([], 10, 0),  # launch type only: on-demand
        ([{"capacityProvider": "FARGATE", "weight": 1}], 10, 0),
        (
            [{"capacityProvider": "FARGATE", "weight": 1}, {"capacityProvider": "FARGATE_SPOT", "weight": 1}],
            10,
            5,
        ),
        # The base is placed first, the rest split by weight: 2 on-demand, then 8 at 1:3.
        (
            [
                {"capacityProvider": "FARGATE", "base": 2, "weight": 1},
                {"capacityProvider": "FARGATE_SPOT", "weight": 3},
            ],
            10,
            6,
        ),
        (
            [
                {"capacityProvider": "FARGATE", "base": 2, "weight": 1},
                {"capacityProvider": "FARGATE_SPOT", "weight": 3},
            ],
            1,
            0,
        ),
        ([{"capacityProvider": "FARGATE_SPOT", "base": 1, "weight": 1}], 4, 4),
    ],
)
def test_spot_share_follows_the_capacity_provider_strategy(strategy, tasks, spot):
    assert cost._Strategy.of(service(strategy)).spot_tasks(tasks) == pytest.approx(spot)


def test_a_service_without_a_scalable_target_runs_its_desired_count_at_both_ends():
    lone = Resource("aws:ecs/service:Service", "svc", {"name": "svc", "desiredCount": 3})
    assert cost._task_counts(lone, {}) == {"min": 3.0, "max": 3.0}


def test_an_empty_stack_costs_nothing():
    assert cost.estimate({"network": []}, TABLE).lines == ()


def test_waf_is_priced_per_web_acl_per_rule_and_per_million_requests(dev, alt):
    requests = TABLE.usage["wafMillionRequestsPerMonth"]
    # dev: three managed groups and the rate limit; alt adds two optional groups.
    for estimate, rules in ((dev, 4), (alt, 6)):
        waf = line(estimate, "AWS WAF web ACLs")
        assert waf.layer == "platform"
        for scale in ("min", "max"):
            expected = 5.0 + rules * 1.0 + requests[scale] * 0.60  # AWS WAF pricing page rates
            assert waf.monthly[scale] == pytest.approx(expected)
        logs = line(estimate, "AWS WAF logs")
        gb = TABLE.usage["wafLogGbPerMonth"]["max"]
        assert logs.monthly["max"] == pytest.approx(gb * (0.5 + 0.03))


def test_a_stack_without_waf_has_no_waf_line(platform):
    without = [r for r in resources_of(platform) if not r.type.startswith("aws:wafv2/")]
    estimate = cost.estimate({"platform": without}, TABLE)
    assert not [entry for entry in estimate.lines if entry.item == "AWS WAF web ACLs"]


def test_the_managed_database_is_priced_by_class_deployment_and_storage(dev, alt):
    # The dev example: db.t4g.micro Single-AZ, 20 GB gp3 (RDS for PostgreSQL pricing page rates).
    database = line(dev, "RDS for PostgreSQL rds-ledger-dev")
    assert database.layer == "platform"
    assert database.monthly["min"] == database.monthly["max"] == pytest.approx(0.016 * HOURS + 20 * 0.115)
    assert line(dev, "RDS-managed master secret").monthly["min"] == pytest.approx(0.40)
    # An external database costs the platform nothing.
    assert not [entry for entry in alt.lines if entry.item.startswith("RDS")]


def test_multi_az_doubles_the_instance_and_storage_rates(platform):
    resources = [
        replace(r, props={**r.props, "multiAz": True, "instanceClass": "db.m7g.large"})
        if r.type == "aws:rds/instance:Instance"
        else r
        for r in resources_of(platform)
    ]
    database = line(cost.estimate({"platform": resources}, TABLE), "RDS for PostgreSQL rds-ledger-dev")
    assert database.monthly["min"] == pytest.approx(0.336 * HOURS + 20 * 0.23)


def test_a_class_without_a_rate_is_refused_naming_the_class_and_the_source(platform):
    resources = [
        replace(r, props={**r.props, "instanceClass": "db.x2g.16xlarge"})
        if r.type == "aws:rds/instance:Instance"
        else r
        for r in resources_of(platform)
    ]
    with pytest.raises(
        pricing.PriceTableError, match=r"db\.x2g\.16xlarge \(singleAz\).*rds/postgresql/pricing"
    ):
        cost.estimate({"platform": resources}, TABLE)
