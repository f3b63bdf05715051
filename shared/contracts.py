"""The contract between layers: project names, export names, and typed readers of upstream stacks.

A producer exports with these names and a consumer reads with them, so renaming an output is a change in
one place that both sides' tests see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pulumi

from shared.alarm_routing import AlarmTopics
from shared.errors import ConfigError
from shared.log_archive import LogArchive
from shared.secret_purposes import SecretPurposes as SecretPurposes  # re-exported for the layers
from shared.security_rules import DeclaredEgress, EgressProxyRoute

NETWORK_PROJECT = "payments-network"
PLATFORM_PROJECT = "payments-platform"
SERVICES_PROJECT = "payments-services"
LAYER_PROJECTS = {
    "network": NETWORK_PROJECT,
    "platform": PLATFORM_PROJECT,
    "services": SERVICES_PROJECT,
}

_STACK_NAME = re.compile(r"[\w.-]+/[\w.-]+/[\w.-]+")


class NetworkExports:
    """What `stacks/network` exports."""

    VPC_ID = "vpcId"
    VPC_CIDR = "vpcCidr"
    PUBLIC_SUBNET_IDS = "publicSubnetIds"  # ordered like AVAILABILITY_ZONES
    PRIVATE_SUBNET_IDS = "privateSubnetIds"  # ordered like AVAILABILITY_ZONES
    PRIVATE_ROUTE_TABLE_IDS = "privateRouteTableIds"
    AVAILABILITY_ZONES = "availabilityZones"
    NAT_PUBLIC_IPS = "natPublicIps"  # what the internet sees of the private subnets' traffic
    NAT_GATEWAY_IDS = "natGatewayIds"  # for the dashboard's NAT widgets
    ALARM_TOPIC_ARN = "alarmTopicArn"  # the paging topic: alarms that wake someone (shared/alarm_routing.py)
    TICKET_TOPIC_ARN = "ticketTopicArn"  # the ticket topic: alarms for the next working day
    ALARM_TOPIC_KEY_ARN = "alarmTopicKeyArn"  # its KMS key: a role that publishes needs to use it
    FLOW_LOG_GROUP_NAME = "flowLogGroupName"  # the platform's audit archive subscribes to it (pci)
    # What `complianceProfile: pci` security groups send HTTPS to instead of 0.0.0.0/0: the interface
    # endpoints' group ("" without interface endpoints) and the S3 gateway endpoint's prefix list.
    ENDPOINT_SECURITY_GROUP_ID = "endpointSecurityGroupId"
    S3_PREFIX_LIST_ID = "gatewayPrefixListId"
    # Whether the network has the ssmmessages endpoint ECS Exec sessions use (`ecsExecEndpoint`): a
    # pci platform with `ecsExec` needs it, its tasks having no route to AWS's public endpoints.
    ECS_EXEC_ENDPOINT = "ecsExecEndpoint"
    ALL = (
        VPC_ID,
        VPC_CIDR,
        PUBLIC_SUBNET_IDS,
        PRIVATE_SUBNET_IDS,
        PRIVATE_ROUTE_TABLE_IDS,
        AVAILABILITY_ZONES,
        NAT_PUBLIC_IPS,
        NAT_GATEWAY_IDS,
        ALARM_TOPIC_ARN,
        TICKET_TOPIC_ARN,
        ALARM_TOPIC_KEY_ARN,
        FLOW_LOG_GROUP_NAME,
        ENDPOINT_SECURITY_GROUP_ID,
        S3_PREFIX_LIST_ID,
        ECS_EXEC_ENDPOINT,
    )


class PlatformExports:
    """What `stacks/platform` exports (docs/architecture.md, "Layers")."""

    CLUSTER_NAME = "clusterName"
    CLUSTER_ARN = "clusterArn"
    KMS_KEY_ARN = "kmsKeyArn"
    NAMESPACE_ID = "namespaceId"
    NAMESPACE_NAME = "namespaceName"
    PUBLIC_ALB_ARN = "publicAlbArn"
    PUBLIC_ALB_DNS_NAME = "publicAlbDnsName"
    PUBLIC_ALB_ZONE_ID = "publicAlbZoneId"
    PUBLIC_ALB_SECURITY_GROUP_ID = "publicAlbSecurityGroupId"
    INTERNAL_ALB_ARN = "internalAlbArn"
    INTERNAL_ALB_DNS_NAME = "internalAlbDnsName"
    INTERNAL_ALB_ZONE_ID = "internalAlbZoneId"
    INTERNAL_ALB_SECURITY_GROUP_ID = "internalAlbSecurityGroupId"
    SECRET_ARNS = "secretArns"  # {purpose: ARN}, purposes from SecretPurposes
    ROTATION_SECURITY_GROUP_ID = "secretRotationSecurityGroupId"  # the database must admit it
    # The database's own group (each client adds its ingress rule on it), host name and port. With
    # `database: external` the endpoint is databaseHost and the group is for that database to carry.
    DATABASE_SECURITY_GROUP_ID = "databaseSecurityGroupId"
    DATABASE_ENDPOINT = "databaseEndpoint"
    DATABASE_PORT = "databasePort"
    # RDS's default max_connections for the managed database's class (shared/database_connections.py),
    # an upper bound; 0 when unknown (database: external, or a class that module does not know).
    DATABASE_MAX_CONNECTIONS = "databaseMaxConnections"
    # The managed DB instance's identifier, for the dashboard's database row; "" with `database: external`.
    DATABASE_IDENTIFIER = "databaseIdentifier"
    ECS_EXEC_LOG_GROUP_NAME = "ecsExecLogGroupName"  # "" when ECS Exec is off (`ecsExec`)
    # The public web ACL, for alarms and dashboards (metric namespace AWS/WAFV2, dimension WebACL =
    # the name, Rule = a rule's metric name); empty strings in a stack with waf: false.
    WAF_WEB_ACL_NAME = "wafWebAclName"
    WAF_WEB_ACL_ARN = "wafWebAclArn"
    WAF_METRIC_NAME = "wafMetricName"
    WAF_LOG_GROUP_NAME = "wafLogGroupName"
    # complianceProfile pci: the write-once audit archive, its Firehose stream and the role CloudWatch
    # Logs assumes to put into it (the services layer subscribes its log groups); "" in baseline.
    AUDIT_BUCKET_NAME = "auditBucketName"
    AUDIT_STREAM_ARN = "auditStreamArn"
    AUDIT_SUBSCRIPTION_ROLE_ARN = "auditSubscriptionRoleArn"
    # complianceProfile pci: the egress proxy (`http://egress-proxy.<namespace>:3128`), the HTTPS_PROXY of
    # the services that call third parties, and its tasks' group, where each adds its ingress rule.
    EGRESS_PROXY_URL = "egressProxyUrl"
    EGRESS_PROXY_SECURITY_GROUP_ID = "egressProxySecurityGroupId"
    ALL = (
        CLUSTER_NAME,
        CLUSTER_ARN,
        KMS_KEY_ARN,
        NAMESPACE_ID,
        NAMESPACE_NAME,
        PUBLIC_ALB_ARN,
        PUBLIC_ALB_DNS_NAME,
        PUBLIC_ALB_ZONE_ID,
        PUBLIC_ALB_SECURITY_GROUP_ID,
        INTERNAL_ALB_ARN,
        INTERNAL_ALB_DNS_NAME,
        INTERNAL_ALB_ZONE_ID,
        INTERNAL_ALB_SECURITY_GROUP_ID,
        SECRET_ARNS,
        ROTATION_SECURITY_GROUP_ID,
        DATABASE_SECURITY_GROUP_ID,
        DATABASE_ENDPOINT,
        DATABASE_PORT,
        DATABASE_MAX_CONNECTIONS,
        DATABASE_IDENTIFIER,
        ECS_EXEC_LOG_GROUP_NAME,
        WAF_WEB_ACL_NAME,
        WAF_WEB_ACL_ARN,
        WAF_METRIC_NAME,
        WAF_LOG_GROUP_NAME,
        AUDIT_BUCKET_NAME,
        AUDIT_STREAM_ARN,
        AUDIT_SUBSCRIPTION_ROLE_ARN,
        EGRESS_PROXY_URL,
        EGRESS_PROXY_SECURITY_GROUP_ID,
    )


class ServicesExports:
    """What `stacks/services` exports; per-service values are maps keyed by service name."""

    REPOSITORY_URLS = "repositoryUrls"
    SERVICE_NAMES = "serviceNames"
    CODEDEPLOY_APPLICATION = "codeDeployApplication"
    DEPLOYMENT_GROUPS = "deploymentGroups"
    INTERNAL_DNS_NAMES = "internalDnsNames"
    PUBLIC_URL = "publicUrl"
    SERVES_PLAINTEXT_HTTP = "servesPlaintextHttp"  # true only where allowPlaintextHttp was chosen
    RELEASE_HOOKS = "releaseHooks"  # AppSpec hook name (BeforeInstall, ...) -> Lambda function ARN
    # What releases carry to each service, in DescribeServices' shape (stacks/services/appspec_properties.py)
    APPSPEC_PROPERTIES = "appSpecProperties"
    PENDING_RELEASES = "pendingReleases"  # service -> fields that reach it only with its next release
    TASK_FAMILIES = "taskFamilies"  # service -> task definition family (destroy deregisters its revisions)
    DASHBOARD_NAME = "dashboardName"  # the environment's CloudWatch dashboard
    ALL = (
        REPOSITORY_URLS,
        SERVICE_NAMES,
        CODEDEPLOY_APPLICATION,
        DEPLOYMENT_GROUPS,
        INTERNAL_DNS_NAMES,
        PUBLIC_URL,
        SERVES_PLAINTEXT_HTTP,
        RELEASE_HOOKS,
        APPSPEC_PROPERTIES,
        PENDING_RELEASES,
        TASK_FAMILIES,
        DASHBOARD_NAME,
    )


def upstream_stack_name(key: str, configured: str | None, project: str) -> str:
    """The fully qualified `org/project/stack` to read, from config `key` or by convention.

    The default is the same organization and stack name as the running stack, in the upstream layer's
    project, so `dev` of every layer reads `dev` of the layer below it.
    """
    if configured is None:
        return f"{pulumi.get_organization()}/{project}/{pulumi.get_stack()}"
    if not _STACK_NAME.fullmatch(configured):
        raise ConfigError(
            key,
            configured,
            "must be a fully qualified stack name <org>/<project>/<stack>",
            example=f"organization/{project}/dev",
        )
    return configured


def _absent() -> pulumi.Output[str]:
    """An optional export a stack does not have (or a component test does not give)."""
    return pulumi.Output.from_input("")


@dataclass(frozen=True)
class NetworkOutputs:
    """The network layer's exports, as seen by a downstream layer."""

    vpc_id: pulumi.Output[str]
    vpc_cidr: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]
    availability_zones: pulumi.Output[list[str]]
    nat_public_ips: pulumi.Output[list[str]]
    nat_gateway_ids: pulumi.Output[list[str]]
    alarm_topic_arn: pulumi.Output[str]  # the paging topic
    ticket_topic_arn: pulumi.Output[str]
    alarm_topic_key_arn: pulumi.Output[str]  # the key of both topics
    # Optional (network stacks deployed before they existed do not export them): "" when absent.
    flow_log_group_name: pulumi.Output[str] = field(default_factory=_absent)
    endpoint_security_group_id: pulumi.Output[str] = field(default_factory=_absent)
    s3_prefix_list_id: pulumi.Output[str] = field(default_factory=_absent)
    ecs_exec_endpoint: pulumi.Output[bool] = field(default_factory=lambda: pulumi.Output.from_input(False))

    @property
    def topics(self) -> AlarmTopics:
        """Both topics: each alarm notifies the one of its severity."""
        return AlarmTopics(page=self.alarm_topic_arn, ticket=self.ticket_topic_arn)

    def declared_egress(self) -> DeclaredEgress:
        """The network's endpoints as a `complianceProfile: pci` group's only HTTPS destinations."""
        return DeclaredEgress(
            endpoint_security_group_id=self.endpoint_security_group_id.apply(
                lambda value: _pci_network_value(NetworkExports.ENDPOINT_SECURITY_GROUP_ID, value)
            ),
            s3_prefix_list_id=self.s3_prefix_list_id.apply(
                lambda value: _pci_network_value(NetworkExports.S3_PREFIX_LIST_ID, value)
            ),
        )

    def ecs_exec_endpoint_required(self) -> pulumi.Output[bool]:
        """True once the network says it has the ssmmessages endpoint; else a ConfigError on `ecsExec`.

        For a pci platform with `ecsExec`: its tasks send HTTPS only to the interface endpoints, so
        without this one every ECS Exec session would fail to open.
        """
        return self.ecs_exec_endpoint.apply(_ecs_exec_endpoint_present)

    @classmethod
    def from_stack(cls, stack_name: str) -> NetworkOutputs:
        ref = pulumi.StackReference(stack_name)
        return cls(
            vpc_id=_require(ref, NetworkExports.VPC_ID),
            vpc_cidr=_require(ref, NetworkExports.VPC_CIDR),
            public_subnet_ids=_require(ref, NetworkExports.PUBLIC_SUBNET_IDS),
            private_subnet_ids=_require(ref, NetworkExports.PRIVATE_SUBNET_IDS),
            availability_zones=_require(ref, NetworkExports.AVAILABILITY_ZONES),
            nat_public_ips=_require(ref, NetworkExports.NAT_PUBLIC_IPS),
            nat_gateway_ids=_require(ref, NetworkExports.NAT_GATEWAY_IDS),
            alarm_topic_arn=_require(ref, NetworkExports.ALARM_TOPIC_ARN),
            ticket_topic_arn=_require(ref, NetworkExports.TICKET_TOPIC_ARN),
            alarm_topic_key_arn=_require(ref, NetworkExports.ALARM_TOPIC_KEY_ARN),
            flow_log_group_name=_optional(ref, NetworkExports.FLOW_LOG_GROUP_NAME),
            endpoint_security_group_id=_optional(ref, NetworkExports.ENDPOINT_SECURITY_GROUP_ID),
            s3_prefix_list_id=_optional(ref, NetworkExports.S3_PREFIX_LIST_ID),
            ecs_exec_endpoint=ref.get_output(NetworkExports.ECS_EXEC_ENDPOINT).apply(
                lambda value: value is True
            ),
        )


