"""What every alarm of every layer shares: where it notifies and which runbook section it names.

Each layer receives the environment's alarm topic (the network layer's `alarmTopicArn` export) and
passes `notify(topic)` to each `MetricAlarm`, so an alarm and its recovery both reach on-call.
`tests/test_alarm_notifications.py` checks that every section named here is a heading of docs/operations.md.
"""

from __future__ import annotations

from typing import Any

import pulumi

RUNBOOK = "docs/operations.md"
PERIOD_SECONDS = 60  # every alarm here evaluates one-minute datapoints


class Runbook:
    """The runbook sections, as the anchors GitHub renders for docs/operations.md's headings."""

    RELEASE_5XX = "release-target-5xx"
    RELEASE_UNHEALTHY_HOSTS = "release-unhealthy-hosts"
    RELEASE_LATENCY = "release-latency"
    RUNNING_BELOW_MINIMUM = "running-tasks-below-minimum"
    TARGET_5XX_RATE = "target-5xx-rate"
    LATENCY_P99 = "p99-latency"
    CPU_AT_MAX = "cpu-high-at-maximum-capacity"
    MEMORY_AT_MAX = "memory-high-at-maximum-capacity"
    LOAD_BALANCER_5XX_RATE = "load-balancer-5xx-rate"
    NAT_PORT_ALLOCATION = "nat-gateway-port-allocation-errors"
    NAT_PACKETS_DROPPED = "nat-gateway-dropped-packets"
    WAF_BLOCKED = "waf-blocked-requests"
    ROTATION_FAILED = "secret-rotation-failed"
    DEPLOYMENT_FAILED = "deployment-failed-or-rolled-back"
    ALL = (
        RELEASE_5XX,
        RELEASE_UNHEALTHY_HOSTS,
        RELEASE_LATENCY,
        RUNNING_BELOW_MINIMUM,
        TARGET_5XX_RATE,
        LATENCY_P99,
        CPU_AT_MAX,
        MEMORY_AT_MAX,
        LOAD_BALANCER_5XX_RATE,
        NAT_PORT_ALLOCATION,
        NAT_PACKETS_DROPPED,
        WAF_BLOCKED,
        ROTATION_FAILED,
        DEPLOYMENT_FAILED,
    )


def describe(summary: str, section: str) -> str:
    """An alarm description: what breached, then the runbook section to open (AlarmDescription <= 1024)."""
    text = f"{summary}. Runbook: {RUNBOOK}#{section}"
    if len(text) > 1024:
        raise ValueError(f"alarm description longer than CloudWatch's 1024 characters: {text!r}")
    return text


def notify(topic_arn: pulumi.Input[str]) -> dict[str, Any]:
    """The `MetricAlarm` arguments that send both ALARM and OK transitions to the topic."""
    return {"alarm_actions": [topic_arn], "ok_actions": [topic_arn]}
