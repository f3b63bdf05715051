"""Services layer: api-gateway, payment-processor and fraud-detector on Fargate, released blue/green."""

import pulumi

from shared.alarm_routing import Runbook
from shared.aws_context import AwsContext
from shared.catalogue import CATALOGUE
from shared.config.services import ServicesConfig
from shared.contracts import NetworkOutputs, PlatformOutputs, ServicesExports
from shared.event_notifications import EventNotification, EventNotificationArgs
from shared.log_archive import archive_log_groups
from shared.provider import aws_provider
from shared.tags import ServiceTags
from stacks.services.codedeploy import CodeDeployApplication, CodeDeployApplicationArgs, application_name
from stacks.services.connection_budget import warn_when_pools_exceed_the_database
from stacks.services.dashboard import OperationsDashboard, OperationsDashboardArgs, ServiceDashboardSource
from stacks.services.deployment_events import deployment_failed_pattern
from stacks.services.environment_alarms import EnvironmentAlarms, EnvironmentAlarmsArgs
from stacks.services.fargate_service import FargateService, FargateServiceArgs
from stacks.services.release_hooks import HookTarget, ReleaseHooks, ReleaseHooksArgs
from stacks.services.security_chain import SecurityChain, SecurityChainArgs
from stacks.services.traffic import ListenerPlan
from stacks.services.urls import downstream_urls, public_url

config = ServicesConfig.load()
namer = config.common.namer
provider = aws_provider(config.common)
aws_context = AwsContext.lookup(provider)
network = NetworkOutputs.from_stack(config.network_stack)
platform = PlatformOutputs.from_stack(config.platform_stack)
in_provider = pulumi.ResourceOptions(provider=provider)
warn_when_pools_exceed_the_database(config, CATALOGUE, platform.database_max_connections)
egress_proxy = platform.egress_proxy() if config.common.pci else None  # third parties only through it

chain = SecurityChain(
    "security-chain",
    SecurityChainArgs(
        namer=namer,
        catalogue=CATALOGUE,
        vpc_id=network.vpc_id,
        public_alb_security_group_id=platform.public_alb.security_group_id,
        internal_alb_security_group_id=platform.internal_alb.security_group_id,
        database_security_group_id=platform.database_security_group_id,
        database_port=platform.database_port,
        declared_egress=network.declared_egress() if config.common.pci else None,
        egress_proxy=egress_proxy,
    ),
    opts=in_provider,
)
codedeploy = CodeDeployApplication(
    "codedeploy",
    CodeDeployApplicationArgs(namer=namer, tags=ServiceTags("services"), context=aws_context),
    opts=in_provider,
)
EventNotification(
    "deployment-failed",
    EventNotificationArgs(
        namer=namer,
        tags=ServiceTags("services"),
        purpose="deployment-failed",
        summary="A release failed or was stopped and rolled back",
        runbook=Runbook.DEPLOYMENT_FAILED,
        pattern=deployment_failed_pattern(application_name(namer)),
        topics=network.topics,
    ),
    opts=in_provider,
)
services = {
    spec.name: FargateService(
        spec.name,
        FargateServiceArgs(
            spec=spec,
            config=config,
            context=aws_context,
            network=network,
            platform=platform,
            security_group_id=chain.group_ids[spec.name],
            downstream_urls=downstream_urls(spec, CATALOGUE, platform.namespace_name),
            codedeploy=codedeploy,
            egress_proxy=egress_proxy,
        ),
        opts=in_provider,
    )
    for spec in CATALOGUE
}
dashboard = OperationsDashboard(
    "dashboard",
    OperationsDashboardArgs(
        namer=namer,
        region=aws_context.region,
        cluster_name=platform.cluster_name,
        services=[
            ServiceDashboardSource(
                name=spec.name,
                ecs_service_name=services[spec.name].service_name,
                load_balancer_arn=(platform.internal_alb if spec.internal else platform.public_alb).arn,
                target_group_arn_suffixes=(
                    services[spec.name].traffic.blue.arn_suffix,
                    services[spec.name].traffic.green.arn_suffix,
                ),
            )
            for spec in CATALOGUE
        ],
        load_balancers=[("public", platform.public_alb.arn), ("internal", platform.internal_alb.arn)],
        nat_gateway_ids=network.nat_gateway_ids,
        waf_web_acl_name=platform.waf_web_acl_name,
        database_identifier=platform.database_identifier,
    ),
    opts=in_provider,
)
edge = next(spec for spec in CATALOGUE if not spec.internal)
hooks = ReleaseHooks(
    "release-hooks",
    ReleaseHooksArgs(
        namer=namer,
        context=aws_context,
        release=config.release,
        log_retention_days=config.task.log_retention_days,
        key_arn=platform.kms_key_arn,
        vpc_id=network.vpc_id,
        private_subnet_ids=network.private_subnet_ids,
        nat_public_ips=network.nat_public_ips,
        public_alb_security_group_id=platform.public_alb.security_group_id,
        internal_alb_security_group_id=platform.internal_alb.security_group_id,
        application_name=codedeploy.name,
        codedeploy_role_name=codedeploy.role.name,
        targets={
            spec.name: HookTarget(
                spec=spec,
                plan=services[spec.name].traffic.plan,
                load_balancer_dns_name=(
                    platform.internal_alb if spec.internal else platform.public_alb
                ).dns_name,
                deployment_group_name=services[spec.name].deployment_group_name,
                repository_arn=services[spec.name].repository.repository_arn,
            )
            for spec in CATALOGUE
        },
        declared_egress=network.declared_egress() if config.common.pci else None,
    ),
    opts=in_provider,
)
if config.common.pci:  # every log group of this layer is copied into the platform's audit archive
    archive_log_groups(
        namer,
        platform.log_archive(),
        {
            **{spec.name: services[spec.name].log_group.name for spec in CATALOGUE},
            **{f"hook-{purpose}": group for purpose, group in hooks.log_group_names.items()},
        },
        opts=in_provider,
    )

