"""Platform layer: KMS key, ECS cluster, Cloud Map namespace, two ALBs, the managed PostgreSQL, secrets
and their rotation, and the alarms and event rules on them; with complianceProfile pci also the audit
archive, the database's backups and the egress proxy."""

import pulumi

from functions.secret_rotation.bootstrap import AUDIT_EXTENSION
from shared import naming
from shared.aws_context import AwsContext
from shared.config.platform import PlatformConfig
from shared.contracts import NetworkOutputs, PlatformExports, SecretPurposes
from shared.database_connections import estimated_max_connections
from shared.log_archive import archive_log_groups
from shared.network_constants import HTTP_PORT, HTTPS_PORT
from shared.provider import aws_provider
from shared.tags import ServiceTags
from stacks.platform.access_logs import AccessLogsBucket, AccessLogsBucketArgs
from stacks.platform.audit_archive import AuditArchive, AuditArchiveArgs
from stacks.platform.cluster import EcsCluster, EcsClusterArgs
from stacks.platform.database_alarms import DatabaseAlarms, DatabaseAlarmsArgs
from stacks.platform.database_backup import DatabaseBackup, DatabaseBackupArgs
from stacks.platform.egress_proxy import EgressProxy, EgressProxyArgs
from stacks.platform.encryption import PlatformKey, PlatformKeyArgs
from stacks.platform.load_balancer import LoadBalancer, LoadBalancerArgs
from stacks.platform.managed_database import (
    LOG_EXPORTS,
    ManagedDatabase,
    ManagedDatabaseArgs,
    database_security_group,
)
from stacks.platform.platform_alarms import PlatformAlarms, PlatformAlarmsArgs
from stacks.platform.platform_secrets import ManagedEndpoint, PlatformSecrets, PlatformSecretsArgs
from stacks.platform.rotation_strategies import strategy_table
from stacks.platform.secret_rotation import DatabaseBootstrap, SecretRotation, SecretRotationArgs
from stacks.platform.service_discovery import private_namespace
from stacks.platform.waf import WebApplicationFirewall, WebApplicationFirewallArgs

HTTP_PORTS = (HTTP_PORT, HTTPS_PORT)

config = PlatformConfig.load()
namer = config.common.namer
tags = ServiceTags("platform")
provider = aws_provider(config.common)
aws_context = AwsContext.lookup(provider)
network = NetworkOutputs.from_stack(config.network_stack)
in_provider = pulumi.ResourceOptions(provider=provider)
public_alb_name = namer.name(naming.ALB, "public")
internal_alb_name = namer.name(naming.ALB, "internal")

key = PlatformKey(
    "platform-key",
    PlatformKeyArgs(
        namer=namer,
        tags=tags,
        context=aws_context,
        deletion_window_days=config.kms_deletion_window_days,
    ),
    opts=in_provider,
)
cluster = EcsCluster(
    "cluster",
    EcsClusterArgs(
        namer=namer,
        tags=tags,
        container_insights=config.container_insights,
        fargate_spot_weight=config.fargate_spot_weight,
        ecs_exec=config.ecs_exec,
        key_arn=key.key_arn,
        log_retention_days=config.log_retention_days,
        exec_endpoint=(
            network.ecs_exec_endpoint_required() if config.common.pci and config.ecs_exec else None
        ),
    ),
    opts=in_provider,
)
namespace = private_namespace(config.namespace_name, network.vpc_id, tags, in_provider)

# complianceProfile pci: the ALBs log into the write-once audit archive, which also keeps a copy of
# every log group for 12 months; baseline: the expiring access-log bucket.
alb_prefixes = (public_alb_name, internal_alb_name)  # each ALB logs under its own name
archive: AuditArchive | None = None
if config.common.pci:
    archive = AuditArchive(
        "audit-archive",
        AuditArchiveArgs(
            namer=namer, tags=tags, context=aws_context, key_arn=key.key_arn, alb_prefixes=alb_prefixes
        ),
        opts=in_provider,
    )
    alb_logs_bucket, alb_logs_ready = archive.bucket_name, archive.policy
else:
    access_logs = AccessLogsBucket(
        "alb-access-logs",
        AccessLogsBucketArgs(
            namer=namer,
            tags=tags,
            context=aws_context,
            prefixes=alb_prefixes,
            expiration_days=config.access_log_expiration_days,
        ),
        opts=in_provider,
    )
    alb_logs_bucket, alb_logs_ready = access_logs.bucket_name, access_logs.policy
