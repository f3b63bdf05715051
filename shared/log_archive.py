"""How a log group reaches the audit archive of `complianceProfile: pci`: one subscription filter.

The platform layer owns the archive (stacks/platform/audit_archive.py): an Amazon Data Firehose stream
into a write-once S3 bucket, and the role CloudWatch Logs assumes to put records into that stream.
Every layer subscribes its own log groups with `archive_log_group`, so the 30 days in CloudWatch Logs
stay as they are and a copy is kept 12 months (PCI DSS v4.0.1 requirement 10.5.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared import naming

# An empty pattern matches every event (CloudWatch Logs user guide, "Filter pattern syntax").
EVERY_EVENT = ""


@dataclass(frozen=True, kw_only=True)
class LogArchive:
    """The archive's delivery: where subscription filters send, and as whom.

    Fields:
        stream_arn: the Firehose stream in front of the archive bucket.
        role_arn: the role CloudWatch Logs assumes to call firehose:PutRecord* on that stream.
    """

    stream_arn: pulumi.Input[str]
    role_arn: pulumi.Input[str]


def archive_log_group(
    namer: naming.Namer,
    parts: tuple[str, ...],
    *,
    log_group_name: pulumi.Input[str],
    archive: LogArchive,
    opts: pulumi.ResourceOptions,
) -> aws.cloudwatch.LogSubscriptionFilter:
    """Copy every event of `log_group_name` to the archive (a log group takes two filters at most)."""
    return aws.cloudwatch.LogSubscriptionFilter(
        namer.name(naming.LOG_SUBSCRIPTION, *parts),
        name=namer.name(naming.LOG_SUBSCRIPTION, *parts),
        log_group=log_group_name,
        filter_pattern=EVERY_EVENT,
        destination_arn=archive.stream_arn,
        role_arn=archive.role_arn,
        opts=opts,
    )


def archive_log_groups(
    namer: naming.Namer,
    archive: LogArchive,
    log_groups: Mapping[str, pulumi.Input[str]],
    *,
    opts: pulumi.ResourceOptions,
) -> list[aws.cloudwatch.LogSubscriptionFilter]:
    """One subscription filter per log group, keyed by the name part its filter gets."""
    return [
        archive_log_group(namer, (part,), log_group_name=group, archive=archive, opts=opts)
        for part, group in log_groups.items()
    ]
