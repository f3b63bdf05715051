"""Secret rotation failures, from Secrets Manager's CloudTrail service events, to the alarm topic.

Secrets Manager logs rotation outcomes as CloudTrail service events (`"detail-type": "AWS Service Event
via CloudTrail"`, `eventName` `RotationFailed`), which EventBridge receives on the default bus (Secrets
Manager user guide, "AWS CloudTrail entries for Secrets Manager", log entries for rotation,
https://docs.aws.amazon.com/secretsmanager/latest/userguide/cloudtrail_log_entries.html, and "Match
Secrets Manager events with EventBridge",
https://docs.aws.amazon.com/secretsmanager/latest/userguide/monitoring-eventbridge.html).
"""

from __future__ import annotations

from typing import Any

ROTATION_FAILED_PATTERN: dict[str, Any] = {
    "source": ["aws.secretsmanager"],
    "detail-type": ["AWS Service Event via CloudTrail"],
    "detail": {"eventSource": ["secretsmanager.amazonaws.com"], "eventName": ["RotationFailed"]},
}
