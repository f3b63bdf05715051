"""On-call alarms of the NAT gateways: source-port exhaustion and dropped packets, per gateway.

Thresholds follow CloudWatch's recommended alarms for AWS/NATGateway: any ErrorPortAllocation, and
PacketsDropCount as a share of the gateway's packets above 0.01 %
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Best_Practice_Recommended_Alarms_AWS_Services.html#NATGateway).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.alarm_routing import AlarmTopics, Runbook, describe, notify
from shared.config.alerting import NatAlarmConfig
from shared.metric_queries import expression, metric
from shared.tags import ServiceTags

NAMESPACE = "AWS/NATGateway"


@dataclass(frozen=True, kw_only=True)
class NatGatewayAlarmsArgs:
    """Two alarms per NAT gateway. No field has a default.

    namer: names every alarm with the stack's suffix.
    tags: the Service tag (and the rest) for each alarm.
    gateways: (availability zone, NAT gateway id) of each gateway.
    topics: the paging and ticket topics; each alarm notifies the one of its severity.
    config: thresholds and evaluation window (`natPacketDropPercent`, `natAlarmEvaluationMinutes`).
    """

    namer: naming.Namer
    tags: ServiceTags
    gateways: Sequence[tuple[str, pulumi.Input[str]]]
    topics: AlarmTopics
    config: NatAlarmConfig


class NatGatewayAlarms(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: NatGatewayAlarmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:network:NatGatewayAlarms", name, None, opts)
        self.alarms: list[aws.cloudwatch.MetricAlarm] = []
        for zone, gateway_id in args.gateways:
            self.alarms.append(self._port_allocation(args, zone, gateway_id))
            self.alarms.append(self._packet_drops(args, zone, gateway_id))
        self.register_outputs({"alarmNames": [a.name for a in self.alarms]})

    def _alarm(
        self, args: NatGatewayAlarmsArgs, zone: str, purpose: str, section: str, **kwargs: Any
    ) -> aws.cloudwatch.MetricAlarm:
        alarm_name = args.namer.name(naming.ALARM, "nat", zone, purpose)
        minutes = args.config.evaluation_minutes
        return aws.cloudwatch.MetricAlarm(
            alarm_name,
            name=alarm_name,
            evaluation_periods=minutes,
            datapoints_to_alarm=minutes,
            treat_missing_data="notBreaching",  # an idle gateway reports nothing
            tags=args.tags.for_resource(alarm_name),
            opts=pulumi.ResourceOptions(parent=self),
            **notify(args.topics, section),
            **kwargs,
        )

    def _port_allocation(
        self, args: NatGatewayAlarmsArgs, zone: str, gateway_id: pulumi.Input[str]
    ) -> aws.cloudwatch.MetricAlarm:
        return self._alarm(
            args,
            zone,
            "port-allocation",
            Runbook.NAT_PORT_ALLOCATION,
            alarm_description=describe(
                f"NAT gateway in {zone} could not allocate a source port (ErrorPortAllocation > 0)",
                Runbook.NAT_PORT_ALLOCATION,
            ),
            namespace=NAMESPACE,
            metric_name="ErrorPortAllocation",
            dimensions={"NatGatewayId": gateway_id},
            statistic="Sum",
            period=60,
            comparison_operator="GreaterThanThreshold",
            threshold=0.0,
        )

    def _packet_drops(
        self, args: NatGatewayAlarmsArgs, zone: str, gateway_id: pulumi.Input[str]
    ) -> aws.cloudwatch.MetricAlarm:
        gateway = {"NatGatewayId": gateway_id}
        percent = args.config.packet_drop_percent
        return self._alarm(
            args,
            zone,
            "packet-drops",
            Runbook.NAT_PACKETS_DROPPED,
            alarm_description=describe(
                f"NAT gateway in {zone} dropped more than {percent:g} % of its packets",
                Runbook.NAT_PACKETS_DROPPED,
            ),
            comparison_operator="GreaterThanThreshold",
            threshold=percent,
            metric_queries=[
                metric("drops", NAMESPACE, "PacketsDropCount", "Sum", gateway),
                metric("from_source", NAMESPACE, "PacketsInFromSource", "Sum", gateway),
                metric("from_destination", NAMESPACE, "PacketsInFromDestination", "Sum", gateway),
                expression("packets", "FILL(from_source, 0) + FILL(from_destination, 0)"),
                expression(
                    "drop_percent",
                    "IF(packets > 0, 100 * FILL(drops, 0) / packets, 0)",
                    label="Dropped packets (%)",
                    result=True,
                ),
            ],
        )
