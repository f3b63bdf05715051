"""The key, bucket, topic, log and trust policies the layers write let in no principal outside the account
(policy/principals.py), but the region's ELB log-delivery account in the access-log bucket policy.

IAM cannot check what a key or bucket policy says when the deployer writes it, so this is where a policy
that opens a key or the log bucket to another account is caught: in every layer's plan."""

from __future__ import annotations

import json

import pytest

from policy.principals import principals_outside_the_account

ACCOUNT = "123456789012"
# The ELB account that writes access logs in us-east-1 (Elastic Load Balancing user guide, "Enable access
# logs for your Application Load Balancer", bucket policy for Regions available before August 2022,
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html).
ELB_US_EAST_1 = "127311923021"
RESOURCE_POLICIES = {
    "aws:kms/key:Key": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": "policyDocument",
    "aws:iam/role:Role": "assumeRolePolicy",
}
STACKS = ["network", "platform", "services", "network_ha", "platform_alt", "services_alt"]


def documents(evaluation):
    for resource_type, key in RESOURCE_POLICIES.items():
        for resource in evaluation.all(resource_type):
            yield resource, resource.inputs[key]


@pytest.mark.parametrize("stack", STACKS)
def test_no_policy_of_the_layers_lets_in_a_principal_outside_the_account(request, stack):
    found = {}
    checked = 0
    for resource, document in documents(request.getfixturevalue(stack)):
        log_bucket = resource.type == "aws:s3/bucketPolicy:BucketPolicy"
        may_name = {ELB_US_EAST_1} if log_bucket else set()
        checked += 1
        if problems := principals_outside_the_account(document, ACCOUNT, may_name=may_name):
            found[resource.name] = problems
    assert checked > 0
    assert found == {}


def test_the_elb_account_is_named_in_the_log_bucket_policy_and_nowhere_else(platform):
    [bucket_policy] = platform.all("aws:s3/bucketPolicy:BucketPolicy")
    assert ELB_US_EAST_1 in bucket_policy.inputs["policy"]
    # Without the exception the ELB account is reported, with it nothing is.
    [finding] = principals_outside_the_account(bucket_policy.inputs["policy"], ACCOUNT)
    assert f"'arn:aws:iam::{ELB_US_EAST_1}:root' is outside the account" in finding
    assert (
        principals_outside_the_account(bucket_policy.inputs["policy"], ACCOUNT, may_name={ELB_US_EAST_1})
        == []
    )
    key = platform.all("aws:kms/key:Key")[0]
    opened = json.loads(key.inputs["policy"])
    opened["Statement"].append(
        {"Sid": "LogDelivery", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ELB_US_EAST_1}:root"},
         "Action": "kms:Decrypt", "Resource": "*"}
    )  # fmt: skip
    assert principals_outside_the_account(opened, ACCOUNT) == [
        f"LogDelivery: AWS principal 'arn:aws:iam::{ELB_US_EAST_1}:root' is outside the account {ACCOUNT}"
    ]


def statement(principal, effect="Allow", **extra):
    return {"Version": "2012-10-17",
            "Statement": [{"Sid": "S", "Effect": effect, "Principal": principal, "Action": "kms:*",
                           "Resource": "*", **extra}]}  # fmt: skip


@pytest.mark.parametrize(
    ("document", "finding"),
    [
        (
            statement({"AWS": "arn:aws:iam::210987654321:root"}),
            "AWS principal 'arn:aws:iam::210987654321:root'",
        ),
        (statement({"AWS": "210987654321"}), "AWS principal '210987654321'"),
        (
            statement({"AWS": "arn:aws:iam::210987654321:role/x"}),
            "AWS principal 'arn:aws:iam::210987654321:role/x'",
        ),
        (statement("*"), "everyone ('*') without a condition"),
        (
            statement({"AWS": "*"}, Condition={"StringEquals": {"kms:CallerAccount": "210987654321"}}),
            "everyone",
        ),
        (statement({"AWS": "*"}, Condition={"StringLike": {"kms:CallerAccount": "*"}}), "everyone"),
        (statement({"Federated": "cognito-identity.amazonaws.com"}), "Federated principal"),
        (statement({"CanonicalUser": "79a59df900b949e55d96a1e698fbaced"}), "CanonicalUser principal"),
        (
            {
                "Statement": [
                    {
                        "Sid": "S",
                        "Effect": "Allow",
                        "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                        "Action": "s3:*",
                        "Resource": "*",
                    }
                ]
            },
            "NotPrincipal in an Allow",
        ),
    ],
)
def test_a_principal_outside_the_account_is_reported(document, finding):
    [problem] = principals_outside_the_account(document, ACCOUNT)
    assert finding in problem


@pytest.mark.parametrize(
    "document",
    [
        statement({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}),
        statement({"AWS": ACCOUNT}),
        statement({"Service": ["logs.us-east-1.amazonaws.com", "events.amazonaws.com"]}),
        statement({"AWS": "*"}, Condition={"StringEquals": {"kms:CallerAccount": ACCOUNT}}),
        statement("*", effect="Deny", Condition={"Bool": {"aws:SecureTransport": "false"}}),
    ],
)
def test_the_account_services_a_pinned_everyone_and_denies_are_not_reported(document):
    assert principals_outside_the_account(document, ACCOUNT) == []
