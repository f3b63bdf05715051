"""The architecture picture: read from the plan, deterministic, and the committed copy current."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET

import pytest

from planning import diagram
from planning.plan import layer_report


def report_of(**layers) -> dict:
    return {"stack": "dev", "layers": [layer_report(name, ev, 0.0) for name, ev in layers.items()]}


@pytest.fixture(scope="module")
def example(network, platform, services) -> dict:
    return report_of(network=network, platform=platform, services=services)


@pytest.fixture(scope="module")
def alternative(network_ha, platform_alt, services_alt) -> dict:
    return report_of(network=network_ha, platform=platform_alt, services=services_alt)


def labels(picture: diagram.Architecture) -> dict[tuple[str, str], str]:
    return {(a.source, a.target): a.label for a in picture.arrows}


def test_the_committed_picture_is_the_one_the_example_plan_draws(example):
    assert diagram.COMMITTED_COPY.read_text() == diagram.svg_of(example), (
        "docs/architecture.svg is stale: run `python3 dev.py docs`"
    )


def test_traffic_follows_the_listeners_target_groups_and_the_tasks_callee_urls(example):
    picture = diagram.read(example)
    arrows = labels(picture)
    assert arrows[("internet", "waf")] == ""
    assert arrows[("waf", "public-alb")] == ""
    assert arrows[("public-alb", "ecs-service-api-gateway-dev")] == "80, 8080 HTTP"
    assert arrows[("ecs-service-api-gateway-dev", "internal-alb")] == "payment-processor:8081"
    assert arrows[("ecs-service-payment-processor-dev", "internal-alb")] == "fraud-detector:8082"
    assert arrows[("internal-alb", "ecs-service-payment-processor-dev")] == "8081, 9081 HTTP"
    assert arrows[("internal-alb", "ecs-service-fraud-detector-dev")] == "8082, 9082 HTTP"
    assert picture.box("cloud-map").lines[1:] == (
        "fraud-detector.payments-dev.local",
        "payment-processor.payments-dev.local",
    )
    # Call order sets the places: the gateway's callee beside the internal ALB, its callee below.
    assert picture.box("ecs-service-payment-processor-dev").row == 1
    assert picture.box("ecs-service-fraud-detector-dev").row == 2


def test_the_release_hooks_and_nat_gateways_come_from_the_plan(example, alternative):
    assert diagram.read(example).box("nat").lines == ("NAT gateway", "1 in public subnets")
    assert diagram.read(alternative).box("nat").lines == ("NAT gateways", "3 in public subnets")
    picture = diagram.read(example)
    assert picture.box("lambda-scan-gate-dev").lines[0] == "release hook: BeforeInstall"
    assert picture.box("lambda-smoke-test-dev").lines[0] == "release hook: AfterAllowTestTraffic"
    assert ("lambda-smoke-test-dev", "internal-alb") in labels(picture)


def test_the_managed_database_sits_beside_the_services_its_group_admits(example, alternative):
    picture = diagram.read(example)
    assert picture.box("database").lines == (
        "RDS for PostgreSQL 16",
        "rds-ledger-dev",
        "db.t4g.micro, Single-AZ, TLS only",
    )
    assert [(a.source, a.label) for a in picture.arrows if a.target == "database"] == [
        ("ecs-service-payment-processor-dev", "5432 TLS")
    ]
    # An external database is not drawn: the platform does not run it.
    assert "database" not in {b.key for b in diagram.read(alternative).boxes}


def test_without_a_web_acl_the_internet_reaches_the_public_alb_directly(example):
    assert ("internet", "waf") in labels(diagram.read(example))  # WAF is on by default
    without_waf = copy.deepcopy(example)
    for layer in without_waf["layers"]:
        layer["resources"] = [r for r in layer["resources"] if not r["type"].startswith("aws:wafv2/")]
    arrows = labels(diagram.read(without_waf))
    assert ("internet", "public-alb") in arrows
    assert not any("waf" in pair for pair in arrows)


def test_the_svg_is_well_formed_and_the_same_every_time(example):
    first, second = diagram.svg_of(example), diagram.svg_of(copy.deepcopy(example))
    assert first == second
    root = ET.fromstring(first)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "alb-internal-dev" in texts
    assert "ecs-service-fraud-detector-dev" in texts
