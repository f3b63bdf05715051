"""Preflight's CloudTrail warning for complianceProfile pci, against moto's CloudTrail."""

from __future__ import annotations

import boto3
import pytest

from deploy.cloudtrail_check import cloudtrail_warning, stack_is_pci
from deploy.runner import SUCCEEDED, Deployer
from tests.deploy.conftest import FakeBackend, aws_ok, write_stack

REGION = "us-east-1"


def _trail(name: str, *, multi_region: bool, validation: bool, logging: bool) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    bucket = f"trail-{name}"
    s3.create_bucket(Bucket=bucket)
    cloudtrail = boto3.client("cloudtrail", region_name=REGION)
    cloudtrail.create_trail(
        Name=name,
        S3BucketName=bucket,
        IsMultiRegionTrail=multi_region,
        EnableLogFileValidation=validation,
    )
    if logging:
        cloudtrail.start_logging(Name=name)


def test_an_account_without_a_trail_is_warned_with_the_commands_that_fix_it(aws):
    warning = cloudtrail_warning(REGION)
    assert warning is not None
    assert "no multi-Region trail" in warning
    assert "--is-multi-region-trail --enable-log-file-validation" in warning


def test_a_single_region_trail_does_not_count(aws):
    _trail("regional", multi_region=False, validation=True, logging=True)
    assert "no multi-Region trail" in (cloudtrail_warning(REGION) or "")


def test_a_multi_region_trail_without_validation_is_named(aws):
    _trail("org", multi_region=True, validation=False, logging=True)
    assert "no multi-Region trail with log file validation (org)" in (cloudtrail_warning(REGION) or "")


def test_a_validated_multi_region_trail_that_is_stopped_is_named(aws):
    _trail("org", multi_region=True, validation=True, logging=False)
    assert "is not logging (org)" in (cloudtrail_warning(REGION) or "")


def test_a_logging_validated_multi_region_trail_passes(aws):
    _trail("org", multi_region=True, validation=True, logging=True)
    assert cloudtrail_warning(REGION) is None


@pytest.mark.parametrize(
    "selectors",
    [
        {"EventSelectors": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]},
        {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": False}]},
        {
            "EventSelectors": [
                {
                    "ReadWriteType": "All",
                    "IncludeManagementEvents": True,
                    "ExcludeManagementEventSources": ["kms.amazonaws.com"],
                }
            ]
        },
        {
            "AdvancedEventSelectors": [
                {
                    "Name": "writes",
                    "FieldSelectors": [
                        {"Field": "eventCategory", "Equals": ["Management"]},
                        {"Field": "readOnly", "Equals": ["false"]},
                    ],
                }
            ]
        },
    ],
    ids=["write-only", "no-management-events", "kms-excluded", "advanced-writes-only"],
)
def test_a_trail_that_leaves_out_management_events_is_named(aws, selectors):
    _trail("org", multi_region=True, validation=True, logging=True)
    boto3.client("cloudtrail", region_name=REGION).put_event_selectors(TrailName="org", **selectors)
    warning = cloudtrail_warning(REGION) or ""
    assert "does not record every read and write management event (org)" in warning


@pytest.mark.parametrize(
    "selectors",
    [
        {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}]},
        {
            "AdvancedEventSelectors": [
                {
                    "Name": "management",
                    "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
                }
            ]
        },
    ],
    ids=["basic", "advanced"],
)
def test_a_trail_that_takes_every_management_event_passes(aws, selectors):
    _trail("org", multi_region=True, validation=True, logging=True)
    boto3.client("cloudtrail", region_name=REGION).put_event_selectors(TrailName="org", **selectors)
    assert cloudtrail_warning(REGION) is None


def test_an_api_error_is_a_warning_not_a_crash():
    class Denied:
        def describe_trails(self, **_: object) -> None:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DescribeTrails")

    assert "could not check CloudTrail" in (cloudtrail_warning(REGION, client=Denied()) or "")


def test_only_a_pci_stack_is_checked():
    assert not stack_is_pci("dev", ("network", "platform", "services"))


@pytest.mark.usefixtures("repo", "passphrase")
@pytest.mark.parametrize(("profile", "warned"), [("pci", True), ("baseline", False)])
def test_up_of_a_pci_stack_prints_the_trail_warning_and_goes_on(repo, profile, warned):
    for layer in ("network", "platform", "services"):
        extra = {"allowPlaintextHttp": True} if layer == "services" else {}
        write_stack(repo, layer, "qa", environmentSuffix="qa", complianceProfile=profile, **extra)
    lines: list[str] = []
    asked: list[str] = []

    def no_trail(region: str) -> str:
        asked.append(region)
        return "complianceProfile pci: the account has no multi-Region trail."

    results = Deployer(FakeBackend(), out=lines.append, aws_check=aws_ok, trail_check=no_trail).run(
        "up", "qa"
    )
    assert [r.status for r in results] == [SUCCEEDED] * 3  # a warning, not a refusal
    assert (asked == ["us-east-1"]) is warned
    assert any(line.startswith("warning: complianceProfile pci") for line in lines) is warned
