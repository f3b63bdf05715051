"""Services config: images, health checks, traffic and alarms; every error names the key and the fix."""

from __future__ import annotations

import json

import pytest

from shared.config.services import ImageSource
from tests.shared.config.test_config import error_of, services

ECR_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ecr-api-gateway-dev:v2"
DIGEST = "sha256:" + "0" * 64


def test_defaults():
    svc = services()
    assert svc.images.source("api-gateway") == ImageSource(tag="v1")
    assert svc.traffic.certificate_arn is None
    assert svc.traffic.tls is False
    assert svc.traffic.deregistration_delay_seconds == 30
    assert svc.task.health_check.interval_seconds == 15
    assert svc.task.stop_timeout_seconds == 30
    assert (svc.repository.untagged_expiry_days, svc.repository.tagged_images_kept) == (7, 30)
    assert svc.fargate_spot_weight == 0
    assert svc.platform_version == "LATEST"
    assert svc.task_security_group_ids == ()


def test_release_carried_settings_are_read():
    svc = services(platformVersion="1.4.0", taskSecurityGroupIds='["sg-0123456789abcdef0", "sg-01234567"]')
    assert svc.platform_version == "1.4.0"
    assert svc.task_security_group_ids == ("sg-0123456789abcdef0", "sg-01234567")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("v2", ImageSource(tag="v2")),
        ("2026.11.24-rc_1", ImageSource(tag="2026.11.24-rc_1")),
        (ECR_IMAGE, ImageSource(reference=ECR_IMAGE)),
        (f"ghcr.io/acme/fraud@{DIGEST}", ImageSource(reference=f"ghcr.io/acme/fraud@{DIGEST}")),
        ("localhost:5000/team/app:1", ImageSource(reference="localhost:5000/team/app:1")),
    ],
)
def test_an_image_is_a_tag_or_a_full_reference(value, expected):
    assert services(images={"fraud-detector": value}).images.source("fraud-detector") == expected
    assert services(images={"fraud-detector": value}).images.source("api-gateway") == ImageSource(tag="v1")


