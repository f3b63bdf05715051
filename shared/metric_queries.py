"""Small builders for `MetricAlarm.metric_queries`: one metric, or metric math over others.

PutMetricAlarm takes either a single metric or up to 20 `MetricDataQuery`s of which exactly one
returns data (botocore's cloudwatch model, `MetricDataQuery`); these keep every alarm's queries in
that shape.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from shared.alarm_routing import PERIOD_SECONDS

Query = aws.cloudwatch.MetricAlarmMetricQueryArgs


def metric(
    query_id: str,
    namespace: str,
    name: str,
    stat: str,
    dimensions: Mapping[str, pulumi.Input[str]],
    *,
    period: int = PERIOD_SECONDS,
) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    """One metric series, feeding an expression (never returned itself)."""
    query: aws.cloudwatch.MetricAlarmMetricQueryArgs = Query(
        id=query_id,
        return_data=False,
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace=namespace,
            metric_name=name,
            stat=stat,
            period=period,
            dimensions=dict(dimensions),
        ),
    )
    return query


def expression(
    query_id: str, text: str, *, label: str | None = None, result: bool = False
) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    """Metric math over the queries above it; `result` marks the one series the alarm evaluates."""
    query: aws.cloudwatch.MetricAlarmMetricQueryArgs = Query(
        id=query_id, expression=text, label=label, return_data=result
    )
    return query


def load_balancer_dimension(load_balancer_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """CloudWatch's LoadBalancer dimension: the ARN's suffix, app/<name>/<id>."""
    return pulumi.Output.from_input(load_balancer_arn).apply(lambda arn: arn.split(":loadbalancer/", 1)[-1])
