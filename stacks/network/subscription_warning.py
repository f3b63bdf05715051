"""A warning at every `plan`, preview and `up` when an alarm topic has no subscription.

The topics are created with no subscription by default (no address is safe to guess), and an alarm
that notifies an unsubscribed topic changes state in silence. The network program logs this warning, so
`python3 dev.py plan` (the offline engine prints `pulumi.log` warnings) and `pulumi up` / `dev.py up`
(the engine shows them) both say it. Subscriptions made outside Pulumi are not seen here: confirm with
`aws sns list-subscriptions-by-topic` (docs/operations.md, "Testing the paging path").
"""

from __future__ import annotations

import pulumi

from shared.config.alerting import NotificationConfig


def unsubscribed_warning(topic_name: str, notifications: NotificationConfig) -> str | None:
    """What to say about one topic, or None when its config subscribes someone."""
    if notifications.subscribed:
        return None
    emails_key, endpoints_key = notifications.keys
    return (
        f"the alarm topic {topic_name} has no subscription ({emails_key} and {endpoints_key} are empty): "
        "its alarms change state but notify no one. Fix: cd stacks/network && pulumi config set --path "
        f"'{emails_key}[0]' oncall@example.com (or '{endpoints_key}[0]' https://...), then pulumi up"
    )


def warn_when_unsubscribed(topics: dict[str, NotificationConfig]) -> list[str]:
    """Log a warning for each unsubscribed topic (topic name -> its subscriptions); return them."""
    warnings = [w for name, n in topics.items() if (w := unsubscribed_warning(name, n)) is not None]
    for warning in warnings:
        pulumi.log.warn(warning)
    return warnings
