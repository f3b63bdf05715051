"""Every naming rule: the suffix, each AWS name kind, and the messages that explain a rejection."""

from __future__ import annotations

import json

import pytest

from shared import naming
from shared.errors import ConfigError
from shared.naming import Namer, NamingError, validate_suffix


@pytest.mark.parametrize("suffix", ["dev", "prod", "pr-42", "a", "qa-7", "x1234567"])
def test_valid_suffixes_are_accepted(suffix):
    assert validate_suffix(suffix) == suffix


@pytest.mark.parametrize(
    ("suffix", "message"),
    [
        ("", "the environment suffix is required"),
        ("Dev", "only lowercase letters, digits and single hyphens"),
        ("-dev", "not start or end with a hyphen"),
        ("dev-", "not start or end with a hyphen"),
        ("de_v", "only lowercase letters, digits and single hyphens"),
        ("d.ev", "only lowercase letters, digits and single hyphens"),
        ("0--0", "single hyphens"),  # ECR repository names reject "--"
        ("toolong12", "at most 8 characters"),
        ("abcdef", "must not end in a 6-character segment"),
        ("pr-123456", "at most 8 characters"),
        ("a-bcdefg", "must not end in a 6-character segment"),
    ],
)
def test_invalid_suffix_is_rejected_naming_the_key_and_fix(suffix, message):
    with pytest.raises(ConfigError) as caught:
        validate_suffix(suffix)
    text = str(caught.value)
    assert text.startswith("environmentSuffix: ")
    assert message in text
    assert f"got {json.dumps(suffix)}" in text  # as typed, in double quotes: no Python repr
    assert "Fix: choose 1-8 lowercase letters" in text


def test_namer_rejects_a_bad_suffix_before_any_name_is_built():
    with pytest.raises(ConfigError, match="environmentSuffix"):
        Namer("BAD")


def test_names_follow_type_service_qualifier_suffix():
    names = Namer("dev")
    assert names.name(naming.ECS_CLUSTER) == "ecs-cluster-dev"
    assert names.name(naming.ROLE, "payment-processor", "task") == "role-payment-processor-task-dev"
    assert names.name(naming.ALB, "internal") == "alb-internal-dev"
    assert names.name(naming.ECS_LOG_GROUP, "payment-processor") == "/ecs/payment-processor-dev"
    assert names.name(naming.KMS_ALIAS_NAME, "platform") == "alias/kms-platform-dev"
    assert names.namespace("payments", "local") == "payments-dev.local"


LONG = "x" * 300


@pytest.mark.parametrize(
    ("rule", "name", "message"),
    [
        (naming.LOAD_BALANCER, "a" * 33, "must be 1-32 characters"),
        (naming.LOAD_BALANCER, "alb_public", "may contain only letters, digits and inner hyphens"),
        (naming.LOAD_BALANCER, "-alb", "may contain only letters, digits and inner hyphens"),
        (naming.LOAD_BALANCER, "alb-", "may contain only letters, digits and inner hyphens"),
        (naming.LOAD_BALANCER, "internal-payments", "must not start with 'internal-'"),
        (
            naming.TARGET_GROUP,
            "t" * 25,
            "1-24 characters before Pulumi's 8-character random suffix",
        ),
        (naming.TARGET_GROUP, "tg-", "may contain only letters, digits and inner hyphens"),
        (naming.IAM_ROLE, "r" * 65, "must be 1-64 characters"),
        (naming.IAM_ROLE, "role with space", "may contain only letters, digits and +=,.@_-"),
        (naming.IAM_POLICY, "p" * 129, "must be 1-128 characters"),
        (
            naming.ECR_REPOSITORY,
            "Api-Gateway",
            "lowercase letters, digits and . _ __ - / separators",
        ),
        (naming.ECR_REPOSITORY, "a", "must be 2-256 characters"),
        (naming.ECR_REPOSITORY, "api-.gateway", ". _ __ - / separators"),
        (naming.SECRET, "secret-db-abcdef", "must not end in '-' plus six characters"),
        (naming.SECRET, "secret db", "may contain only letters, digits and /_+=.@-"),
        (naming.LOG_GROUP, "/ecs/api gateway", "may contain only letters, digits and _-./#"),
        (naming.LOG_GROUP, "/" + "l" * 512, "must be 1-512 characters"),
        (naming.SECURITY_GROUP, "sg-api", "must not start with 'sg-'"),
        (naming.SECURITY_GROUP, LONG, "must be 1-255 characters"),
        (naming.KMS_ALIAS, "alias/aws/platform", "must not start with 'alias/aws/'"),
        (naming.KMS_ALIAS, "kms-platform", "'alias/' then letters, digits and _-/"),
        (naming.S3_BUCKET, "Alb-Logs", "lowercase letters, digits, dots and hyphens"),
        (naming.S3_BUCKET, "ab", "must be 3-63 characters"),
        (naming.S3_BUCKET, "xn--logs", "must not start with 'xn--'"),
        (naming.S3_BUCKET, "logs-s3alias", "must not end with '-s3alias'"),
        (naming.S3_BUCKET, "logs..dev", "must not contain '..'"),
        (naming.ECS_NAME, "ecs.cluster", "letters, digits, _ and -"),
        (naming.LAMBDA_FUNCTION, "f" * 65, "must be 1-64 characters"),
        (naming.CODEDEPLOY, "c" * 101, "must be 1-100 characters"),
        (naming.DNS_NAME, "payments-dev", "dot-separated labels"),
        (naming.DNS_NAME, "Payments.local", "dot-separated labels"),
        (naming.DNS_LABEL, "payment_processor", "lowercase letters, digits and inner hyphens"),
        (naming.DNS_LABEL, "p" * 64, "must be 1-63 characters"),
        (naming.TAG_VALUE, "name<script>", "letters, digits, spaces and _.:/=+-@"),
    ],
)
def test_each_aws_rule_rejects_what_aws_rejects(rule, name, message):
    problem = rule.violation(name)
    assert problem is not None
    assert message in problem


