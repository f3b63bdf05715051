"""What destroy does to the audit archive, replayed against moto's S3 Object Lock.

`force_destroy` on the bucket makes terraform-provider-aws (which pulumi-aws 7.x wraps) empty it
before DeleteBucket: internal/service/s3/delete.go, `emptyBucket(ctx, conn, bucket, force)` lists every
object version and calls `DeleteObjects` with `BypassGovernanceRetention: force` (then the delete
markers, without it). `empty_like_the_provider` below is that sequence. S3 honours the bypass only for
a caller allowed s3:BypassGovernanceRetention (S3 user guide, "Bypassing governance mode"); moto
models the retention, not IAM, so the tests show the mechanics: without the bypass header the locked
versions stay and DeleteBucket fails; with it everything goes.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from stacks.platform.audit_archive import LOCK_MODE, RETENTION_DAYS

REGION = "us-east-1"
BUCKET = "s3-audit-123456789012-us-east-1-dev"


@pytest.fixture
def archive(aws):
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(
        Bucket=BUCKET,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": LOCK_MODE, "Days": RETENTION_DAYS}},
        },
    )
    for key in ("logs/2026/12/06/a.gz", "alb-public-dev/AWSLogs/123456789012/b.log.gz"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"log line\n")
    s3.put_object(Bucket=BUCKET, Key="logs/2026/12/06/a.gz", Body=b"rewritten\n")  # a second version
    return s3


def empty_like_the_provider(s3, bucket: str, *, force: bool) -> list[dict]:
    """emptyBucket: every object version with BypassGovernanceRetention=force, then the delete markers."""
    errors: list[dict] = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        versions = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", [])]
        if versions:
            request = {"Bucket": bucket, "Delete": {"Objects": versions, "Quiet": True}}
            if force:
                request["BypassGovernanceRetention"] = True
            errors += s3.delete_objects(**request).get("Errors", [])
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        markers = [{"Key": m["Key"], "VersionId": m["VersionId"]} for m in page.get("DeleteMarkers", [])]
        if markers:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": markers, "Quiet": True})
    return errors


def test_every_new_version_is_locked_in_governance_mode_for_a_year(archive):
    versions = archive.list_object_versions(Bucket=BUCKET)["Versions"]
    assert len(versions) == 3
    for version in versions:
        head = archive.head_object(Bucket=BUCKET, Key=version["Key"], VersionId=version["VersionId"])
        assert head["ObjectLockMode"] == "GOVERNANCE"
        assert (head["ObjectLockRetainUntilDate"] - version["LastModified"]).days in (
            RETENTION_DAYS - 1,
            RETENTION_DAYS,
        )


def test_a_locked_version_cannot_be_deleted_without_the_bypass(archive):
    version = archive.list_object_versions(Bucket=BUCKET)["Versions"][0]
    with pytest.raises(ClientError) as caught:
        archive.delete_object(Bucket=BUCKET, Key=version["Key"], VersionId=version["VersionId"])
    assert caught.value.response["Error"]["Code"] == "AccessDenied"


def test_emptying_without_the_bypass_leaves_every_version_and_the_bucket_cannot_go(archive):
    errors = empty_like_the_provider(archive, BUCKET, force=False)
    assert {e["Code"] for e in errors} == {"AccessDenied"}
    assert len(archive.list_object_versions(Bucket=BUCKET)["Versions"]) == 3
    with pytest.raises(ClientError) as caught:
        archive.delete_bucket(Bucket=BUCKET)
    assert caught.value.response["Error"]["Code"] == "BucketNotEmpty"


def test_force_destroy_with_the_bypass_removes_every_version_and_the_bucket(archive):
    assert empty_like_the_provider(archive, BUCKET, force=True) == []
    assert archive.list_object_versions(Bucket=BUCKET).get("Versions", []) == []
    archive.delete_bucket(Bucket=BUCKET)
    assert BUCKET not in [b["Name"] for b in archive.list_buckets()["Buckets"]]
