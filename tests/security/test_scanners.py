"""Third-party scanners over every layer's plan: trivy and checkov, offline, with explained waivers."""

from __future__ import annotations

import json

import pytest

from planning import terraform_plan
from tests.security.scanners import Finding, load_waivers

PLANTED_EXPECTED = {
    # trivy's embedded checks: AWS-0107 (SSH/RDP from the internet), AWS-0017 (log group without a CMK).
    Finding("trivy", "AWS-0107", "aws_security_group.planted_open_ssh"),
    Finding("trivy", "AWS-0017", "aws_cloudwatch_log_group.planted_unencrypted"),
    # checkov: CKV_AWS_24 (port 22 from 0.0.0.0/0), CKV_AWS_158 (log group not encrypted by KMS).
    Finding("checkov", "CKV_AWS_24", "aws_security_group.planted_open_ssh"),
    Finding("checkov", "CKV_AWS_158", "aws_cloudwatch_log_group.planted_unencrypted"),
}


def _key(finding: Finding) -> Finding:
    return Finding(finding.scanner, finding.check, finding.resource)


def _unwaived(findings):
    waivers = load_waivers()
    return [f for f in findings if not any(w.covers(f) for w in waivers)]


def test_every_finding_on_the_layers_is_waived_with_a_reason(scan):
    layers = [f for f in scan.all if ".planted_" not in f.resource]
    assert layers, "the scanners found nothing at all: are they reading the plans?"
    unwaived = _unwaived(layers)
    assert unwaived == [], (
        "fix these, or waive them in policy/scanner-waivers.yaml with a reason:\n"
        + "\n".join(f"{f.scanner} {f.check} {f.resource}: {f.title}" for f in unwaived)
    )


def test_every_waiver_still_matches_a_finding_and_says_why(scan):
    for waiver in load_waivers():
        if waiver.scanner == "securityhub":
            continue  # the Security Hub catalogue's: tests/compliance/test_security_hub_controls.py
        assert len(waiver.reason) > 20, f"{waiver.check}: say why"
        assert any(waiver.covers(f) for f in scan.all), (
            f"{waiver.scanner} {waiver.check} waives nothing: remove it"
        )


def test_the_planted_bad_resources_are_caught_and_not_waived(scan):
    caught = {_key(f) for f in scan.all if ".planted_" in f.resource}
    assert caught >= PLANTED_EXPECTED
    assert {_key(f) for f in _unwaived(scan.all)} >= PLANTED_EXPECTED


def test_the_scanners_made_no_network_request(scan):
    # Every HTTP(S) proxy variable pointed at a loopback trap for both runs (see tests/security/scanners.py).
    assert scan.proxied_connections == 0


def test_the_public_entry_point_passes_the_scanners_https_and_waf_checks_with_a_certificate(scan):
    # qa-7 has a certificate and the optional WAF groups: nothing about its public ALB needs a waiver
    # beyond being internet-facing.
    entry = (
        "aws_lb.alb-public-qa-7",
        "aws_lb_listener.listener-api-gateway-",
        "aws_wafv2_",
        "aws_vpc_security_group_ingress_rule.security-group-alb-public-",
    )
    public = [f for f in scan.all if f.resource.startswith(entry) and f.resource.endswith("qa-7")]
    assert {(f.scanner, f.check) for f in public} <= {("trivy", "AWS-0053"), ("checkov", "CKV_AWS_150")}


def test_the_rendered_plan_has_the_terraform_show_json_shape(scan):
    document = json.loads((scan.plans / "dev.tfplan.json").read_text())
    assert document["format_version"] == "1.2"
    resources = document["planned_values"]["root_module"]["resources"]
    changes = {c["address"]: c for c in document["resource_changes"]}
    config = {c["address"]: c for c in document["configuration"]["root_module"]["resources"]}
    assert len(resources) == len(changes) == len(config) > 100
    [listener] = [r for r in resources if r["address"] == "aws_lb_listener.listener-api-gateway-prod-dev"]
    assert (listener["type"], listener["mode"]) == ("aws_lb_listener", "managed")
    assert listener["values"]["protocol"] == "HTTP"
    assert listener["values"]["default_action"][0]["type"] == "forward"  # Pulumi's defaultActions
    # The ALB is created in the same plan: its ARN is unknown until apply, and a reference says where from.
    assert changes[listener["address"]]["change"]["after_unknown"]["load_balancer_arn"] is True
    assert (
        config[listener["address"]]["expressions"]["load_balancer_arn"]["references"][0]
        == "aws_lb.alb-public-dev.arn"
    )


def test_every_resource_type_the_layers_create_has_a_terraform_type(scan):
    # A new type in a layer must be named in TERRAFORM_TYPES, or render refuses it.
    document = json.loads((scan.plans / "qa-7.tfplan.json").read_text())
    types = {r["type"] for r in document["planned_values"]["root_module"]["resources"]}
    assert types <= set(terraform_plan.TERRAFORM_TYPES.values())
    assert {"aws_wafv2_web_acl", "aws_s3_bucket_versioning"} <= types


def test_an_unknown_resource_type_is_refused_by_name():
    from offline.engine import Evaluation, RecordedResource

    odd = RecordedResource(
        "urn:x",
        "aws:new/thing:Thing",
        "thing-dev",
        "id-1",
        None,
        None,
        {},
        {},
        (),
        (),
        (),
        False,
        False,
        False,
    )
    with pytest.raises(terraform_plan.UnknownTypeError, match="aws:new/thing:Thing"):
        terraform_plan.render(Evaluation("p", "dev", (odd,), {}, ()))


@pytest.mark.parametrize(
    ("pulumi_inputs", "terraform"),
    [
        ({"defaultActions": [{"type": "forward"}]}, {"default_action": [{"type": "forward"}]}),
        ({"accessLogs": {"enabled": True}}, {"access_logs": [{"enabled": True}]}),
        ({"tags": {"Service": "x"}}, {"tags": {"Service": "x"}}),
        ({"retentionInDays": 30.0}, {"retention_in_days": 30}),
        ({"environment": {"variables": {"A": "1"}}}, {"environment": [{"variables": {"A": "1"}}]}),
    ],
)
def test_pulumi_inputs_become_terraform_attributes(pulumi_inputs, terraform):
    assert terraform_plan.terraform_values(pulumi_inputs) == terraform