@pytest.mark.parametrize(
    ("rule", "name"),
    [
        (naming.LOAD_BALANCER, "alb-internal-x1234567"),
        (naming.TARGET_GROUP, "tg-fraud-green-x1234567"),
        (naming.ECR_REPOSITORY, "ecr-payment-processor-dev"),
        (naming.SECRET, "secret-db-connection-dev"),
        (naming.KMS_ALIAS, "alias/kms-platform-dev"),
        (naming.S3_BUCKET, "s3-alb-logs-123456789012-dev"),
        (naming.DNS_NAME, "payments-dev.local"),
        (naming.SECURITY_GROUP, "security-group-api-gateway-dev"),
    ],
)
def test_each_aws_rule_accepts_a_good_name(rule, name):
    assert rule.violation(name) is None


def test_a_name_too_long_blames_the_key_and_says_the_limit():
    names = Namer("dev")
    with pytest.raises(NamingError) as caught:
        names.name(naming.ALB, "a-very-long-load-balancer-purpose")
    text = str(caught.value)
    assert text.startswith("environmentSuffix: a load balancer name must be 1-32 characters")
    assert "'alb-a-very-long-load-balancer-purpose-dev' has 41" in text
    assert "Fix: shorten or correct environmentSuffix" in text


def test_a_name_can_blame_another_config_key():
    with pytest.raises(NamingError, match=r"^namespaceName: a private DNS namespace"):
        Namer("dev").namespace("Payments", "local")
    with pytest.raises(NamingError, match=r"^serviceName: a DNS label"):
        naming.dns_label("Payment_Processor", key="serviceName")


def test_names_requested_while_recording_are_collected_and_only_those():
    Namer("dev").name(naming.CODEDEPLOY_APP, "before")
    with naming.recording() as requests:
        Namer("dev").name(naming.CODEDEPLOY_APP, "recorded-here")
    Namer("dev").name(naming.CODEDEPLOY_APP, "after")
    assert requests == {(naming.CODEDEPLOY_APP, ("recorded-here",))}


def test_the_ecr_rule_is_botocore_model_pattern():
    import botocore.session

    shape = botocore.session.get_session().get_service_model("ecr").shape_for("RepositoryName")
    assert naming.ECR_REPOSITORY.allowed.pattern == shape.metadata["pattern"]
    assert naming.ECR_REPOSITORY.max_length == shape.metadata["max"]
    assert naming.ECR_REPOSITORY.min_length == shape.metadata["min"]


@pytest.mark.parametrize("suffix", ["a--x-s3", "b--ol-s3"])
def test_double_hyphen_suffixes_are_refused_because_s3_reserves_such_endings(suffix):
    with pytest.raises(ConfigError, match="single hyphens"):
        Namer(suffix)
