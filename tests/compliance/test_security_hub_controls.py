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
    assert failed == {
        "ELB.1",
        "ELB.6",
        "ELB.18",
        "RDS.5",
        "RDS.6",
        "RDS.8",
        "RDS.10",
        "RDS.23",
        "S3.9",
        "S3.15",
        "S3.17",
    }


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


# What the standards' pages say (fsbp-standard, pci-standard: the controls each standard lists), pinned
# because an earlier catalogue had them wrong: listed under PCI DSS v3.2.1 only, or in no FSBP list.
PCI_V3_ONLY = ("ELB.1", "IAM.1", "EC2.2", "EC2.6")
NOT_FSBP = ("EC2.13", "EC2.14", "EC2.53", "EC2.54", "KMS.4", "S3.15", "S3.17", "WAF.11")
# Requirement numbers as the control pages' "Related requirements" lines give them for PCI DSS v4.0.1.
READ_REQUIREMENTS = {
    "ECR.1": ("6.2.3", "6.2.4"),
    "ECS.2": ("1.4.4",),
    "ECS.8": ("8.6.2",),
    "ECS.10": ("6.3.3",),
    "ECS.16": ("1.4.4",),
    "EC2.13": ("1.3.1",),
    "EC2.14": ("1.3.1",),
    "EC2.15": ("1.4.4",),
    "ELB.4": ("6.2.4",),
    "ELB.12": ("6.2.4",),
    "KMS.4": ("3.7.4",),
    "Lambda.1": ("7.2.1",),
    "Lambda.2": ("12.3.4",),
    "RDS.2": ("1.4.4",),
    "RDS.9": ("10.2.1",),
    "RDS.13": ("6.3.3",),
    "RDS.25": ("2.2.2",),
    "RDS.36": ("10.4.2",),
    "S3.5": ("4.2.1",),
    "S3.8": ("1.4.4",),
    "S3.9": ("10.2.1",),
    "S3.15": ("10.5.1",),
    "S3.17": ("3.5.1",),
    "SecretsManager.1": ("8.6.3", "8.3.9"),
    "SecretsManager.4": ("8.6.3", "8.3.9"),
    "WAF.11": ("10.4.2",),
}


@pytest.mark.parametrize("control_id", PCI_V3_ONLY)
def test_a_control_of_pci_dss_v3_only_is_not_labelled_pci_v4(control_id):
    control = sh.CONTROLS_BY_ID[control_id]
    assert (sh.PCI not in control.standards, control.requirements) == (True, ())


@pytest.mark.parametrize("control_id", NOT_FSBP)
def test_a_control_the_fsbp_list_does_not_name_is_not_labelled_fsbp(control_id):
    assert sh.FSBP not in sh.CONTROLS_BY_ID[control_id].standards


def test_every_pci_control_has_its_requirement_read_from_its_page_or_is_marked_not_read():
    pci = {c.id: c.requirements for c in sh.CONTROLS if sh.PCI in c.standards}
    assert {i: r for i, r in pci.items() if i not in sh.REQUIREMENTS_NOT_READ} == READ_REQUIREMENTS
    assert set(pci) >= sh.REQUIREMENTS_NOT_READ


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
        ("EC2.15", _bad(sh.SUBNET, mapPublicIpOnLaunch=True)),
        ("EC2.54", _bad(sh.SG_INGRESS, cidrIpv6="::/0", fromPort=3389, toPort=3389, ipProtocol="tcp")),
        (
            "ECS.1",
            _bad(sh.TASK_DEFINITION, networkMode="host", containerDefinitions='[{"name": "a", "user": "0"}]'),
        ),
        ("ELB.17", _bad(sh.LISTENER, protocol="HTTPS", sslPolicy="ELBSecurityPolicy-2016-08")),
        ("ELB.18", _bad(sh.LISTENER, protocol="HTTP", defaultActions=[{"type": "redirect"}])),
        (
            "KMS.2",
            _bad(
                sh.ROLE_POLICY,
                policy='{"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt*", "Resource": "*"}]}',
            ),
        ),
        (
            "KMS.5",
            _bad(
                sh.KMS_KEY,
                enableKeyRotation=True,
                policy='{"Statement": [{"Sid": "Open", "Effect": "Allow", "Principal": {"AWS": "*"}, '
                '"Action": "kms:Decrypt", "Resource": "*"}]}',
            ),
        ),
        ("RDS.6", _bad(sh.RDS_INSTANCE, monitoringInterval=0)),
        ("RDS.10", _bad(sh.RDS_INSTANCE, iamDatabaseAuthenticationEnabled=False)),
        ("RDS.25", _bad(sh.RDS_INSTANCE, username="postgres")),
        ("RDS.36", _bad(sh.RDS_INSTANCE, enabledCloudwatchLogsExports=["upgrade"])),
        ("S3.12", _bad(sh.BUCKET, bucket="b")),
        ("S3.13", _bad(sh.BUCKET, bucket="b")),
        ("S3.17", _bad(sh.BUCKET, bucket="b")),
        ("WAF.10", _bad(sh.WEB_ACL, rules=[])),
        ("WAF.11", Resource(type=sh.WEB_ACL, name="bad", props={"rules": []}, arn="arn:aws:wafv2:acl")),
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
    assert "10 failed (10 waived with a reason)" in text


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