public_alb = LoadBalancer(
    "public-alb",
    LoadBalancerArgs(
        namer=namer,
        tags=tags,
        role="public",
        internal=False,
        vpc_id=network.vpc_id,
        vpc_cidr=network.vpc_cidr,
        subnet_ids=network.public_subnet_ids,
        access_logs_bucket=alb_logs_bucket,
        access_logs_ready=alb_logs_ready,
        ingress_cidrs=config.allowed_ingress_cidrs,
        ingress_ports=HTTP_PORTS,
    ),
    opts=in_provider,
)
internal_alb = LoadBalancer(
    "internal-alb",
    LoadBalancerArgs(
        namer=namer,
        tags=tags,
        role="internal",
        internal=True,
        vpc_id=network.vpc_id,
        vpc_cidr=network.vpc_cidr,
        subnet_ids=network.private_subnet_ids,
        access_logs_bucket=alb_logs_bucket,
        access_logs_ready=alb_logs_ready,
        # No ingress here: the services layer adds one rule per listener port and caller.
    ),
    opts=in_provider,
)
waf = (
    WebApplicationFirewall(
        "waf",
        WebApplicationFirewallArgs(
            namer=namer,
            tags=tags,
            waf=config.waf,
            load_balancer_arn=public_alb.arn,
            key_arn=key.key_arn,
            context=aws_context,
        ),
        opts=in_provider,
    )
    if config.waf.enabled
    else None
)

database_group = database_security_group(namer, tags, network.vpc_id, in_provider)
managed = config.database.managed
database = (
    ManagedDatabase(
        "database",
        ManagedDatabaseArgs(
            namer=namer,
            tags=tags,
            config=managed,
            database_name=config.database.name,
            port=config.database.port,
            key_arn=key.key_arn,
            key_deletion_window_days=config.kms_deletion_window_days,
            private_subnet_ids=network.private_subnet_ids,
            security_group_id=database_group.id,
            log_retention_days=config.log_retention_days,
            audit=config.common.pci,
        ),
        opts=in_provider,
    )
    if managed is not None
    else None
)
if database is not None and config.common.pci:
    DatabaseBackup(
        "database-backup",
        DatabaseBackupArgs(
            namer=namer,
            tags=tags,
            context=aws_context,
            key_arn=key.key_arn,
            instance_arn=database.instance.arn,
        ),
        opts=in_provider,
    )

# complianceProfile pci: the only way out to third-party hosts, by name, on 443 (docs/security.md).
egress_proxy: EgressProxy | None = None
if config.egress_proxy is not None:
    egress_proxy = EgressProxy(
        "egress-proxy",
        EgressProxyArgs(
            namer=namer,
            context=aws_context,
            config=config.egress_proxy,
            cluster_arn=cluster.cluster_arn,
            vpc_id=network.vpc_id,
            vpc_cidr=network.vpc_cidr,
            private_subnet_ids=network.private_subnet_ids,
            namespace_id=namespace.id,
            namespace_name=namespace.name,
            key_arn=key.key_arn,
            log_retention_days=config.log_retention_days,
        ),
        opts=in_provider,
    )

secrets = PlatformSecrets(
    "secrets",
    PlatformSecretsArgs(
        namer=namer,
        tags=tags,
        key_arn=key.key_arn,
        database=config.database,
        managed_database=(
            ManagedEndpoint(address=database.address, master_secret_arn=database.master_secret_arn)
            if database is not None
            else None
        ),
        payment_provider_api_key=config.payment_provider_api_key,
        fraud_scoring_api_key=config.fraud_scoring_api_key,
    ),
    opts=in_provider,
)
rotation = SecretRotation(
    "secret-rotation",
    SecretRotationArgs(
        namer=namer,
        tags=tags,
        context=aws_context,
        key_arn=key.key_arn,
        vpc_id=network.vpc_id,
        vpc_cidr=network.vpc_cidr,
        private_subnet_ids=network.private_subnet_ids,
        secrets=secrets.rotated,
        key_rotations=strategy_table(secrets.rotated, config.api_key_rotations),
        # "API key due" notices are tickets (shared/alarm_routing.py)
        alarm_topic_arn=network.ticket_topic_arn,
        alarm_topic_key_arn=network.alarm_topic_key_arn,
        schedule=config.secret_rotation_schedule,
        log_retention_days=config.log_retention_days,
        reserved_concurrency=config.rotation_reserved_concurrency,
        database_port=config.database.port,
        database_tls=config.database.tls,
        database_security_group_id=database_group.id,
        declared_egress=network.declared_egress() if config.common.pci else None,
        egress_proxy=egress_proxy.route if egress_proxy is not None else None,
        direct_hosts=(f".{config.namespace_name}",),
        bootstrap=(
            DatabaseBootstrap(
                master_secret_arn=database.master_secret_arn,
                instance=database.instance,
                instance_resource_id=database.instance.resource_id,
                secret_version=secrets.initial_versions[SecretPurposes.DATABASE_CONNECTION],
                extensions=(AUDIT_EXTENSION,) if config.common.pci else (),
            )
            if database is not None
            else None
        ),
    ),
    opts=in_provider,
)

