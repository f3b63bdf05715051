"""Preflight's CloudTrail check for `complianceProfile: pci`: a warning, never a refusal.

PCI DSS v4.0.1 10.2 asks for audit logs of every access to system components, and 10.3.4 for
change detection on them. In AWS that is an account's CloudTrail trail, which the stacks do not own
(an organization trail or the security team's usually is). Security Hub's CloudTrail.1 ("CloudTrail
should be enabled and configured with at least one multi-Region trail that includes read and write
management events") and CloudTrail.4 ("CloudTrail log file validation should be enabled") are the
checks; this one asks the same of DescribeTrails and GetTrailStatus before `up`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from offline.layer_projects import Layer

PCI = "pci"


def stack_is_pci(stack: str, layers: tuple[str, ...]) -> bool:
    """Whether any of the layers' `Pulumi.<stack>.yaml` sets `complianceProfile: pci`."""
    return any(Layer(layer).stack_config(stack).get("complianceProfile") == PCI for layer in layers)


def cloudtrail_warning(region: str, client: Any | None = None) -> str | None:
    """None when a multi-Region trail with log file validation is logging; else what is missing."""
    import boto3

    cloudtrail = client or boto3.client("cloudtrail", region_name=region)
    try:
        trails = cloudtrail.describe_trails(includeShadowTrails=True).get("trailList", [])
        candidates = [t for t in trails if t.get("IsMultiRegionTrail")]
        validated = [t for t in candidates if t.get("LogFileValidationEnabled")]
        logging = [t for t in validated if _is_logging(cloudtrail, t)]
    except (BotoCoreError, ClientError) as error:
        return f"could not check CloudTrail ({error}); check it by hand: `aws cloudtrail describe-trails`"
    if logging:
        return None
    if not candidates:
        found = "no multi-Region trail"
    elif not validated:
        found = "no multi-Region trail with log file validation ({})".format(
            ", ".join(str(t.get("Name")) for t in candidates)
        )
    else:
        found = "the multi-Region trail with log file validation is not logging ({})".format(
            ", ".join(str(t.get("Name")) for t in validated)
        )
    return (
        f"complianceProfile pci: the account has {found}. PCI DSS 10.2 and 10.3.4 need one (Security Hub "
        "CloudTrail.1, CloudTrail.4): `aws cloudtrail create-trail --name <name> --s3-bucket-name <bucket> "
        "--is-multi-region-trail --enable-log-file-validation` and `aws cloudtrail start-logging --name "
        "<name>`, or ask whoever owns the organization trail (docs/security.md, 'PCI DSS v4.0.1')"
    )


def _is_logging(cloudtrail: Any, trail: Mapping[str, Any]) -> bool:
    status = cloudtrail.get_trail_status(Name=trail.get("TrailARN") or trail.get("Name"))
    return bool(status.get("IsLogging"))