def _require(ref: pulumi.StackReference, name: str) -> pulumi.Output[Any]:
    return ref.require_output(name)


def _optional(ref: pulumi.StackReference, name: str) -> pulumi.Output[str]:
    return ref.get_output(name).apply(lambda value: str(value or ""))


def _ecs_exec_endpoint_present(present: bool) -> bool:
    if not present:
        raise ConfigError(
            "ecsExec",
            True,
            "with complianceProfile pci needs the network layer's ssmmessages interface endpoint (tasks "
            "send HTTPS only to the VPC's endpoints, and ECS Exec sessions open through ssmmessages), "
            f"and the network stack does not export {NetworkExports.ECS_EXEC_ENDPOINT} true",
            "set network:ecsExecEndpoint=true: in stacks/network: pulumi config set ecsExecEndpoint true "
            "and run pulumi up there first (with plan: --config network:ecsExecEndpoint=true); "
            "or in stacks/platform: pulumi config set ecsExec false",
        )
    return True


def _pci_network_value(name: str, value: str) -> str:
    return _pci_upstream_value("network", name, value)


def _pci_platform_value(name: str, value: str) -> str:
    return _pci_upstream_value("platform", name, value)


def _pci_upstream_value(layer: str, name: str, value: str) -> str:
    if not value:
        raise ConfigError(
            "complianceProfile",
            "pci",
            f"needs the {layer} layer's {name} export, which a {layer} stack makes only with "
            "complianceProfile pci",
            f"pulumi config set complianceProfile pci in stacks/{layer} and run pulumi up there first",
        )
    return value


