"""Failed and stopped releases, from CodeDeploy's own events, to the alarm topic.

CodeDeploy sends "CodeDeploy Deployment State-change Notification" events to EventBridge with
`detail.state` START, SUCCESS, FAILURE, STOP or READY and `detail.application` the application name
(EventBridge events reference, "AWS CodeDeploy events",
https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-codedeploy.html; CodeDeploy user guide,
"Monitoring deployments with Amazon EventBridge",
https://docs.aws.amazon.com/codedeploy/latest/userguide/monitoring-cloudwatch-events.html). An automatic
rollback ends the rolled-back deployment in FAILURE (a deployment failure) or STOP (stopped by an alarm)
and starts a new deployment that restores the previous revision.
"""

from __future__ import annotations

from typing import Any

DETAIL_TYPE = "CodeDeploy Deployment State-change Notification"
NOTIFIED_STATES = ("FAILURE", "STOP")


def deployment_failed_pattern(application_name: str) -> dict[str, Any]:
    """Failures and stops of this environment's CodeDeploy application only."""
    return {
        "source": ["aws.codedeploy"],
        "detail-type": [DETAIL_TYPE],
        "detail": {"state": list(NOTIFIED_STATES), "application": [application_name]},
    }
