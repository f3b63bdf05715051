"""The Security Hub controls (FSBP, PCI DSS v4.0.1) of policy/security_hub.py, evaluated on the
baseline and pci plans: every pci failure is waived with a reason, the catalogue is well formed, the
rules' labels agree with it, and each check can fail."""

from __future__ import annotations

import re

import pytest

from policy import security_hub as sh
from policy.model import Resource
from policy.offline_check import resources_of
from policy.rules import RULES


@pytest.fixture(scope="module")
def baseline_plan(network, platform, services):
    return [r for e in (network, platform, services) for r in resources_of(e)]


@pytest.fixture(scope="module")
def pci_plan(network_pci, platform_pci, services_pci):
    return [r for e in (network_pci, platform_pci, services_pci) for r in resources_of(e)]


def _status(results):
    return {r.control.id: r.status for r in results}


def test_every_control_has_an_id_a_title_a_severity_a_standard_and_its_page():
    assert len(sh.CONTROLS_BY_ID) == len(sh.CONTROLS)
    for control in sh.CONTROLS:
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]*\.\d+", control.id)
        assert control.title
        assert control.severity in ("CRITICAL", "HIGH", "MEDIUM", "LOW")
        assert set(control.standards) <= {sh.FSBP, sh.PCI}
        assert control.standards
        assert bool(control.requirements) == (sh.PCI in control.standards), control.id
        assert all(re.fullmatch(r"\d+\.\d+(\.\d+)*", req) for req in control.requirements)
        assert control.source.startswith("https://docs.aws.amazon.com/securityhub/latest/userguide/")
        assert control.resource_types


def test_no_unwaived_failure_on_the_pci_plan(pci_plan):
    results = sh.evaluate(pci_plan, sh.load_waivers())
    assert sh.unwaived(results) == []


def test_every_control_applies_to_the_pci_plan(pci_plan):
    assert [r.control.id for r in sh.evaluate(pci_plan) if r.status == "NOT_APPLICABLE"] == []


def test_the_pci_profile_fixes_what_the_baseline_fails(baseline_plan, pci_plan):
    baseline, pci = _status(sh.evaluate(baseline_plan)), _status(sh.evaluate(pci_plan))
    assert baseline["S3.15"] == "FAILED"  # the access-log bucket has no Object Lock
    assert pci["S3.15"] == "PASSED"  # the audit archive has
    assert baseline["DataFirehose.1"] == baseline["Backup.1"] == "NOT_APPLICABLE"
    assert pci["DataFirehose.1"] == pci["Backup.1"] == "PASSED"


def test_the_baseline_plan_is_evaluated_and_its_failures_are_known(baseline_plan):
    failed = {r.control.id for r in sh.evaluate(baseline_plan) if r.status == "FAILED"}
    assert failed == {"ELB.1", "ELB.6", "RDS.5", "RDS.8", "RDS.23", "S3.9", "S3.15"}


def test_every_securityhub_waiver_names_a_control_covers_a_pci_finding_and_says_why(pci_plan):
    results = sh.evaluate(pci_plan)
    for waiver in sh.load_waivers():
        assert waiver.control in sh.CONTROLS_BY_ID, waiver.control
        assert len(waiver.reason) > 40
        findings = [f for r in results if r.control.id == waiver.control for f in r.findings]
        assert any(waiver.covers(waiver.control, f) for f in findings), f"{waiver.control} waives nothing"


def _fsbp_claims(source: str) -> list[str]:
    """The control ids a rule's source claims as FSBP: `FSBP ECR.1, ECR.3`; `(spirit)` claims none."""
    claims = []
    for part in source.split(";"):
        part = part.strip()
        if part.startswith("FSBP ") and "(spirit)" not in part:
            claims += [c.strip() for c in part.removeprefix("FSBP ").split(",")]
    return claims


def _misclaimed(source: str) -> list[str]:
    return [
        c
        for c in _fsbp_claims(source)
        if c not in sh.CONTROLS_BY_ID or sh.FSBP not in sh.CONTROLS_BY_ID[c].standards
    ]


