"""The architecture picture: read from the plan, true for each configuration, legible, and current."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET

import pytest

from planning import diagram
from planning import diagram_geometry as geometry
from planning.plan import layer_report
from shared.catalogue import CATALOGUE

SVG = "{http://www.w3.org/2000/svg}"


def report_of(suffix: str = "dev", **layers) -> dict:
    return {
        "stack": "dev",
        "environmentSuffix": suffix,
        "layers": [layer_report(name, ev, 0.0) for name, ev in layers.items()],
    }


@pytest.fixture(scope="module")
def example(network, platform, services) -> dict:
    """The example stacks: one NAT gateway, no interface endpoints, a managed database."""
    return report_of(network=network, platform=platform, services=services)


@pytest.fixture(scope="module")
def alternative(network_ha, platform_alt, services_alt) -> dict:
    """Suffix qa-7, NAT per AZ, interface endpoints on, an external database, HTTPS."""
    return report_of("qa-7", network=network_ha, platform=platform_alt, services=services_alt)


def without_waf(report: dict) -> dict:
    bare = copy.deepcopy(report)
    for layer in bare["layers"]:
        layer["resources"] = [r for r in layer["resources"] if not r["type"].startswith("aws:wafv2/")]
    return bare


def labels(picture: diagram.Architecture) -> dict[tuple[str, str], str]:
    return {(a.source, a.target): a.label for a in picture.arrows}


def service_box(name: str, suffix: str = "dev") -> str:
    return f"ecs-service-{name}-{suffix}"


def test_the_committed_picture_is_the_one_the_example_plan_draws(example):
    assert diagram.COMMITTED_COPY.read_text() == diagram.svg_of(example), (
        "docs/architecture.svg is stale: run `python3 dev.py docs`"
    )


def test_traffic_follows_the_listeners_target_groups_and_the_tasks_callee_urls(example):
    picture = diagram.read(example)
    arrows = labels(picture)
    assert arrows[("internet", "waf")] == ""
    assert arrows[("waf", "public-alb")] == ""
    assert arrows[("ecs-service-api-gateway-dev", "internal-alb")] == "payment-processor:8081"
    assert arrows[("ecs-service-payment-processor-dev", "internal-alb")] == "fraud-detector:8082"
    assert picture.box("public-alb").lines[2] == "80, 8080 HTTP"  # the listeners stay on the ALB's box
    assert picture.box("cloud-map").lines[1:] == (
        "fraud-detector.payments-dev.local",
        "payment-processor.payments-dev.local",
    )
    # Call order sets the places: the gateway's callee beside the internal ALB, its callee below.
    assert picture.box("ecs-service-payment-processor-dev").row == 1
    assert picture.box("ecs-service-fraud-detector-dev").row == 2


@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda s: s.name)
def test_a_load_balancer_reaches_each_task_on_its_container_port_not_a_listener_port(example, spec):
    alb = "internal-alb" if spec.internal else "public-alb"
    assert labels(diagram.read(example))[(alb, service_box(spec.name))] == str(spec.container_port)


@pytest.mark.parametrize("configuration", ["example", "alternative"])
def test_every_service_s_outbound_https_is_drawn(configuration, request):
    report = request.getfixturevalue(configuration)
    picture = diagram.read(report)
    suffix = report["environmentSuffix"]
    way_out = {a.source: a.target for a in picture.arrows if a.target in ("nat", "endpoints")}
    assert set(way_out) == {service_box(spec.name, suffix) for spec in CATALOGUE}
    assert all(labels(picture)[(source, target)] == "443" for source, target in way_out.items())


def test_without_interface_endpoints_aws_api_calls_leave_through_nat(example):
    picture = diagram.read(example)
    arrows = labels(picture)
    assert ("nat", "aws-apis") in arrows
    assert not picture.has("endpoints")
    assert {t for (s, t) in arrows if s.startswith("ecs-service-") and t in ("nat", "endpoints")} == {"nat"}
    assert diagram.read(example).box("nat").lines == ("NAT gateway", "1 in public subnets")


def test_with_interface_endpoints_aws_api_calls_go_through_them_not_nat(alternative):
    picture = diagram.read(alternative)
    arrows = labels(picture)
    assert ("endpoints", "aws-apis") in arrows
    assert not any(target == "nat" or source == "nat" for source, target in arrows)
    assert picture.box("nat").lines == ("NAT gateways", "3 in public subnets", "other outbound traffic")
    listed = " ".join(picture.box("endpoints").lines[1:])
    # stacks/network/endpoints.py's INTERFACE_SERVICES, as the plan has them
    for service in ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "kms"):
        assert service in listed


def test_interface_endpoints_without_private_dns_leave_aws_api_calls_on_nat(alternative):
    """Without private DNS the services' default names resolve to public addresses, reached by NAT."""
    no_private_dns = copy.deepcopy(alternative)
    for layer in no_private_dns["layers"]:
        for resource in layer["resources"]:
            if resource["type"] == "aws:ec2/vpcEndpoint:VpcEndpoint":
                resource["inputs"]["privateDnsEnabled"] = False
    picture = diagram.read(no_private_dns)
    assert not picture.has("endpoints")
    assert ("nat", "aws-apis") in labels(picture)


def test_the_title_names_the_suffix_every_name_ends_in(example, alternative):
    assert diagram.title_of(example) == "Payment platform, stack dev: traffic and release paths"
    assert "environment qa-7" in diagram.title_of(alternative)
    svg = ET.fromstring(diagram.svg_of(alternative))
    assert "environment qa-7" in next(svg.iter(f"{SVG}text")).text


