"""Network layer: VPC across 3 AZs, public/private subnets, NAT, routes, flow logs, endpoints, and the
environment's alarm topic (deployed first, destroyed last: every layer's alarms notify it)."""

import pulumi

from shared import naming
from shared.alarm_routing import AlarmTopics
from shared.aws_context import AwsContext
from shared.config.network import NetworkConfig
from shared.contracts import NetworkExports
from shared.provider import aws_provider
from shared.tags import ServiceTags
from stacks.network.alarm_topics import AlarmTopic, AlarmTopicArgs
from stacks.network.endpoints import Endpoints, EndpointsArgs, interface_services
from stacks.network.flow_logs import FlowLogs, FlowLogsArgs
from stacks.network.nat_alarms import NatGatewayAlarms, NatGatewayAlarmsArgs
from stacks.network.notification_health import NotificationHealth, NotificationHealthArgs
from stacks.network.subnet_plan import plan_subnets
from stacks.network.subscription_warning import warn_when_unsubscribed
from stacks.network.vpc import Vpc, VpcArgs
from stacks.network.zones import choose_zones

config = NetworkConfig.load()
namer = config.common.namer
tags = ServiceTags("network")
provider = aws_provider(config.common)
aws_context = AwsContext.lookup(provider)
zones = choose_zones(config, provider)
subnets = plan_subnets(config.vpc_cidr, len(zones), config.public_subnet_prefix, config.private_subnet_prefix)
in_provider = pulumi.ResourceOptions(provider=provider)

vpc = Vpc(
    "network",
    VpcArgs(
        namer=namer,
        tags=tags,
        cidr=str(config.vpc_cidr),
        zones=zones,
        subnets=subnets,
        nat_gateways=config.nat_gateways,
    ),
    opts=in_provider,
)
flow_logs = FlowLogs(
    "flow-logs",
    FlowLogsArgs(
        namer=namer,
        tags=tags,
        vpc_id=vpc.vpc_id,
        context=aws_context,
        retention_days=config.flow_log_retention_days,
        traffic_type=config.flow_log_traffic_type,
        kms_deletion_window_days=config.kms_deletion_window_days,
    ),
    opts=in_provider,
)
endpoints = Endpoints(
    "endpoints",
    EndpointsArgs(
        namer=namer,
        tags=tags,
        region=aws_context.region,
        vpc_id=vpc.vpc_id,
        vpc_cidr=str(config.vpc_cidr),
        private_subnet_ids=[s.id for s in vpc.private_subnets],
        private_route_table_ids=[t.id for t in vpc.private_route_tables],
        services=interface_services(
            pci=config.common.pci,
            interface_endpoints=config.interface_endpoints,
            ecs_exec_endpoint=config.ecs_exec_endpoint,
        ),
    ),
    opts=in_provider,
)

alarm_topic = AlarmTopic(
    "alarm-topic",
    AlarmTopicArgs(
        namer=namer,
        tags=tags,
        context=aws_context,
        notifications=config.notifications,
        ticket_notifications=config.ticket_notifications,
        kms_deletion_window_days=config.kms_deletion_window_days,
    ),
    opts=in_provider,
)
topics = AlarmTopics(page=alarm_topic.topic_arn, ticket=alarm_topic.ticket_topic_arn)
warn_when_unsubscribed(
    {
        namer.name(naming.TOPIC, "alarms"): config.notifications,
        namer.name(naming.TOPIC, "tickets"): config.ticket_notifications,
    }
)
NotificationHealth(
    "notification-health",
    NotificationHealthArgs(
        namer=namer,
        tags=tags,
        topics=topics,
        topic_names=(alarm_topic.topic_name, alarm_topic.ticket_topic_name),
        heartbeat_schedule=config.heartbeat_schedule,
    ),
    opts=in_provider,
)
NatGatewayAlarms(
    "nat-alarms",
    NatGatewayAlarmsArgs(
        namer=namer,
        tags=tags,
        gateways=vpc.nat_gateways_by_zone,
        topics=topics,
        config=config.nat_alarms,
    ),
    opts=in_provider,
)

pulumi.export(NetworkExports.VPC_ID, vpc.vpc_id)
pulumi.export(NetworkExports.VPC_CIDR, vpc.vpc_cidr)
pulumi.export(NetworkExports.PUBLIC_SUBNET_IDS, vpc.public_subnet_ids)
pulumi.export(NetworkExports.PRIVATE_SUBNET_IDS, vpc.private_subnet_ids)
pulumi.export(NetworkExports.PRIVATE_ROUTE_TABLE_IDS, vpc.private_route_table_ids)
pulumi.export(NetworkExports.AVAILABILITY_ZONES, list(zones))
pulumi.export(NetworkExports.NAT_PUBLIC_IPS, vpc.nat_public_ips)
pulumi.export(NetworkExports.NAT_GATEWAY_IDS, vpc.nat_gateway_ids)
pulumi.export(NetworkExports.ALARM_TOPIC_ARN, alarm_topic.topic_arn)
pulumi.export(NetworkExports.TICKET_TOPIC_ARN, alarm_topic.ticket_topic_arn)
pulumi.export(NetworkExports.ALARM_TOPIC_KEY_ARN, alarm_topic.key_arn)
pulumi.export(NetworkExports.FLOW_LOG_GROUP_NAME, flow_logs.log_group_name)
pulumi.export(NetworkExports.ENDPOINT_SECURITY_GROUP_ID, endpoints.security_group_id)
pulumi.export(NetworkExports.S3_PREFIX_LIST_ID, endpoints.s3_prefix_list_id)
pulumi.export(NetworkExports.ECS_EXEC_ENDPOINT, endpoints.ecs_exec_endpoint)
