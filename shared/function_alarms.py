"""The alarm on one Lambda function's failures: errors or throttles, in one alarm per function.

Lambda publishes Errors (invocations that ended in a function error) and Throttles (invocations refused
for lack of concurrency) per FunctionName (Lambda developer guide, "Types of metrics for Lambda
functions", https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html). Both mean the
invocation did no work; one alarm on their sum keeps the count of alarms (and their cost) at one per
function. The rotation function and the release hooks use it, at severity "ticket": a failed rotation
keeps the current secret, a failed hook fails a release that CodeDeploy rolls back.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.alarm_routing import AlarmTopics, describe, notify
from shared.metric_queries import expression, metric
from shared.tags import ServiceTags

LAMBDA = "AWS/Lambda"
WINDOW_SECONDS = 300  # one five-minute datapoint: a rotation or a hook runs rarely, one failure counts


@dataclass(frozen=True, kw_only=True)
class FunctionFailureAlarmArgs:
    """One function's failure alarm. No field has a default.

    namer, tags: name and tags with the stack's suffix.
    purpose: the alarm's name part (alarm-lambda-<purpose>-failures-<suffix>).
    function_name: the FunctionName dimension.
    section: the runbook section (and so the severity) of the alarm.
    topics: the environment's two topics.
    """

    namer: naming.Namer
    tags: ServiceTags
    purpose: str
    function_name: pulumi.Input[str]
    section: str
    topics: AlarmTopics


def function_failure_alarm(
    args: FunctionFailureAlarmArgs, opts: pulumi.ResourceOptions
) -> aws.cloudwatch.MetricAlarm:
    alarm_name = args.namer.name(naming.ALARM, "lambda", args.purpose, "failures")
    function = {"FunctionName": args.function_name}
    return aws.cloudwatch.MetricAlarm(
        alarm_name,
        name=alarm_name,
        alarm_description=describe(
            f"Lambda {args.purpose}: an invocation failed or was throttled", args.section
        ),
        comparison_operator="GreaterThanThreshold",
        threshold=0.0,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        treat_missing_data="notBreaching",  # a function that did not run did not fail
        metric_queries=[
            metric("errors", LAMBDA, "Errors", "Sum", function, period=WINDOW_SECONDS),
            metric("throttles", LAMBDA, "Throttles", "Sum", function, period=WINDOW_SECONDS),
            expression(
                "failures", "FILL(errors, 0) + FILL(throttles, 0)", label="Errors + throttles", result=True
            ),
        ],
        tags=args.tags.for_resource(alarm_name),
        opts=opts,
        **notify(args.topics, args.section),
    )
