"""Typed configuration of `stacks/network`."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from shared.config.alerting import TICKET_PREFIX, NatAlarmConfig, NotificationConfig, heartbeat_schedule
from shared.config.aws_limits import VPC_PREFIX_RANGE
from shared.config.common import CommonConfig
from shared.config.declared import load_layer
from shared.config.keys import (
    FLOW_LOG_TRAFFIC_TYPES,
    NAT_GATEWAYS,
    FlowLogTrafficType,
    NatGateways,
    typed_choice,
)
from shared.config.reader import ConfigReader
from shared.config.validators import log_retention
from shared.errors import ConfigError

NAT_PER_AZ, NAT_SINGLE = NAT_GATEWAYS
MIN_AVAILABILITY_ZONES = 3


@dataclass(frozen=True)
class NetworkConfig:
    """Every knob of the network layer, with the default a dev stack gets."""

    common: CommonConfig
    vpc_cidr: ipaddress.IPv4Network  # `vpcCidr`
    availability_zones: tuple[str, ...]  # `availabilityZones`: look up `azCount` zones
    az_count: int  # `azCount`
    public_subnet_prefix: int  # `publicSubnetPrefix`: ALBs and NAT gateways only
    private_subnet_prefix: int  # `privateSubnetPrefix`: room for 4,091 task ENIs per AZ
    nat_gateways: NatGateways  # `natGateways`: perAz survives an AZ outage, single is cheap
    flow_log_retention_days: int  # `flowLogRetentionDays`
    flow_log_traffic_type: FlowLogTrafficType  # `flowLogTrafficType`
    interface_endpoints: bool  # `interfaceEndpoints` (cost: stacks/network/README.md)
    ecs_exec_endpoint: bool  # `ecsExecEndpoint`: the ssmmessages endpoint ECS Exec sessions use
    kms_deletion_window_days: int  # `kmsDeletionWindowDays`
    notifications: NotificationConfig  # the paging topic's subscriptions (`alarmEmails`, ...)
    ticket_notifications: NotificationConfig  # the ticket topic's (`ticketEmails`, ...)
    heartbeat_schedule: str  # `alarmHeartbeatSchedule`
    nat_alarms: NatAlarmConfig

    @classmethod
    def load(cls, reader: ConfigReader | None = None) -> NetworkConfig:
        """The layer's config, validated; a refusal names stacks/network and a valid example."""
        return load_layer("network", reader or ConfigReader.from_pulumi(), cls._build)

    @classmethod
    def _build(cls, reader: ConfigReader) -> NetworkConfig:
        common = CommonConfig.load(reader)
        vpc_cidr = reader.cidr("vpcCidr")
        if vpc_cidr.prefixlen not in VPC_PREFIX_RANGE:
            raise ConfigError("vpcCidr", str(vpc_cidr), "must be between /16 and /28 (AWS's VPC limit)")
        zones = reader.string_list("availabilityZones")
        az_count = reader.integer("azCount")
        _check_zones(zones, az_count, common.region)
        return cls(
            common=common,
            vpc_cidr=vpc_cidr,
            availability_zones=zones,
            az_count=len(zones) or az_count,
            public_subnet_prefix=reader.integer("publicSubnetPrefix"),
            private_subnet_prefix=reader.integer("privateSubnetPrefix"),
            nat_gateways=typed_choice(NAT_GATEWAYS, reader.choice("natGateways")),
            flow_log_retention_days=log_retention(reader, "flowLogRetentionDays"),
            flow_log_traffic_type=typed_choice(FLOW_LOG_TRAFFIC_TYPES, reader.choice("flowLogTrafficType")),
            interface_endpoints=_interface_endpoints(reader, common),
            ecs_exec_endpoint=reader.boolean("ecsExecEndpoint"),
            kms_deletion_window_days=reader.integer("kmsDeletionWindowDays"),
            notifications=NotificationConfig.load(reader),
            ticket_notifications=NotificationConfig.load(reader, TICKET_PREFIX),
            heartbeat_schedule=heartbeat_schedule(reader),
            nat_alarms=NatAlarmConfig.load(reader),
        )


def _interface_endpoints(reader: ConfigReader, common: CommonConfig) -> bool:
    """`interfaceEndpoints`; always on with `complianceProfile: pci`, whatever the key says: there no AWS
    API may be reached through NAT (PCI DSS 1.3.2), so the profile, not this key, decides."""
    return common.pci or reader.boolean("interfaceEndpoints")


def _check_zones(zones: tuple[str, ...], az_count: int, region: str) -> None:
    fix = f"pulumi config set --path 'availabilityZones[0]' {region}a (and [1], [2]), or unset it"
    if az_count < MIN_AVAILABILITY_ZONES:
        raise ConfigError(
            "azCount",
            az_count,
            f"must be at least {MIN_AVAILABILITY_ZONES}: the platform spreads tasks over 3 AZs",
            example=f"{MIN_AVAILABILITY_ZONES}",
        )
    if not zones:
        return
    if len(set(zones)) < MIN_AVAILABILITY_ZONES:
        raise ConfigError(
            "availabilityZones",
            list(zones),
            f"must name at least {MIN_AVAILABILITY_ZONES} distinct availability zones",
            fix,
        )
    if len(set(zones)) != len(zones):
        raise ConfigError("availabilityZones", list(zones), "must not repeat a zone", fix)
    pattern = re.compile(re.escape(region) + r"[a-z]")
    stray = [z for z in zones if not pattern.fullmatch(z)]
    if stray:
        raise ConfigError(
            "availabilityZones", list(zones), f"must all be zones of {region}; {stray} are not", fix
        )