@dataclass(frozen=True)
class LoadBalancerOutputs:
    """One of the platform's ALBs, as the services layer sees it."""

    arn: pulumi.Output[str]
    dns_name: pulumi.Output[str]
    zone_id: pulumi.Output[str]
    security_group_id: pulumi.Output[str]


@dataclass(frozen=True)
class PlatformOutputs:
    """The platform layer's exports, as seen by the services layer."""

    cluster_name: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    namespace_id: pulumi.Output[str]
    namespace_name: pulumi.Output[str]
    public_alb: LoadBalancerOutputs
    internal_alb: LoadBalancerOutputs
    secret_arns: pulumi.Output[dict[str, str]]  # keyed by SecretPurposes
    database_security_group_id: pulumi.Output[str]  # database clients add their ingress rule on it
    database_port: pulumi.Output[int]
    database_max_connections: pulumi.Output[int]  # 0 when unknown
    database_identifier: pulumi.Output[str]  # "" without a managed database
    ecs_exec_log_group_name: pulumi.Output[str]  # "" when ECS Exec is off

    @property
    def ecs_exec(self) -> pulumi.Output[bool]:
        """Whether the platform set ECS Exec up (cluster configuration and its log group)."""
        return self.ecs_exec_log_group_name.apply(bool)

    waf_web_acl_name: pulumi.Output[str]  # "" when no web ACL is named
    # complianceProfile pci: the archive's stream and CloudWatch Logs' role ("" in baseline).
    audit_stream_arn: pulumi.Output[str] = field(default_factory=_absent)
    audit_subscription_role_arn: pulumi.Output[str] = field(default_factory=_absent)
    # complianceProfile pci: the egress proxy's URL and group ("" in baseline).
    egress_proxy_url: pulumi.Output[str] = field(default_factory=_absent)
    egress_proxy_security_group_id: pulumi.Output[str] = field(default_factory=_absent)

    def egress_proxy(self) -> EgressProxyRoute:
        """The platform's egress proxy, for a `complianceProfile: pci` layer's third-party clients."""
        return EgressProxyRoute(
            url=self.egress_proxy_url.apply(
                lambda value: _pci_platform_value(PlatformExports.EGRESS_PROXY_URL, value)
            ),
            security_group_id=self.egress_proxy_security_group_id.apply(
                lambda value: _pci_platform_value(PlatformExports.EGRESS_PROXY_SECURITY_GROUP_ID, value)
            ),
        )

    def log_archive(self) -> LogArchive:
        """The platform's audit archive, for a `complianceProfile: pci` layer's subscription filters."""
        return LogArchive(
            stream_arn=self.audit_stream_arn.apply(
                lambda value: _pci_platform_value(PlatformExports.AUDIT_STREAM_ARN, value)
            ),
            role_arn=self.audit_subscription_role_arn.apply(
                lambda value: _pci_platform_value(PlatformExports.AUDIT_SUBSCRIPTION_ROLE_ARN, value)
            ),
        )

    @classmethod
    def from_stack(cls, stack_name: str) -> PlatformOutputs:
        ref = pulumi.StackReference(stack_name)
        return cls(
            cluster_name=_require(ref, PlatformExports.CLUSTER_NAME),
            cluster_arn=_require(ref, PlatformExports.CLUSTER_ARN),
            kms_key_arn=_require(ref, PlatformExports.KMS_KEY_ARN),
            namespace_id=_require(ref, PlatformExports.NAMESPACE_ID),
            namespace_name=_require(ref, PlatformExports.NAMESPACE_NAME),
            public_alb=LoadBalancerOutputs(
                arn=_require(ref, PlatformExports.PUBLIC_ALB_ARN),
                dns_name=_require(ref, PlatformExports.PUBLIC_ALB_DNS_NAME),
                zone_id=_require(ref, PlatformExports.PUBLIC_ALB_ZONE_ID),
                security_group_id=_require(ref, PlatformExports.PUBLIC_ALB_SECURITY_GROUP_ID),
            ),
            internal_alb=LoadBalancerOutputs(
                arn=_require(ref, PlatformExports.INTERNAL_ALB_ARN),
                dns_name=_require(ref, PlatformExports.INTERNAL_ALB_DNS_NAME),
                zone_id=_require(ref, PlatformExports.INTERNAL_ALB_ZONE_ID),
                security_group_id=_require(ref, PlatformExports.INTERNAL_ALB_SECURITY_GROUP_ID),
            ),
            secret_arns=_require(ref, PlatformExports.SECRET_ARNS),
            database_security_group_id=_require(ref, PlatformExports.DATABASE_SECURITY_GROUP_ID),
            database_port=_require(ref, PlatformExports.DATABASE_PORT),
            # Optional: platform stacks deployed before it existed do not export it (0: unknown).
            database_max_connections=ref.get_output(PlatformExports.DATABASE_MAX_CONNECTIONS).apply(
                lambda value: int(value or 0)
            ),
            # Optional: platform stacks deployed before it existed do not export it ("": no row).
            database_identifier=ref.get_output(PlatformExports.DATABASE_IDENTIFIER).apply(
                lambda value: str(value or "")
            ),
            # Optional: platform stacks deployed before ECS Exec existed do not export it.
            ecs_exec_log_group_name=ref.get_output(PlatformExports.ECS_EXEC_LOG_GROUP_NAME).apply(
                lambda name: str(name or "")
            ),
            waf_web_acl_name=_require(ref, PlatformExports.WAF_WEB_ACL_NAME),
            audit_stream_arn=_optional(ref, PlatformExports.AUDIT_STREAM_ARN),
            audit_subscription_role_arn=_optional(ref, PlatformExports.AUDIT_SUBSCRIPTION_ROLE_ARN),
            egress_proxy_url=_optional(ref, PlatformExports.EGRESS_PROXY_URL),
            egress_proxy_security_group_id=_optional(ref, PlatformExports.EGRESS_PROXY_SECURITY_GROUP_ID),
        )