def test_the_release_hooks_and_nat_gateways_come_from_the_plan(example, alternative):
    assert diagram.read(alternative).box("nat").lines[:2] == ("NAT gateways", "3 in public subnets")
    picture = diagram.read(example)
    assert picture.box("lambda-scan-gate-dev").lines[0] == "release hook: BeforeInstall"
    assert picture.box("lambda-smoke-test-dev").lines[0] == "release hook: AfterAllowTestTraffic"
    assert ("lambda-smoke-test-dev", "internal-alb") in labels(picture)


def test_roles_come_from_the_layers_exports_not_from_parts_of_names(example):
    """Renamed functions and services keep their roles: nothing is found by a substring of a name."""
    text = json.dumps(example)
    for old, new in (
        ("lambda-scan-gate-dev", "lambda-image-check-dev"),
        ("lambda-smoke-test-dev", "lambda-green-probe-dev"),
        ("lambda-secret-rotation-dev", "lambda-rotator-dev"),
        ("ecs-service-payment-processor-dev", "ecs-service-ledger-dev"),
        ("ecs-service-fraud-detector-dev", "ecs-service-risk-dev"),
        ("/vpc/flow-logs-dev", "/network/traffic-dev"),
    ):
        text = text.replace(old, new)
    picture = diagram.read(json.loads(text))
    arrows = labels(picture)
    assert picture.box("lambda-image-check-dev").lines[0] == "release hook: BeforeInstall"
    assert picture.box("lambda-green-probe-dev").lines[0] == "release hook: AfterAllowTestTraffic"
    assert picture.box("lambda-rotator-dev").lines[0] == "secret rotation"
    assert picture.box("vpc").lines[2] == "flow logs to /network/traffic-dev"
    assert arrows[("ecs-service-api-gateway-dev", "internal-alb")] == "payment-processor:8081"
    assert arrows[("ecs-service-ledger-dev", "internal-alb")] == "fraud-detector:8082"
    assert arrows[("ecs-service-ledger-dev", "database")] == "5432 TLS"
    assert arrows[("internal-alb", "ecs-service-risk-dev")] == "8080"


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
    arrows = labels(diagram.read(without_waf(example)))
    assert ("internet", "public-alb") in arrows
    assert not any("waf" in pair for pair in arrows)


def drawn(svg: str) -> tuple[list[tuple[str, geometry.Segment]], list[tuple[str, geometry.Rect]], list]:
    """The lines, boxes and arrow labels of a rendered SVG, read back from its elements."""
    root = ET.fromstring(svg)
    lines = [
        (f"#{index}", geometry.Segment(*(float(line.get(k)) for k in ("x1", "y1", "x2", "y2"))))
        for index, line in enumerate(root.iter(f"{SVG}line"))
    ]
    boxes = [
        (f"at {rect.get('x')},{rect.get('y')}", geometry.Rect(
            float(rect.get("x")), float(rect.get("y")),
            float(rect.get("x")) + float(rect.get("width")), float(rect.get("y")) + float(rect.get("height")),
        ))
        for rect in root.iter(f"{SVG}rect")
        if rect.get("rx")  # the boxes (the background and the legend's swatches have none)
    ]  # fmt: skip
    texts = [
        geometry.Label(t.text or "", float(t.get("x")), float(t.get("y")) - 4)
        for t in root.iter(f"{SVG}text")
        if t.get("class") == "label"
    ]
    return lines, boxes, texts


@pytest.mark.parametrize("configuration", ["example", "alternative", "example without WAF"])
def test_no_line_crosses_a_label_and_no_label_overlaps_a_box_or_another(configuration, request):
    report = request.getfixturevalue(configuration.split()[0])
    if configuration.endswith("without WAF"):
        report = without_waf(report)
    lines, boxes, texts = drawn(diagram.svg_of(report))
    assert len(texts) == sum(1 for a in diagram.read(report).arrows if a.label)
    assert geometry.collisions(lines, boxes, texts) == []


@pytest.mark.parametrize("configuration", ["example", "alternative"])
def test_no_line_runs_through_a_box_it_does_not_connect(configuration, request):
    lines, boxes, _ = drawn(diagram.svg_of(request.getfixturevalue(configuration)))
    through = [
        (line_name, box_name)
        for line_name, line in lines
        for box_name, box in boxes
        if box.grown(-2).crossed_by(line)  # a line ends on its own boxes' borders
    ]
    assert through == []


def test_the_overlap_check_catches_a_crossed_and_an_overlapping_label():
    line = geometry.Segment(0, 50, 200, 50)
    on_the_line = geometry.Label("443", 100, 50)
    beside = geometry.Label("443", 100, 30)
    assert geometry.collisions([("a", line)], [], [on_the_line]) == ["line a crosses label '443'"]
    assert geometry.collisions([("a", line)], [], [beside]) == []
    assert geometry.collisions([], [("b", geometry.Rect(90, 20, 300, 40))], [beside]) == [
        "label '443' overlaps box b"
    ]
    assert len(geometry.collisions([], [], [beside, geometry.Label("8080", 105, 32)])) == 1


def test_the_svg_is_well_formed_and_the_same_every_time(example):
    first, second = diagram.svg_of(example), diagram.svg_of(copy.deepcopy(example))
    assert first == second
    root = ET.fromstring(first)
    assert root.tag == f"{SVG}svg"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "alb-internal-dev" in texts
    assert "ecs-service-fraud-detector-dev" in texts
