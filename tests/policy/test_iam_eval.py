"""The IAM evaluator behind the permission checks: IAM's evaluation rules, each with a case that shows it."""

from __future__ import annotations

import pytest

from policy.iam_eval import Request, decide


def doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


BUCKET_OBJECT = "arn:aws:s3:::s3-alb-logs-dev/AWSLogs/1/log.gz"


def test_nothing_is_allowed_without_an_allow():
    assert decide([], Request("s3:GetObject", BUCKET_OBJECT)) == "implicitly denied"


def test_an_explicit_deny_wins_over_any_allow_in_any_document():
    policies = [doc(allow("s3:*", "*")), doc(deny("s3:GetObject", "arn:aws:s3:::s3-alb-logs-*/*"))]
    assert decide(policies, Request("s3:GetObject", BUCKET_OBJECT)) == "explicitly denied"
    assert decide(policies, Request("s3:ListBucket", "arn:aws:s3:::s3-alb-logs-dev")) == "allowed"


def test_actions_match_case_insensitively_and_resources_case_sensitively():
    policies = [doc(allow("S3:getobject", "arn:aws:s3:::s3-alb-logs-*/*"))]
    assert decide(policies, Request("s3:GetObject", BUCKET_OBJECT)) == "allowed"
    assert decide(policies, Request("s3:GetObject", BUCKET_OBJECT.upper())) == "implicitly denied"


def test_a_wildcard_spans_slashes_and_colons():
    policies = [
        doc(
            allow(
                "elasticloadbalancing:DeleteListener",
                "arn:aws:elasticloadbalancing:us-east-1:*:listener/app/alb-*",
            )
        )
    ]
    listener = (
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:"
        "listener/app/alb-public-dev/50dc6c495c0c9188/f2f7dc8efc522ab2"
    )
    assert decide(policies, Request("elasticloadbalancing:DeleteListener", listener)) == "allowed"


def test_a_question_mark_matches_exactly_one_character():
    policies = [doc(allow("s3:ListBucket", "arn:aws:s3:::b?"))]
    assert decide(policies, Request("s3:ListBucket", "arn:aws:s3:::b1")) == "allowed"
    assert decide(policies, Request("s3:ListBucket", "arn:aws:s3:::b12")) == "implicitly denied"


def test_not_resource_denies_everything_but_the_named_resources():
    # The CodeDeploy role's guard: invoke only the release hooks.
    hook = "arn:aws:lambda:us-east-1:123456789012:function:lambda-scan-gate-dev"
    policies = [
        doc(allow("lambda:InvokeFunction")),
        doc({"Effect": "Deny", "Action": "lambda:InvokeFunction", "NotResource": [hook, f"{hook}:*"]}),
    ]
    assert decide(policies, Request("lambda:InvokeFunction", hook)) == "allowed"
    assert decide(policies, Request("lambda:InvokeFunction", f"{hook}:1")) == "allowed"
    other = "arn:aws:lambda:us-east-1:123456789012:function:lambda-other-dev"
    assert decide(policies, Request("lambda:InvokeFunction", other)) == "explicitly denied"


def test_not_action_applies_to_every_other_action():
    policies = [doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})]
    assert decide(policies, Request("s3:ListBucket", "arn:aws:s3:::b")) == "allowed"
    assert decide(policies, Request("iam:CreateRole", "arn:aws:iam::1:role/r")) == "implicitly denied"


