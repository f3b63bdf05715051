"""Blue/green target groups, production and test listeners, and the Cloud Map names of internal services."""

from __future__ import annotations

import pytest

from shared.catalogue import CATALOGUE, INTERNAL
from stacks.services.traffic import TLS_POLICY
from tests.conftest import CERTIFICATE_ARN
from tests.services.conftest import SPECS, STACKS, owned_by

TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
LISTENER = "aws:lb/listener:Listener"


def alb_arn(request, fixture, spec):
    platform = request.getfixturevalue("platform" if fixture == "services" else "platform_alt")
    return platform.exports["internalAlbArn" if spec.load_balancer == INTERNAL else "publicAlbArn"]


def listeners(evaluation, spec):
    """Listener resources of `spec` by role: prod, test and (with TLS) redirect."""
    roles = ("prod", "test", "redirect")
    return {role: r for r in owned_by(evaluation, spec, LISTENER) for role in roles if f"-{role}-" in r.name}


@pytest.mark.parametrize(("fixture", "suffix"), STACKS)
@pytest.mark.parametrize("spec", SPECS)
def test_two_ip_target_groups_check_the_health_path_and_drain_fast(request, fixture, suffix, spec):
    evaluation = request.getfixturevalue(fixture)
    groups = owned_by(evaluation, spec, TARGET_GROUP)
    assert sorted(g.name for g in groups) == [
        f"tg-{spec.code}-blue-{suffix}",
        f"tg-{spec.code}-green-{suffix}",
    ]
    for group in groups:
        inputs = group.inputs
        assert "name" not in inputs
        assert "namePrefix" not in inputs
        assert len(group.name) <= 24  # room for Pulumi's 8 random characters within AWS's 32
        assert (inputs["targetType"], inputs["protocol"], inputs["port"]) == (
            "ip",
            "HTTP",
            spec.container_port,
        )
        assert inputs["deregistrationDelay"] <= 30
        check = inputs["healthCheck"]
        assert (check["path"], check["matcher"], check["port"]) == (spec.health_path, "200", "traffic-port")
        assert check["timeout"] < check["interval"]


def test_target_group_settings_come_from_config(services_alt):
    for group in services_alt.all(TARGET_GROUP):
        check = group.inputs["healthCheck"]
        assert group.inputs["deregistrationDelay"] == 10
        thresholds = (check["healthyThreshold"], check["unhealthyThreshold"])
        assert (check["interval"], check["timeout"], *thresholds) == (10, 3, 3, 2)


@pytest.mark.parametrize("spec", SPECS)
def test_production_and_test_listeners_forward_to_blue_on_the_right_alb(request, services, spec):
    found = listeners(services, spec)
    assert set(found) == {"prod", "test"}
    blue = next(g for g in owned_by(services, spec, TARGET_GROUP) if "-blue-" in g.name)
    for role, port in (("prod", spec.production_port), ("test", spec.test_port)):
        inputs = found[role].inputs
        assert inputs["loadBalancerArn"] == alb_arn(request, "services", spec)
        assert (inputs["port"], inputs["protocol"]) == (port, "HTTP")
        assert inputs["defaultActions"] == [{"type": "forward", "targetGroupArn": blue.state["arn"]}]
        assert found[role].ignore_changes == ("defaultActions",)


@pytest.mark.parametrize("spec", SPECS)
def test_with_a_certificate_the_public_service_serves_https_and_redirects_http(request, services_alt, spec):
    found = listeners(services_alt, spec)
    if spec.load_balancer == INTERNAL:
        assert set(found) == {"prod", "test"}
        assert {r.inputs["protocol"] for r in found.values()} == {"HTTP"}
        return
    assert set(found) == {"prod", "test", "redirect"}
    for role in ("prod", "test"):
        inputs = found[role].inputs
        assert (inputs["protocol"], inputs["certificateArn"], inputs["sslPolicy"]) == (
            "HTTPS", CERTIFICATE_ARN, TLS_POLICY
        )  # fmt: skip
    assert found["prod"].inputs["port"] == 443
    redirect = found["redirect"].inputs
    assert (redirect["port"], redirect["protocol"]) == (80, "HTTP")
    assert redirect["defaultActions"] == [
        {"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS", "statusCode": "HTTP_301"}}
    ]
    # Adding a certificate moves production from 80 to 443: port 80 is free only after that.
    assert found["prod"].urn in found["redirect"].dependencies


def test_every_listener_port_is_used_once_per_load_balancer(services_alt):
    seen = [(r.inputs["loadBalancerArn"], r.inputs["port"]) for r in services_alt.all(LISTENER)]
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize(("fixture", "suffix"), STACKS)
def test_internal_services_get_a_weighted_cloud_map_alias_to_the_internal_alb(request, fixture, suffix):
    evaluation = request.getfixturevalue(fixture)
    platform = request.getfixturevalue("platform" if fixture == "services" else "platform_alt")
    internal = [spec for spec in CATALOGUE if spec.load_balancer == INTERNAL]
    discovered = evaluation.all("aws:servicediscovery/service:Service")
    assert sorted(d.inputs["name"] for d in discovered) == sorted(spec.name for spec in internal)
    for spec in internal:
        [service] = owned_by(evaluation, spec, "aws:servicediscovery/service:Service")
        inputs = service.inputs
        assert inputs["namespaceId"] == platform.exports["namespaceId"]
        assert inputs["dnsConfig"]["routingPolicy"] == "WEIGHTED"
        assert [r["type"] for r in inputs["dnsConfig"]["dnsRecords"]] == ["A"]
        assert "healthCheckConfig" not in inputs
        assert "healthCheckCustomConfig" not in inputs
        assert inputs["forceDestroy"] is True
        [instance] = owned_by(evaluation, spec, "aws:servicediscovery/instance:Instance")
        assert instance.inputs["serviceId"] == service.id
        assert instance.inputs["attributes"] == {"AWS_ALIAS_DNS_NAME": platform.exports["internalAlbDnsName"]}


def test_the_public_service_has_no_private_dns_name(services):
    assert owned_by(services, CATALOGUE[0], "aws:servicediscovery/service:Service") == []
    assert "api-gateway" not in services.exports["internalDnsNames"]
