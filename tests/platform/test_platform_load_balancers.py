"""Both ALBs, their security groups and the access-log bucket."""

from __future__ import annotations

import pytest

from tests.conftest import PLATFORM_ALT_CONFIG
from tests.helpers import as_list, statements

ALB = "aws:lb/loadBalancer:LoadBalancer"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
BUCKET = "aws:s3/bucket:Bucket"
ELB_US_EAST_1 = "127311923021"


def alb(evaluation, role):
    [found] = [r for r in evaluation.all(ALB) if r.inputs["name"].startswith(f"alb-{role}-")]
    return found


def group(evaluation, role):
    [found] = [r for r in evaluation.all(SG) if r.inputs["name"].startswith(f"security-group-alb-{role}-")]
    return found


def rules(evaluation, rule_type, security_group):
    return [r for r in evaluation.all(rule_type) if r.inputs["securityGroupId"] == security_group.id]


@pytest.mark.parametrize(("fixture", "upstream"), [("platform", "network"), ("platform_alt", "network_ha")])
def test_the_public_alb_faces_the_internet_from_the_public_subnets(request, fixture, upstream):
    evaluation, network = request.getfixturevalue(fixture), request.getfixturevalue(upstream)
    public = alb(evaluation, "public")
    assert public.inputs["internal"] is False
    assert public.inputs["loadBalancerType"] == "application"
    assert public.inputs["subnets"] == network.exports["publicSubnetIds"]
    assert len(set(public.inputs["subnets"])) >= 2
    assert public.inputs["securityGroups"] == [group(evaluation, "public").id]


@pytest.mark.parametrize(("fixture", "upstream"), [("platform", "network"), ("platform_alt", "network_ha")])
def test_the_internal_alb_is_internal_in_the_private_subnets(request, fixture, upstream):
    evaluation, network = request.getfixturevalue(fixture), request.getfixturevalue(upstream)
    internal = alb(evaluation, "internal")
    assert internal.inputs["internal"] is True
    assert internal.inputs["subnets"] == network.exports["privateSubnetIds"]
    assert internal.inputs["securityGroups"] == [group(evaluation, "internal").id]


@pytest.mark.parametrize("role", ["public", "internal"])
def test_both_albs_drop_invalid_headers_log_access_and_can_be_deleted(platform, role):
    balancer = alb(platform, role)
    assert balancer.inputs["dropInvalidHeaderFields"] is True
    assert balancer.inputs["enableDeletionProtection"] is False
    bucket = platform.one(BUCKET)
    assert balancer.inputs["accessLogs"] == {
        "bucket": bucket.inputs["bucket"],
        "prefix": balancer.inputs["name"],
        "enabled": True,
    }


@pytest.mark.parametrize("role", ["public", "internal"])
def test_each_alb_waits_for_the_bucket_policy_elb_checks_at_creation(platform, role):
    policy = platform.one("aws:s3/bucketPolicy:BucketPolicy")
    assert policy.urn in alb(platform, role).dependencies


def test_the_public_sg_admits_only_http_and_https_from_the_allowed_ranges(platform, platform_alt):
    for evaluation, cidrs in (
        (platform, ["0.0.0.0/0"]),
        (platform_alt, PLATFORM_ALT_CONFIG["allowedIngressCidrs"]),
    ):
        ingress = rules(evaluation, INGRESS, group(evaluation, "public"))
        admitted = {
            (r.inputs["cidrIpv4"], r.inputs["fromPort"], r.inputs["toPort"], r.inputs["ipProtocol"])
            for r in ingress
        }
        assert admitted == {(cidr, port, port, "tcp") for cidr in cidrs for port in (80, 443)}
        assert len(ingress) == len(admitted)


@pytest.mark.parametrize(("fixture", "upstream"), [("platform", "network"), ("platform_alt", "network_ha")])
@pytest.mark.parametrize("role", ["public", "internal"])
def test_alb_egress_goes_only_to_the_vpc(request, fixture, upstream, role):
    evaluation, network = request.getfixturevalue(fixture), request.getfixturevalue(upstream)
    [egress] = rules(evaluation, EGRESS, group(evaluation, role))
    assert egress.inputs["cidrIpv4"] == network.exports["vpcCidr"]
    assert "referencedSecurityGroupId" not in egress.inputs
    assert "egress" not in group(evaluation, role).inputs  # no inline rules to fight the rule resources


def test_the_internal_sg_starts_with_no_ingress(platform, platform_alt):
    for evaluation in (platform, platform_alt):
        assert rules(evaluation, INGRESS, group(evaluation, "internal")) == []
        assert "ingress" not in group(evaluation, "internal").inputs


def test_the_bucket_name_is_unique_per_account_region_and_suffix_and_destroyable(platform):
    bucket = platform.one(BUCKET)
    assert bucket.inputs["bucket"] == "s3-alb-logs-123456789012-us-east-1-dev"
    assert bucket.inputs["forceDestroy"] is True


def test_the_bucket_is_private_owner_enforced_and_sse_s3(platform):
    block = platform.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    for setting in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block.inputs[setting] is True
    ownership = platform.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    encryption = platform.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    [rule] = encryption.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}  # ELB rejects SSE-KMS


@pytest.mark.parametrize(("fixture", "days"), [("platform", 90), ("platform_alt", 30)])
def test_access_logs_expire_after_the_configured_days(request, fixture, days):
    lifecycle = request.getfixturevalue(fixture).one(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    )
    [rule] = lifecycle.inputs["rules"]
    assert rule["status"] == "Enabled"
    assert rule["expiration"] == {"days": days}


def test_only_elb_log_delivery_may_write_and_only_under_each_albs_prefix(platform):
    bucket_arn = platform.one(BUCKET).state["arn"]
    by_sid = {
        s["Sid"]: s for s in statements(platform.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    }
    write = by_sid["ElbLogDeliveryWritesUnderItsPrefix"]
    assert write["Effect"] == "Allow"
    assert write["Principal"] == {"AWS": f"arn:aws:iam::{ELB_US_EAST_1}:root"}
    assert as_list(write["Action"]) == ["s3:PutObject"]
    assert set(as_list(write["Resource"])) == {
        f"{bucket_arn}/alb-public-dev/AWSLogs/123456789012/*",
        f"{bucket_arn}/alb-internal-dev/AWSLogs/123456789012/*",
    }


def test_the_bucket_refuses_requests_without_tls(platform):
    bucket_arn = platform.one(BUCKET).state["arn"]
    by_sid = {
        s["Sid"]: s for s in statements(platform.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    }
    deny = by_sid["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert set(as_list(deny["Resource"])) == {bucket_arn, f"{bucket_arn}/*"}
    assert set(by_sid) == {"ElbLogDeliveryWritesUnderItsPrefix", "DenyInsecureTransport"}


def test_the_bucket_policy_waits_for_the_public_access_block(platform):
    block = platform.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert block.urn in platform.one("aws:s3/bucketPolicy:BucketPolicy").dependencies


@pytest.mark.parametrize("fixture", ["platform", "platform_alt"])
def test_the_log_bucket_is_versioned_and_old_versions_expire(request, fixture):
    evaluation = request.getfixturevalue(fixture)
    [bucket] = evaluation.all(BUCKET)
    [versioning] = evaluation.all("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["bucket"] == bucket.id
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    [lifecycle] = evaluation.all("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    rule = lifecycle.inputs["rules"][0]
    # A deleted log stays recoverable as long as a current one would be kept.
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": rule["expiration"]["days"]}
    assert bucket.inputs["forceDestroy"] is True  # destroy empties every version
