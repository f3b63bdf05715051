"""What every alarm of every layer shares: its severity, where it notifies and which runbook section it
names.

Two SNS topics per environment (network layer): `page` wakes someone now, `ticket` is read the next
working day. Every runbook section below is assigned one of them, or none, in `ROUTING`, with the reason,
and `notify(topics, section)` gives a `MetricAlarm` the actions of that severity, so an alarm cannot be
created without a severity. docs/operations.md has a section per entry (tests/shared/test_runbooks.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import pulumi

RUNBOOK = "docs/operations.md"
PERIOD_SECONDS = 60  # every alarm here evaluates one-minute datapoints, unless it says otherwise

Severity = Literal["page", "ticket", "none"]
SEVERITIES: tuple[Severity, ...] = ("page", "ticket", "none")


class Runbook:
    """The runbook sections, as the anchors GitHub renders for docs/operations.md's headings."""

    RELEASE_5XX = "release-target-5xx"
    RELEASE_UNHEALTHY_HOSTS = "release-unhealthy-hosts"
    RELEASE_LATENCY = "release-latency"
    RUNNING_BELOW_MINIMUM = "running-tasks-below-minimum"
    RUNNING_BELOW_DESIRED = "running-tasks-below-desired"
    TASKS_CANNOT_START = "tasks-cannot-start"
    UNHEALTHY_TARGETS = "unhealthy-targets"
    TARGET_5XX_RATE = "target-5xx-rate"
    LATENCY_P99 = "p99-latency"
    NO_SUCCESSFUL_REQUESTS = "no-successful-requests"
    CPU_AT_MAX = "cpu-high-at-maximum-capacity"
    MEMORY_AT_MAX = "memory-high-at-maximum-capacity"
    CERTIFICATE_EXPIRY = "certificate-expiry"
    RELEASE_HOOK_FAILURES = "release-hook-errors-or-throttles"
    LOAD_BALANCER_5XX_RATE = "load-balancer-5xx-rate"
    NAT_PORT_ALLOCATION = "nat-gateway-port-allocation-errors"
    NAT_PACKETS_DROPPED = "nat-gateway-dropped-packets"
    WAF_BLOCKED = "waf-blocked-requests"
    ROTATION_FAILED = "secret-rotation-failed"
    ROTATION_FUNCTION_FAILURES = "rotation-function-errors-or-throttles"
    DEPLOYMENT_FAILED = "deployment-failed-or-rolled-back"
    DATABASE_CONNECTIONS = "database-connections"
    DATABASE_CPU = "database-cpu"
    DATABASE_CPU_CREDITS = "database-cpu-credits"
    DATABASE_MEMORY = "database-freeable-memory"
    DATABASE_STORAGE = "database-free-storage"
    DATABASE_STORAGE_CEILING = "database-storage-autoscaling-ceiling"
    DATABASE_LATENCY = "database-latency"
    DATABASE_LOAD = "database-load"
    DATABASE_EBS_BALANCE = "database-ebs-burst-balance"
    DATABASE_TRANSACTION_IDS = "database-transaction-id-wraparound"
    PAGING_DELIVERY_FAILED = "paging-notifications-failed"
    TICKET_DELIVERY_FAILED = "ticket-notifications-failed"


@dataclass(frozen=True)
class Routing:
    """Who hears about one kind of alarm, and why that severity."""

    severity: Severity
    reason: str