EnvironmentAlarms(
    "environment-alarms",
    EnvironmentAlarmsArgs(
        namer=namer,
        tags=ServiceTags("services"),
        cluster_arn=platform.cluster_arn,
        certificate_arn=config.traffic.certificate_arn,
        certificate_expiry_days=config.alarms.certificate_expiry_days,
        hook_function_names=hooks.function_names,
        topics=network.topics,
    ),
    opts=in_provider,
)

pulumi.export(ServicesExports.REPOSITORY_URLS, {n: s.repository_url for n, s in services.items()})
pulumi.export(ServicesExports.SERVICE_NAMES, {n: s.service_name for n, s in services.items()})
pulumi.export(ServicesExports.CODEDEPLOY_APPLICATION, codedeploy.name)
pulumi.export(ServicesExports.DEPLOYMENT_GROUPS, {n: s.deployment_group_name for n, s in services.items()})
pulumi.export(
    ServicesExports.INTERNAL_DNS_NAMES,
    {n: s.dns_name for n, s in services.items() if s.dns_name is not None},
)
pulumi.export(ServicesExports.RELEASE_HOOKS, hooks.function_arns)
pulumi.export(ServicesExports.APPSPEC_PROPERTIES, {n: s.appspec_properties for n, s in services.items()})
pulumi.export(ServicesExports.PENDING_RELEASES, {n: s.pending_release for n, s in services.items()})
pulumi.export(ServicesExports.TASK_FAMILIES, {n: s.task_family for n, s in services.items()})
pulumi.export(ServicesExports.DASHBOARD_NAME, dashboard.dashboard_name)
pulumi.export(
    ServicesExports.PUBLIC_URL,
    public_url(ListenerPlan.for_service(edge, config.traffic.certificate_arn), platform.public_alb.dns_name),
)
pulumi.export(ServicesExports.SERVES_PLAINTEXT_HTTP, config.traffic.serves_plaintext)
