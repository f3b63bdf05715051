"""Preflight's CloudTrail check for `complianceProfile: pci`: a warning, never a refusal.

PCI DSS v4.0.1 10.2 asks for audit logs of every access to system components, and 10.3.4 for
change detection on them. In AWS that is an account's CloudTrail trail, which the stacks do not own
(an organization trail or the security team's usually is). Security Hub's CloudTrail.1 ("CloudTrail
should be enabled and configured with at least one multi-Region trail that includes read and write
management events") and CloudTrail.4 ("CloudTrail log file validation should be enabled") are the
checks; this one asks the same of DescribeTrails, GetTrailStatus and GetEventSelectors before `up`.
CloudTrail.1's AWS Config rule (multi-region-cloudtrail-enabled, with includeManagementEvents and
readWriteType ALL) also fails a trail whose ExcludeManagementEventSources is not empty. The deployer
may make these three reads (deploy/iam/deployer-foundation.json, the preflight row of
deploy/iam/provider_calls.toml).
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
        complete = [t for t in logging if _records_all_management_events(cloudtrail, t)]
    except (BotoCoreError, ClientError) as error:
        return f"could not check CloudTrail ({error}); check it by hand: `aws cloudtrail describe-trails`"
    if complete:
        return None
    if not candidates:
        found = "no multi-Region trail"
    elif not validated:
        found = "no multi-Region trail with log file validation ({})".format(
            ", ".join(str(t.get("Name")) for t in candidates)
        )
    elif not logging:
        found = "the multi-Region trail with log file validation is not logging ({})".format(
            ", ".join(str(t.get("Name")) for t in validated)
        )
    else:
        found = (
            "the logging multi-Region trail does not record every read and write management event ({}): "
            "set an event selector with ReadWriteType All, IncludeManagementEvents true and no "
            "ExcludeManagementEventSources"
        ).format(", ".join(str(t.get("Name")) for t in logging))
    return (
        f"complianceProfile pci: the account has {found}. PCI DSS 10.2 and 10.3.4 need one (Security Hub "
        "CloudTrail.1, CloudTrail.4): `aws cloudtrail create-trail --name <name> --s3-bucket-name <bucket> "
        "--is-multi-region-trail --enable-log-file-validation` and `aws cloudtrail start-logging --name "
        "<name>`, or ask whoever owns the organization trail (docs/security.md, 'PCI DSS v4.0.1')"
    )


def _is_logging(cloudtrail: Any, trail: Mapping[str, Any]) -> bool:
    status = cloudtrail.get_trail_status(Name=trail.get("TrailARN") or trail.get("Name"))
    return bool(status.get("IsLogging"))


def _records_all_management_events(cloudtrail: Any, trail: Mapping[str, Any]) -> bool:
    """Whether the trail's selectors take every read and write management event (CloudTrail.1).

    A trail with no selectors at all records them: that is a new trail's default (CloudTrail user
    guide, "Logging management events").
    """
    selectors = cloudtrail.get_event_selectors(TrailName=trail.get("TrailARN") or trail.get("Name"))
    basic = selectors.get("EventSelectors") or []
    advanced = selectors.get("AdvancedEventSelectors") or []
    if not basic and not advanced:
        return True
    return any(_basic_takes_all(s) for s in basic) or any(_advanced_takes_all(s) for s in advanced)


def _basic_takes_all(selector: Mapping[str, Any]) -> bool:
    return (
        selector.get("IncludeManagementEvents") is True
        and selector.get("ReadWriteType", "All") == "All"
        and not selector.get("ExcludeManagementEventSources")
    )


def _advanced_takes_all(selector: Mapping[str, Any]) -> bool:
    """Management events and no other field narrowing them (readOnly, eventSource, ...)."""
    fields = selector.get("FieldSelectors") or []
    category = [f for f in fields if f.get("Field") == "eventCategory"]
    return (
        len(category) == 1
        and category[0].get("Equals") == ["Management"]
        and all(f.get("Field") == "eventCategory" for f in fields)
    )