_PAYMENTS_FAIL = "payments are failing or about to fail for customers now"
ROUTING: Mapping[str, Routing] = MappingProxyType(
    {
        # Release alarms: CodeDeploy stops and rolls back on them; the deployment-failed rule then
        # notifies once. Their own actions would page a second time for the same incident.
        Runbook.RELEASE_5XX: Routing("none", "CodeDeploy acts on it; deployment-failed notifies"),
        Runbook.RELEASE_UNHEALTHY_HOSTS: Routing("none", "CodeDeploy acts on it; deployment-failed notifies"),
        Runbook.RELEASE_LATENCY: Routing("none", "CodeDeploy acts on it; deployment-failed notifies"),
        Runbook.RUNNING_BELOW_MINIMUM: Routing("page", f"tasks are down below the floor: {_PAYMENTS_FAIL}"),
        Runbook.RUNNING_BELOW_DESIRED: Routing(
            "page", "scaling asked for tasks that never start: under load the capacity is missing now"
        ),
        Runbook.TASKS_CANNOT_START: Routing(
            "page", "ECS cannot start tasks: the next crash or scale-out has no replacement"
        ),
        Runbook.UNHEALTHY_TARGETS: Routing(
            "ticket", "the other targets serve; the 5xx, latency and running-task alarms page on impact"
        ),
        Runbook.TARGET_5XX_RATE: Routing("page", _PAYMENTS_FAIL),
        Runbook.LATENCY_P99: Routing("page", "customers wait past the latency objective now"),
        Runbook.NO_SUCCESSFUL_REQUESTS: Routing(
            "page",
            "no traffic succeeds at the edge: DNS, listener or network broke, every rate alarm is blind",
        ),
        Runbook.CPU_AT_MAX: Routing("page", "scaling is exhausted: latency and errors follow within minutes"),
        Runbook.MEMORY_AT_MAX: Routing(
            "page", "scaling is exhausted: tasks are killed at their memory limit"
        ),
        Runbook.CERTIFICATE_EXPIRY: Routing("ticket", "weeks of warning: renew in working hours"),
        Runbook.RELEASE_HOOK_FAILURES: Routing(
            "ticket", "a failed hook fails the release, which CodeDeploy rolls back: nothing is down"
        ),
        Runbook.LOAD_BALANCER_5XX_RATE: Routing("page", _PAYMENTS_FAIL),
        Runbook.NAT_PORT_ALLOCATION: Routing(
            "page", "outbound calls to the payment provider fail from that zone now"
        ),
        Runbook.NAT_PACKETS_DROPPED: Routing(
            "ticket", "a share of 0.01 % at low traffic is a handful of packets; TCP retransmits them"
        ),
        Runbook.WAF_BLOCKED: Routing(
            "ticket", "blocking is the WAF doing its job; customers blocked show as missing traffic"
        ),
        Runbook.ROTATION_FAILED: Routing(
            "ticket", "the current credential stays valid; manually rotated keys fail on purpose monthly"
        ),
        Runbook.ROTATION_FUNCTION_FAILURES: Routing(
            "ticket", "a failed rotation keeps the current secret; it is retried and reported"
        ),
        Runbook.DEPLOYMENT_FAILED: Routing(
            "ticket", "CodeDeploy already restored the previous version; the release needs a fix"
        ),
        Runbook.DATABASE_CONNECTIONS: Routing(
            "page", "at max_connections new connections are refused and payments fail"
        ),
        Runbook.DATABASE_CPU: Routing("page", "a saturated database slows or times out every payment"),
        Runbook.DATABASE_CPU_CREDITS: Routing(
            "ticket",
            "RDS runs T3/T4g classes in Unlimited mode: an empty balance costs, it does not throttle",
        ),
        Runbook.DATABASE_MEMORY: Routing(
            "ticket", "a quarter of memory free still serves; plan a larger class before it swaps"
        ),
        Runbook.DATABASE_STORAGE: Routing("page", "a full volume stops every write: no payment is recorded"),
        Runbook.DATABASE_STORAGE_CEILING: Routing(
            "ticket", "autoscaling stops at its ceiling; free space still lasts until the storage alarm"
        ),
        Runbook.DATABASE_LATENCY: Routing("page", "slow storage slows every payment now"),
        Runbook.DATABASE_LOAD: Routing(
            "ticket", "sessions queue for CPU or I/O; the CPU and latency alarms page when customers feel it"
        ),
        Runbook.DATABASE_EBS_BALANCE: Routing(
            "ticket", "an empty burst balance throttles I/O later; the latency alarm pages when it does"
        ),
        Runbook.DATABASE_TRANSACTION_IDS: Routing(
            "ticket", "half way to wraparound: days of headroom to let vacuum catch up"
        ),
        # Each topic's delivery failures go to the other topic: a broken channel cannot report itself.
        Runbook.PAGING_DELIVERY_FAILED: Routing(
            "ticket", "the paging channel is broken: the ticket one reports it"
        ),
        Runbook.TICKET_DELIVERY_FAILED: Routing(
            "page", "the ticket channel is broken: the paging one reports it"
        ),
    }
)
ALL_SECTIONS: tuple[str, ...] = tuple(ROUTING)


@dataclass(frozen=True)
class AlarmTopics:
    """The environment's two topics (the network layer's `alarmTopicArn` and `ticketTopicArn`)."""

    page: pulumi.Input[str]
    ticket: pulumi.Input[str]

    def for_section(self, section: str) -> pulumi.Input[str] | None:
        """The topic of the section's severity; None for an alarm that notifies no one."""
        severity = ROUTING[section].severity
        if severity == "page":
            return self.page
        if severity == "ticket":
            return self.ticket
        return None


def severity_of(section: str) -> Severity:
    return ROUTING[section].severity


def describe(summary: str, section: str) -> str:
    """An alarm description: what breached, its severity, then the runbook section to open
    (AlarmDescription <= 1024)."""
    text = f"{summary}. Severity: {severity_of(section)}. Runbook: {RUNBOOK}#{section}"
    if len(text) > 1024:
        raise ValueError(f"alarm description longer than CloudWatch's 1024 characters: {text!r}")
    return text


def notify(topics: AlarmTopics, section: str) -> dict[str, Any]:
    """The `MetricAlarm` arguments that send both ALARM and OK transitions to the topic of the
    section's severity; none for a section of severity "none"."""
    topic = topics.for_section(section)
    if topic is None:
        return {"alarm_actions": [], "ok_actions": []}
    return {"alarm_actions": [topic], "ok_actions": [topic]}