def test_ec2_53_and_ec2_54_each_look_at_their_own_address_family():
    ipv4 = _bad(sh.SG_INGRESS, cidrIpv4="0.0.0.0/0", fromPort=22, toPort=22, ipProtocol="tcp")
    status = _status(sh.evaluate([ipv4]))
    assert (status["EC2.53"], status["EC2.54"]) == ("FAILED", "PASSED")


def test_rds_46_fails_a_database_whose_subnet_group_holds_a_subnet_routed_to_an_internet_gateway():
    plan = [
        _bad(sh.ROUTE, "to-igw", routeTableId="rtb-1", gatewayId="igw-1", destinationCidrBlock="0.0.0.0/0"),
        _bad(
            sh.ROUTE, "to-nat", routeTableId="rtb-2", natGatewayId="nat-1", destinationCidrBlock="0.0.0.0/0"
        ),
        _bad(sh.ROUTE_TABLE_ASSOCIATION, "public", subnetId="subnet-pub", routeTableId="rtb-1"),
        _bad(sh.ROUTE_TABLE_ASSOCIATION, "private", subnetId="subnet-priv", routeTableId="rtb-2"),
        Resource(
            type=sh.DB_SUBNET_GROUP,
            name="group",
            props={"name": "g", "subnetIds": ["subnet-priv", "subnet-pub"]},
        ),
        _bad(sh.RDS_INSTANCE, "bad", dbSubnetGroupName="g"),
    ]
    [result] = [r for r in sh.evaluate(plan) if r.control.id == "RDS.46"]
    assert result.findings == ("bad: in a subnet with a route to an internet gateway",)
    private_only = [
        *plan[:4],
        Resource(type=sh.DB_SUBNET_GROUP, name="group", props={"name": "g", "subnetIds": ["subnet-priv"]}),
        plan[5],
    ]
    assert _status(sh.evaluate(private_only))["RDS.46"] == "PASSED"


def test_s3_6_fails_a_bucket_policy_that_lets_another_account_rewrite_the_policy():
    policy = (
        '{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, '
        '"Action": "s3:PutBucketPolicy", "Resource": "arn:aws:s3:::b"}]}'
    )
    plan = [
        _bad(sh.BUCKET, "b", bucket="b"),
        _bad(sh.BUCKET_POLICY, "bad", bucket="b", policy=policy),
        Resource(type=sh.KMS_KEY, name="key", props={}, arn="arn:aws:kms:us-east-1:123456789012:key/k"),
    ]
    [result] = [r for r in sh.evaluate(plan) if r.control.id == "S3.6"]
    assert result.status == "FAILED"
    own = policy.replace("999999999999", "123456789012")
    assert (
        _status(sh.evaluate([*plan[:1], _bad(sh.BUCKET_POLICY, "ok", bucket="b", policy=own), plan[2]]))[
            "S3.6"
        ]
        == "PASSED"
    )


def test_sns_4_fails_a_topic_policy_open_to_everyone():
    policy = (
        '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sns:Publish", "Resource": "*"}]}'
    )
    plan = [_bad(sh.SNS_TOPIC, "topic"), _bad(sh.SNS_TOPIC_POLICY, "bad", policy=policy)]
    [result] = [r for r in sh.evaluate(plan) if r.control.id == "SNS.4"]
    assert result.findings == ("bad: allows everyone",)


@pytest.mark.parametrize(("schedule", "status"), [("rate(30 days)", "PASSED"), ("rate(120 days)", "FAILED")])
def test_secrets_manager_4_fails_a_schedule_longer_than_90_days(schedule, status):
    plan = [
        _bad(sh.SECRET, "secret"),
        _bad(sh.SECRET_ROTATION, "rotation", rotationRules={"scheduleExpression": schedule}),
    ]
    assert _status(sh.evaluate(plan))["SecretsManager.4"] == status


def test_waf_11_passes_a_web_acl_whose_logging_configuration_names_it():
    acl = Resource(type=sh.WEB_ACL, name="acl", props={"rules": [{}]}, arn="arn:aws:wafv2:acl")
    logging = _bad(sh.WEB_ACL_LOGGING, "logging", resourceArn="arn:aws:wafv2:acl")
    assert _status(sh.evaluate([acl, logging]))["WAF.11"] == "PASSED"