@pytest.mark.parametrize(
    ("values", "key", "message"),
    [
        ({"images": {"billing": "v1"}}, "images.billing", "is not a service in the catalogue"),
        (
            {"images": {"api-gateway": "Acme/App:1"}},
            "images.api-gateway",
            "must be an image tag (v2) or a full",
        ),
        ({"images": {"api-gateway": "v 2"}}, "images.api-gateway", "must be an image tag"),
        ({"images": {"api-gateway": "acme/app@sha256:abc"}}, "images.api-gateway", "full reference"),
        ({"images": ["v1"]}, "images", "must map service names"),
        ({"images": {"api-gateway": 2}}, "images", "must map service names"),
        ({"imageTag": ".hidden"}, "imageTag", "must be an image tag"),
        ({"certificateArn": "my-cert"}, "certificateArn", "must be an ACM certificate ARN"),
        ({"certificateArn": "arn:aws:acm:us-east-1:123:certificate/x"}, "certificateArn", "ACM certificate"),
        ({"deregistrationDelaySeconds": "300"}, "deregistrationDelaySeconds", "at most 30"),
        ({"healthCheckIntervalSeconds": "4"}, "healthCheckIntervalSeconds", "at least 5"),
        ({"healthCheckTimeoutSeconds": "61"}, "healthCheckTimeoutSeconds", "at most 60"),
        (
            {"healthCheckTimeoutSeconds": "15"},
            "healthCheckTimeoutSeconds",
            "shorter than healthCheckIntervalSeconds",
        ),
        ({"healthCheckRetries": "11"}, "healthCheckRetries", "at most 10"),
        ({"healthCheckStartPeriodSeconds": "301"}, "healthCheckStartPeriodSeconds", "at most 300"),
        ({"stopTimeoutSeconds": "121"}, "stopTimeoutSeconds", "at most 120"),
        (
            {"targetHealthTimeoutSeconds": "20"},
            "targetHealthTimeoutSeconds",
            "shorter than targetHealthInterval",
        ),
        ({"targetHealthyThreshold": "1"}, "targetHealthyThreshold", "at least 2"),
        ({"target5xxThreshold": "0"}, "target5xxThreshold", "at least 1"),
        ({"alarmEvaluationMinutes": "0"}, "alarmEvaluationMinutes", "at least 1"),
        ({"untaggedImageExpiryDays": "0"}, "untaggedImageExpiryDays", "at least 1"),
        ({"taggedImagesKept": "0"}, "taggedImagesKept", "at least 1"),
        ({"fargateSpotWeight": "-1"}, "fargateSpotWeight", "at least 0"),
        ({"platformVersion": "1.4"}, "platformVersion", "LATEST or a Fargate platform version"),
        ({"taskSecurityGroupIds": '["sg-xyz"]'}, "taskSecurityGroupIds", "security group ids (sg-...)"),
        ({"taskSecurityGroupIds": '"sg-01234567"'}, "taskSecurityGroupIds", "a list of strings"),
        (
            {"taskSecurityGroupIds": '["sg-01234567", "sg-01234567"]'},
            "taskSecurityGroupIds",
            "at most 4 distinct groups",
        ),
        (
            {"taskSecurityGroupIds": json.dumps([f"sg-0000000{i}" for i in range(1, 6)])},
            "taskSecurityGroupIds",
            "at most 4 distinct groups",
        ),
        ({"platformStack": "payments-platform"}, "platformStack", "<org>/<project>/<stack>"),
        ({"scanSeverityThreshold": "SEVERE"}, "scanSeverityThreshold", "must be one of"),
        ({"scanWaitSeconds": "900"}, "scanWaitSeconds", "at most 780"),
        ({"smokeTimeoutSeconds": "0"}, "smokeTimeoutSeconds", "at least 1"),
        ({"hookReservedConcurrency": "0"}, "hookReservedConcurrency", "at least 1"),
    ],
)
def test_bad_services_config_names_the_key_and_the_fix(values, key, message):
    error = error_of(services, **values)
    assert error.key == key
    assert message in str(error)
    assert "Fix: " in str(error)


def test_an_unknown_service_lists_the_ones_that_exist():
    error = error_of(services, images={"billing": "v1"})
    assert str(error).endswith(
        "Fix: in stacks/services: use one of api-gateway, payment-processor, fraud-detector"
    )


def test_a_health_check_timeout_not_below_its_interval_gets_the_whole_message():
    error = error_of(services, healthCheckIntervalSeconds="10", healthCheckTimeoutSeconds="10")
    assert str(error) == (
        "healthCheckTimeoutSeconds: must be shorter than healthCheckIntervalSeconds (10), or probes overlap, "
        "got 10. Fix: in stacks/services: pulumi config set healthCheckTimeoutSeconds 3; "
        "with plan: --config services:healthCheckTimeoutSeconds=3"
    )


def test_a_stack_without_a_certificate_is_refused_unless_plaintext_is_chosen():
    error = error_of(services, allowPlaintextHttp="false")
    assert error.key == "certificateArn"
    assert "would serve plain HTTP to the internet" in str(error)
    assert "pulumi config set allowPlaintextHttp true" in str(error)


def test_plaintext_is_served_only_when_chosen_and_no_certificate_is_set():
    assert services(allowPlaintextHttp="true").traffic.serves_plaintext is True
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
    with_certificate = services(certificateArn=certificate, allowPlaintextHttp="true").traffic
    assert (with_certificate.tls, with_certificate.serves_plaintext) == (True, False)
    assert services(certificateArn=certificate).traffic.serves_plaintext is False


def test_a_certificate_from_another_region_is_refused_before_anything_is_created():
    from shared.config import ConfigReader, ServicesConfig
    from shared.errors import ConfigError

    arn = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
    with pytest.raises(
        ConfigError, match=r"certificateArn: must be an ACM certificate in the stack's region"
    ):
        ServicesConfig.load(ConfigReader.from_mapping({"environmentSuffix": "dev", "certificateArn": arn}))