def test_a_rule_labelled_fsbp_follows_a_control_of_that_standard():
    assert {rule.name: _misclaimed(rule.source) for rule in RULES if _misclaimed(rule.source)} == {}
    assert "ECR.3" in _fsbp_claims("platform; FSBP ECR.1, ECR.3")


@pytest.mark.parametrize(
    "old_label", ["FSBP ELB.16; PCI DSS 6.4.2", "platform; FSBP CloudWatch.16", "FSBP KMS.4"]
)
def test_the_old_mislabels_would_be_caught(old_label):
    assert _misclaimed(old_label) != []


@pytest.mark.parametrize("control_id", ["ELB.16", "CloudWatch.16"])
def test_controls_in_neither_standard_are_not_in_the_catalogue(control_id):
    assert control_id not in sh.CONTROLS_BY_ID


def _bad(type_: str, name: str = "bad", **props) -> Resource:
    return Resource(type=type_, name=name, props=props)


@pytest.mark.parametrize(
    ("control_id", "resource"),
    [
        ("EC2.19", _bad(sh.SG_INGRESS, cidrIpv4="0.0.0.0/0", fromPort=5432, toPort=5432, ipProtocol="tcp")),
        ("EC2.53", _bad(sh.SG_INGRESS, cidrIpv4="0.0.0.0/0", fromPort=22, toPort=22, ipProtocol="tcp")),
        ("EC2.18", _bad(sh.SG_INGRESS, cidrIpv4="0.0.0.0/0", ipProtocol="-1")),
        ("ECS.4", _bad(sh.TASK_DEFINITION, containerDefinitions='[{"name": "a", "privileged": true}]')),
        ("ECS.9", _bad(sh.TASK_DEFINITION, containerDefinitions='[{"name": "a"}]')),
        ("ECS.10", _bad(sh.ECS_SERVICE, platformVersion="1.3.0")),
        ("ELB.1", _bad(sh.LISTENER, protocol="HTTP", defaultActions=[{"type": "forward"}])),
        ("Lambda.1", _bad(sh.LAMBDA_PERMISSION, principal="*", action="lambda:InvokeFunction")),
        ("Lambda.2", _bad(sh.LAMBDA, runtime="python3.7")),
        ("RDS.2", _bad(sh.RDS_INSTANCE, publiclyAccessible=True)),
        ("RDS.13", _bad(sh.RDS_INSTANCE, autoMinorVersionUpgrade=False)),
        ("S3.15", _bad(sh.BUCKET, bucket="b")),
        ("S3.5", _bad(sh.BUCKET, bucket="b")),
        ("KMS.4", _bad(sh.KMS_KEY, enableKeyRotation=False)),
        ("DataFirehose.1", _bad(sh.FIREHOSE)),
        (
            "IAM.1",
            _bad(
                sh.ROLE_POLICY, policy='{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'
            ),
        ),
    ],
)
def test_each_check_fails_a_resource_that_breaks_it(control_id, resource):
    [result] = [r for r in sh.evaluate([resource]) if r.control.id == control_id]
    assert result.status == "FAILED"
    assert result.findings[0].startswith("bad: ")


def test_the_summary_counts_waived_and_unwaived_findings(pci_plan):
    text = sh.summary(sh.evaluate(pci_plan, sh.load_waivers()))
    assert text.endswith("0 unwaived finding(s)")
    assert "6 failed (6 waived with a reason)" in text


def test_plan_reports_the_profile_and_its_controls(network_pci, platform_pci, services_pci):
    from planning.plan import controls_report, profile_of, render_controls

    evaluations = {"network": network_pci, "platform": platform_pci, "services": services_pci}
    report = controls_report(evaluations, ["pci", "pci", "pci"])
    [header, *findings] = render_controls(report)
    assert header.startswith("== Security Hub controls (FSBP, PCI DSS v4.0.1), complianceProfile pci: ")
    assert header.endswith("0 unwaived finding(s)")
    assert findings
    assert all(line.startswith("   [waived] ") for line in findings)
    assert profile_of("network", "dev", ["network:complianceProfile=pci"]) == "pci"
    assert profile_of("network", "dev", []) == "baseline"
