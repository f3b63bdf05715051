"""The managed database's alarms: CloudWatch's recommended alarms for RDS for PostgreSQL, with thresholds
from the instance class where AWS says "depends on the class", and the storage autoscaling ceiling.

CloudWatch user guide, "Recommended alarms", Amazon RDS
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Best_Practice_Recommended_Alarms_AWS_Services.html#RDS);
metrics: RDS user guide, "Amazon CloudWatch metrics for Amazon RDS"
(https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html), DBLoad from Performance
Insights, on here (stacks/platform/managed_database.py). tests/stacks/test_recommended_alarms.py lists each
recommendation with how it is covered.

- connections against the class's max_connections (shared/database_connections.py: RDS's default
  formula on the class's nominal memory, an upper bound, hence a percentage below it);
- CPU, and for burstable classes the CPU credit balance (RDS runs T3/T4g in Unlimited mode: an empty
  balance bills surplus credits rather than throttling, so it is a ticket);
- freeable memory against the class's memory; free storage against the allocated storage; the storage
  autoscaling ceiling (RDS-EVENT-0225, "approaching the maximum storage threshold", RDS user guide,
  "Managing capacity automatically with Amazon RDS storage autoscaling");
- read and write latency; database load (average active sessions) above the class's vCPUs; the EBS
  burst balances of classes below 4xlarge; PostgreSQL transaction IDs past one billion, half of the
  2^31 at which PostgreSQL stops accepting writes to prevent wraparound (PostgreSQL documentation,
  "Preventing Transaction ID Wraparound Failures").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.alarm_routing import AlarmTopics, Runbook, describe, notify
from shared.config.alerting import DatabaseAlarmConfig
from shared.config.platform import ManagedDatabaseConfig
from shared.database_connections import GIB, estimated_max_connections, instance_memory_gib, instance_vcpus
from shared.event_notifications import EventNotification, EventNotificationArgs
from shared.metric_queries import expression, metric
from shared.tags import ServiceTags

RDS = "AWS/RDS"
SUSTAINED_MINUTES = 15  # CloudWatch's recommendation for FreeableMemory and DBLoad: 15 of 15 minutes
EBS_BALANCE_PERCENT = 10  # CloudWatch's recommended threshold for EBSByteBalance% and EBSIOBalance%
TRANSACTION_IDS = 1_000_000_000  # CloudWatch's recommended threshold for MaximumUsedTransactionIDs
STORAGE_CEILING_EVENT = "RDS-EVENT-0225"  # storage approaching the maximum storage threshold


def storage_ceiling_pattern(instance_arn: pulumi.Input[str]) -> dict[str, Any]:
    """RDS's event that autoscaled storage approaches `max_allocated_storage`, for this instance only
    (EventBridge's "RDS DB Instance Event": detail.EventID and detail.SourceArn)."""
    return {
        "source": ["aws.rds"],
        "detail-type": ["RDS DB Instance Event"],
        "detail": {"EventID": [STORAGE_CEILING_EVENT], "SourceArn": [instance_arn]},
    }


@dataclass(frozen=True, kw_only=True)
class DatabaseAlarmsArgs:
    """The alarms of the managed DB instance. No field has a default.

    namer, tags: name and tags with the stack's suffix.
    identifier: the DB instance identifier (the DBInstanceIdentifier dimension).
    instance_arn: the instance, for the storage-ceiling event rule.
    database: the `database*` keys of the instance: its class and storage set the thresholds.
    config: the `database*Percent`, `databaseCpuCreditBalance` and `databaseLatencyMs` keys.
    evaluation_minutes: `platformAlarmEvaluationMinutes`.
    topics: the environment's two topics.
    """

    namer: naming.Namer
    tags: ServiceTags
    identifier: pulumi.Input[str]
    instance_arn: pulumi.Input[str]
    database: ManagedDatabaseConfig
    config: DatabaseAlarmConfig
    evaluation_minutes: int
    topics: AlarmTopics


class DatabaseAlarms(pulumi.ComponentResource):
    """Up to nine alarms (fewer for a class shared/database_connections.py does not know, which it
    warns about) and the storage-ceiling event rule."""

    def __init__(
        self, name: str, args: DatabaseAlarmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:platform:DatabaseAlarms", name, None, opts)
        self._args = args
        self._instance = {"DBInstanceIdentifier": args.identifier}
        config, database = args.config, args.database
        instance_class = database.instance_class
        self.alarms: list[aws.cloudwatch.MetricAlarm] = [
            self._single(
                "cpu",
                Runbook.DATABASE_CPU,
                f"Database CPU above {config.cpu_percent} %",
                "CPUUtilization",
                "Average",
                "GreaterThanThreshold",
                float(config.cpu_percent),
            ),
            self._single(
                "free-storage",
                Runbook.DATABASE_STORAGE,
                f"Database free storage below {config.free_storage_percent} % of its "
                f"{database.allocated_storage_gb} GiB",
                "FreeStorageSpace",
                "Minimum",
                "LessThanThreshold",
                float(database.allocated_storage_gb * GIB * config.free_storage_percent // 100),
            ),
            self._alarm(
                "latency",
                Runbook.DATABASE_LATENCY,
                f"Database read or write latency above {config.latency_ms} ms",
                comparison_operator="GreaterThanThreshold",
                threshold=config.latency_ms / 1000,  # ReadLatency and WriteLatency are in seconds
                metric_queries=[
                    metric("read", RDS, "ReadLatency", "Average", self._instance),
                    metric("write", RDS, "WriteLatency", "Average", self._instance),
                    expression(
                        "latency", "MAX([read, write])", label="Read or write latency (s)", result=True
                    ),
                ],
            ),
            self._alarm(
                "ebs-balance",
                Runbook.DATABASE_EBS_BALANCE,
                f"Database EBS byte or I/O burst balance below {EBS_BALANCE_PERCENT} %",
                comparison_operator="LessThanThreshold",
                threshold=float(EBS_BALANCE_PERCENT),
                # Classes of 4xlarge and up publish neither (no burst): FILL keeps them at 100 %.
                metric_queries=[
                    metric("bytes", RDS, "EBSByteBalance%", "Minimum", self._instance),
                    metric("io", RDS, "EBSIOBalance%", "Minimum", self._instance),
                    expression(
                        "balance",
                        "MIN([FILL(bytes, 100), FILL(io, 100)])",
                        label="EBS burst balance (%)",
                        result=True,
                    ),
                ],
            ),
            self._single(
                "transaction-ids",
                Runbook.DATABASE_TRANSACTION_IDS,
                f"PostgreSQL's oldest unfrozen transaction ID is more than {TRANSACTION_IDS:,} old "
                "(wraparound stops writes at about 2.1 billion)",
                "MaximumUsedTransactionIDs",
                "Maximum",
                "GreaterThanThreshold",
                float(TRANSACTION_IDS),
            ),
        ]
        max_connections = estimated_max_connections(instance_class)
        memory_gib = instance_memory_gib(instance_class)
        vcpus = instance_vcpus(instance_class)
        if max_connections is not None:
            limit = max_connections * config.connections_percent // 100
            self.alarms.append(
                self._single(
                    "connections",
                    Runbook.DATABASE_CONNECTIONS,
                    f"More than {limit} database connections ({config.connections_percent} % of "
                    f"{instance_class}'s estimated max_connections {max_connections})",
                    "DatabaseConnections",
                    "Maximum",
                    "GreaterThanThreshold",
                    float(limit),
                )
            )
        if memory_gib is not None:
            self.alarms.append(
                self._single(
                    "freeable-memory",
                    Runbook.DATABASE_MEMORY,
                    f"Database freeable memory below {config.freeable_memory_percent} % of "
                    f"{instance_class}'s {memory_gib} GiB",
                    "FreeableMemory",
                    "Average",
                    "LessThanThreshold",
                    float(memory_gib * GIB * config.freeable_memory_percent // 100),
                    minutes=SUSTAINED_MINUTES,
                )
            )
        if vcpus is not None:
            self.alarms.append(
                self._single(
                    "load",
                    Runbook.DATABASE_LOAD,
                    f"Database load above {instance_class}'s {vcpus} vCPUs (average active sessions)",
                    "DBLoad",
                    "Average",
                    "GreaterThanThreshold",
                    float(vcpus),
                    minutes=SUSTAINED_MINUTES,
                )
            )
        if instance_class.startswith("db.t"):
            self.alarms.append(
                self._single(
                    "cpu-credits",
                    Runbook.DATABASE_CPU_CREDITS,
                    f"Database CPU credit balance below {config.cpu_credit_balance}",
                    "CPUCreditBalance",
                    "Minimum",
                    "LessThanThreshold",
                    float(config.cpu_credit_balance),
                )
            )
        if None in (max_connections, memory_gib, vcpus):
            pulumi.log.warn(
                f"databaseInstanceClass {instance_class} is not a class shared/database_connections.py "
                "knows: the database has no connections, freeable-memory or load alarm (their thresholds "
                "follow the class); see docs/operations.md, 'database-connections'",
                resource=self,
            )
        self.storage_ceiling = EventNotification(
            f"{name}-storage-ceiling",
            EventNotificationArgs(
                namer=args.namer,
                tags=args.tags,
                purpose="database-storage-ceiling",
                summary="Database storage approaches its autoscaling ceiling of "
                f"{database.max_allocated_storage_gb} GiB",
                runbook=Runbook.DATABASE_STORAGE_CEILING,
                pattern=storage_ceiling_pattern(args.instance_arn),
                topics=args.topics,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"alarmNames": [a.name for a in self.alarms]})

    def _single(
        self,
        purpose: str,
        section: str,
        summary: str,
        metric_name: str,
        statistic: str,
        comparison: str,
        threshold: float,
        minutes: int | None = None,
    ) -> aws.cloudwatch.MetricAlarm:
        return self._alarm(
            purpose,
            section,
            summary,
            minutes=minutes,
            namespace=RDS,
            metric_name=metric_name,
            dimensions=self._instance,
            statistic=statistic,
            period=60,
            comparison_operator=comparison,
            threshold=threshold,
        )

    def _alarm(
        self, purpose: str, section: str, summary: str, minutes: int | None = None, **kwargs: Any
    ) -> aws.cloudwatch.MetricAlarm:
        args = self._args
        alarm_name = args.namer.name(naming.ALARM, "database", purpose)
        minutes = minutes or args.evaluation_minutes
        return aws.cloudwatch.MetricAlarm(
            alarm_name,
            name=alarm_name,
            alarm_description=describe(summary, section),
            evaluation_periods=minutes,
            datapoints_to_alarm=minutes,
            # A stopped or replaced instance publishes nothing; the services' alarms see the outage.
            treat_missing_data="notBreaching",
            tags=args.tags.for_resource(alarm_name),
            opts=pulumi.ResourceOptions(parent=self),
            **notify(args.topics, section),
            **kwargs,
        )