PlatformAlarms(
    "platform-alarms",
    PlatformAlarmsArgs(
        namer=namer,
        tags=tags,
        region=aws_context.region,
        load_balancers={"public": public_alb.arn, "internal": internal_alb.arn},
        config=config.alarms,
        topics=network.topics,
        web_acl_name=waf.web_acl_name if waf else None,  # the WAF alarm follows the web ACL
        rotation_function_name=rotation.function.name,
    ),
    opts=in_provider,
)

if database is not None and managed is not None:
    DatabaseAlarms(
        "database-alarms",
        DatabaseAlarmsArgs(
            namer=namer,
            tags=tags,
            identifier=database.identifier,
            instance_arn=database.instance.arn,
            database=managed,
            config=config.database_alarms,
            evaluation_minutes=config.alarms.evaluation_minutes,
            topics=network.topics,
        ),
        opts=in_provider,
    )

if archive is not None:
    archive_log_groups(
        namer,
        archive.archive,
        {
            "flow-logs": network.flow_log_group_name,  # the network layer's, read by name
            "secret-rotation": rotation.log_group.name,
            **({"egress-proxy": egress_proxy.log_group.name} if egress_proxy is not None else {}),
            **({"ecs-exec": cluster.exec_log_group.name} if cluster.exec_log_group is not None else {}),
            **({"waf": waf.log_group_name} if waf is not None else {}),
            **(
                {
                    f"rds-{log}": group.name
                    for log, group in zip(LOG_EXPORTS, database.log_groups, strict=True)
                }
                if database is not None
                else {}
            ),
        },
        opts=pulumi.ResourceOptions(parent=archive),
    )

pulumi.export(PlatformExports.CLUSTER_NAME, cluster.cluster_name)
pulumi.export(PlatformExports.CLUSTER_ARN, cluster.cluster_arn)
pulumi.export(PlatformExports.KMS_KEY_ARN, key.key_arn)
pulumi.export(PlatformExports.NAMESPACE_ID, namespace.id)
pulumi.export(PlatformExports.NAMESPACE_NAME, namespace.name)
pulumi.export(PlatformExports.PUBLIC_ALB_ARN, public_alb.arn)
pulumi.export(PlatformExports.PUBLIC_ALB_DNS_NAME, public_alb.dns_name)
pulumi.export(PlatformExports.PUBLIC_ALB_ZONE_ID, public_alb.zone_id)
pulumi.export(PlatformExports.PUBLIC_ALB_SECURITY_GROUP_ID, public_alb.security_group_id)
pulumi.export(PlatformExports.INTERNAL_ALB_ARN, internal_alb.arn)
pulumi.export(PlatformExports.INTERNAL_ALB_DNS_NAME, internal_alb.dns_name)
pulumi.export(PlatformExports.INTERNAL_ALB_ZONE_ID, internal_alb.zone_id)
pulumi.export(PlatformExports.INTERNAL_ALB_SECURITY_GROUP_ID, internal_alb.security_group_id)
pulumi.export(PlatformExports.SECRET_ARNS, secrets.arns)
pulumi.export(PlatformExports.ROTATION_SECURITY_GROUP_ID, rotation.security_group_id)
pulumi.export(PlatformExports.DATABASE_SECURITY_GROUP_ID, database_group.id)
pulumi.export(
    PlatformExports.DATABASE_ENDPOINT, database.address if database is not None else config.database.host
)
pulumi.export(PlatformExports.DATABASE_PORT, config.database.port)
pulumi.export(
    PlatformExports.DATABASE_MAX_CONNECTIONS,
    (estimated_max_connections(managed.instance_class) or 0) if managed is not None else 0,
)
pulumi.export(PlatformExports.DATABASE_IDENTIFIER, database.identifier if database is not None else "")
pulumi.export(
    PlatformExports.ECS_EXEC_LOG_GROUP_NAME,
    cluster.exec_log_group.name if cluster.exec_log_group is not None else "",
)
pulumi.export(PlatformExports.WAF_WEB_ACL_NAME, waf.web_acl_name if waf else "")
pulumi.export(PlatformExports.WAF_WEB_ACL_ARN, waf.web_acl_arn if waf else "")
pulumi.export(PlatformExports.WAF_METRIC_NAME, waf.metric_name if waf else "")
pulumi.export(PlatformExports.WAF_LOG_GROUP_NAME, waf.log_group_name if waf else "")
pulumi.export(PlatformExports.AUDIT_BUCKET_NAME, archive.bucket_name if archive else "")
pulumi.export(PlatformExports.AUDIT_STREAM_ARN, archive.stream_arn if archive else "")
pulumi.export(PlatformExports.AUDIT_SUBSCRIPTION_ROLE_ARN, archive.subscription_role_arn if archive else "")
pulumi.export(PlatformExports.EGRESS_PROXY_URL, egress_proxy.url if egress_proxy else "")
pulumi.export(
    PlatformExports.EGRESS_PROXY_SECURITY_GROUP_ID, egress_proxy.security_group_id if egress_proxy else ""
)