VIA_ECR = {"StringEquals": {"kms:ViaService": "ecr.us-east-1.amazonaws.com"}}
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize(
    ("context", "decision"),
    [
        ({"kms:ViaService": "ecr.us-east-1.amazonaws.com"}, "allowed"),
        ({"KMS:viaservice": "ecr.us-east-1.amazonaws.com"}, "allowed"),  # keys are case-insensitive
        ({"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}, "implicitly denied"),
        ({}, "implicitly denied"),  # a direct call carries no kms:ViaService
    ],
)
def test_a_condition_must_hold_for_the_allow_to_apply(context, decision):
    policies = [doc(allow("kms:CreateGrant", "arn:aws:kms:us-east-1:*:key/*", Condition=VIA_ECR))]
    assert decide(policies, Request("kms:CreateGrant", KEY, context)) == decision


def test_values_of_one_key_are_ored_and_keys_are_anded():
    condition = {
        "StringEquals": {"iam:PassedToService": ["ecs-tasks.amazonaws.com", "lambda.amazonaws.com"]},
        "StringLike": {"aws:RequestedRegion": "us-*"},
    }
    policies = [doc(allow("iam:PassRole", "arn:aws:iam::*:role/role-*", Condition=condition))]
    role = "arn:aws:iam::123456789012:role/role-api-task-dev"
    ok = {"iam:PassedToService": "lambda.amazonaws.com", "aws:RequestedRegion": "us-east-1"}
    assert decide(policies, Request("iam:PassRole", role, ok)) == "allowed"
    wrong_region = {**ok, "aws:RequestedRegion": "eu-west-1"}
    assert decide(policies, Request("iam:PassRole", role, wrong_region)) == "implicitly denied"
    wrong_service = {**ok, "iam:PassedToService": "ec2.amazonaws.com"}
    assert decide(policies, Request("iam:PassRole", role, wrong_service)) == "implicitly denied"


def test_negated_and_if_exists_operators_match_a_missing_key():
    not_equals = [doc(allow("s3:ListBucket", Condition={"StringNotEquals": {"aws:RequestTag/Owner": "x"}}))]
    assert decide(not_equals, Request("s3:ListBucket", "*")) == "allowed"
    if_exists = [
        doc(allow("s3:ListBucket", Condition={"StringEqualsIfExists": {"aws:RequestTag/Owner": "x"}}))
    ]
    assert decide(if_exists, Request("s3:ListBucket", "*")) == "allowed"
    assert (
        decide(if_exists, Request("s3:ListBucket", "*", {"aws:RequestTag/Owner": "y"})) == "implicitly denied"
    )


def test_set_operators_over_request_tags():
    known = {"ForAllValues:StringEquals": {"aws:TagKeys": ["Environment", "Service", "CostCenter"]}}
    only_known = [doc(allow("ecr:TagResource", Condition=known))]
    assert decide(only_known, Request("ecr:TagResource", "*", {"aws:TagKeys": ["Service"]})) == "allowed"
    assert decide(only_known, Request("ecr:TagResource", "*", {"aws:TagKeys": ["Service", "Owner"]})) == (
        "implicitly denied"
    )
    any_cost = [
        doc(allow("ecr:TagResource", Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": "CostCenter"}}))
    ]
    assert (
        decide(any_cost, Request("ecr:TagResource", "*", {"aws:TagKeys": ["Service"]})) == "implicitly denied"
    )
    assert decide(any_cost, Request("ecr:TagResource", "*")) == "implicitly denied"


def test_arn_and_null_and_bool_operators():
    attach = [doc(allow("iam:AttachRolePolicy", Condition={
        "ArnEquals": {"iam:PolicyARN": "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS"}}))]  # fmt: skip
    good = {"iam:PolicyARN": "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS"}
    assert decide(attach, Request("iam:AttachRolePolicy", "*", good)) == "allowed"
    admin = {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}
    assert decide(attach, Request("iam:AttachRolePolicy", "*", admin)) == "implicitly denied"
    tagged = [doc(allow("s3:PutObject", Condition={"Null": {"aws:RequestTag/Service": "false"}}))]
    assert decide(tagged, Request("s3:PutObject", "*", {"aws:RequestTag/Service": "api"})) == "allowed"
    assert decide(tagged, Request("s3:PutObject", "*")) == "implicitly denied"
    tls = [doc(deny("s3:*", Condition={"Bool": {"aws:SecureTransport": "false"}}), allow("s3:*"))]
    assert decide(tls, Request("s3:GetObject", "*", {"aws:SecureTransport": "false"})) == "explicitly denied"
    assert decide(tls, Request("s3:GetObject", "*", {"aws:SecureTransport": "true"})) == "allowed"


def test_an_unsupported_operator_is_an_error_not_a_silent_pass():
    policies = [doc(allow("s3:ListBucket", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))]
    with pytest.raises(ValueError, match="IpAddress"):
        decide(policies, Request("s3:ListBucket", "*", {"aws:SourceIp": "10.1.2.3"}))


KNOWN_KEYS = ["Environment", "Service", "CostCenter"]


def tag_keys_policy(operator):
    return [doc(allow("ecr:TagResource", Condition={operator: {"aws:TagKeys": KNOWN_KEYS}}))]


@pytest.mark.parametrize(
    ("keys", "decision"),
    [
        (["Owner"], "allowed"),  # no value is a known key
        (["Owner", "Team"], "allowed"),
        (["Owner", "Service"], "implicitly denied"),  # one value is a known key
        (["Service"], "implicitly denied"),
        (None, "allowed"),  # ForAllValues holds for a missing key
    ],
)
def test_for_all_values_with_a_negated_operator_asks_that_every_value_matches_none(keys, decision):
    # "ForAllValues:StringNotEquals": every request value differs from every policy value. Negating the
    # whole set test instead ("not all values known") would allow ["Owner", "Service"].
    context = {} if keys is None else {"aws:TagKeys": keys}
    policies = tag_keys_policy("ForAllValues:StringNotEquals")
    assert decide(policies, Request("ecr:TagResource", "*", context)) == decision


@pytest.mark.parametrize(
    ("keys", "decision"),
    [
        (["Owner", "Service"], "allowed"),  # one value (Owner) is not a known key
        (["Service"], "implicitly denied"),
        (["Service", "CostCenter"], "implicitly denied"),
        (None, "implicitly denied"),  # ForAnyValue fails for a missing key, negated or not
    ],
)
def test_for_any_value_with_a_negated_operator_asks_that_one_value_matches_none(keys, decision):
    context = {} if keys is None else {"aws:TagKeys": keys}
    policies = tag_keys_policy("ForAnyValue:StringNotEquals")
    assert decide(policies, Request("ecr:TagResource", "*", context)) == decision


def test_a_deny_with_for_any_value_negated_does_not_fire_without_tags():
    # The usual "deny unknown tag keys" guard must not deny a request that carries no tags at all.
    guard = {"ForAnyValue:StringNotEquals": {"aws:TagKeys": KNOWN_KEYS}}
    policies = [doc(allow("ecr:TagResource"), deny("ecr:TagResource", Condition=guard))]
    assert decide(policies, Request("ecr:TagResource", "*")) == "allowed"
    unknown = {"aws:TagKeys": ["Service", "Owner"]}
    assert decide(policies, Request("ecr:TagResource", "*", unknown)) == "explicitly denied"


def test_arn_operators_take_wildcards_part_by_part():
    # ArnEquals takes wildcards like ArnLike; a wildcard stays inside its colon-delimited part.
    equals = [
        doc(allow("iam:PassRole", Condition={"ArnEquals": {"aws:SourceArn": "arn:aws:ecs:*:*:cluster/*"}}))
    ]
    cluster = {"aws:SourceArn": "arn:aws:ecs:us-east-1:123456789012:cluster/ecs-cluster-dev"}
    assert decide(equals, Request("iam:PassRole", "*", cluster)) == "allowed"
    like = [doc(allow("iam:PassRole", Condition={"ArnLike": {"aws:SourceArn": "arn:aws:ecs:us-*"}}))]
    # "us-*" is the region part only: the ARN has more parts, so it does not match.
    assert decide(like, Request("iam:PassRole", "*", cluster)) == "implicitly denied"
    spanning = [
        doc(allow("iam:PassRole", Condition={"ArnLike": {"aws:SourceArn": "arn:aws:ecs:*:cluster/*"}}))
    ]
    assert decide(spanning, Request("iam:PassRole", "*", cluster)) == "implicitly denied"
    not_like = [
        doc(allow("iam:PassRole", Condition={"ArnNotLike": {"aws:SourceArn": "arn:aws:ecs:*:*:cluster/*"}}))
    ]
    assert decide(not_like, Request("iam:PassRole", "*", cluster)) == "implicitly denied"
    assert decide(not_like, Request("iam:PassRole", "*")) == "allowed"
    any_arn = [doc(allow("iam:PassRole", Condition={"ArnLike": {"aws:SourceArn": "*"}}))]
    assert decide(any_arn, Request("iam:PassRole", "*", cluster)) == "allowed"


# --- permissions boundaries (IAM user guide, "Permissions boundaries for IAM entities") ----------------

BOUNDARY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::logs/*"},
        {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::logs/audit/*"},
    ],
}
ADMIN = [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}]


@pytest.mark.parametrize(
    ("action", "resource", "decision"),
    [
        ("s3:GetObject", "arn:aws:s3:::logs/a", "allowed"),  # both allow
        ("iam:CreateRole", "arn:aws:iam::123456789012:role/x", "implicitly denied"),  # the boundary does not
        ("s3:GetObject", "arn:aws:s3:::other/a", "implicitly denied"),
        ("s3:PutObject", "arn:aws:s3:::logs/audit/a", "explicitly denied"),  # the boundary's Deny
    ],
)
def test_a_boundary_caps_even_an_administrators_policies(action, resource, decision):
    assert decide(ADMIN, Request(action, resource)) == "allowed"
    assert decide(ADMIN, Request(action, resource), boundary=BOUNDARY) == decision


def test_a_boundary_grants_nothing_the_identity_policies_do_not():
    nothing = [{"Version": "2012-10-17", "Statement": []}]
    assert decide(nothing, Request("s3:GetObject", "arn:aws:s3:::logs/a"), boundary=BOUNDARY) == (
        "implicitly denied"
    )
    denying = [doc(deny("s3:*"))]
    assert decide(denying, Request("s3:GetObject", "arn:aws:s3:::logs/a"), boundary=BOUNDARY) == (
        "explicitly denied"
    )


# --- policy variables (IAM user guide, "IAM policy elements: Variables and tags") ----------------------


def test_a_policy_variable_in_a_condition_takes_the_requests_value():
    boundary = "arn:aws:iam::${aws:PrincipalAccount}:policy/payments-role-boundary"
    policies = [
        doc(allow("iam:CreateRole", Condition={"StringEquals": {"iam:PermissionsBoundary": boundary}}))
    ]
    role = "arn:aws:iam::123456789012:role/role-x"
    ours = {"aws:PrincipalAccount": "123456789012",
            "iam:PermissionsBoundary": "arn:aws:iam::123456789012:policy/payments-role-boundary"}  # fmt: skip
    assert decide(policies, Request("iam:CreateRole", role, ours)) == "allowed"
    theirs = {**ours, "iam:PermissionsBoundary": "arn:aws:iam::210987654321:policy/payments-role-boundary"}
    assert decide(policies, Request("iam:CreateRole", role, theirs)) == "implicitly denied"
    # Without the variable's key in the request the value matches nothing (not even an empty account).
    unknown = {"iam:PermissionsBoundary": "arn:aws:iam:::policy/payments-role-boundary"}
    assert decide(policies, Request("iam:CreateRole", role, unknown)) == "implicitly denied"


def test_a_negated_operator_with_a_variable_denies_a_different_value():
    boundary = "arn:aws:iam::${aws:PrincipalAccount}:policy/b"
    outside = {"StringNotEquals": {"iam:PermissionsBoundary": boundary}}
    policies = [doc(allow("iam:*")), doc(deny("iam:PutRolePolicy", Condition=outside))]
    role = "arn:aws:iam::123456789012:role/r"
    account = {"aws:PrincipalAccount": "123456789012"}
    bounded = {**account, "iam:PermissionsBoundary": "arn:aws:iam::123456789012:policy/b"}
    assert decide(policies, Request("iam:PutRolePolicy", role, bounded)) == "allowed"
    assert decide(policies, Request("iam:PutRolePolicy", role, account)) == "explicitly denied"
    other = {**account, "iam:PermissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess"}
    assert decide(policies, Request("iam:PutRolePolicy", role, other)) == "explicitly denied"


def test_the_literal_escapes_stand_for_themselves():
    policies = [doc(allow("s3:GetObject", Condition={"StringEquals": {"s3:prefix": "a${*}b${?}c${$}"}}))]
    assert decide(policies, Request("s3:GetObject", "*", {"s3:prefix": "a*b?c$"})) == "allowed"
