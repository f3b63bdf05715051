"""Services layer: api-gateway, payment-processor and fraud-detector on Fargate, released blue/green."""

import pulumi

from shared.aws_context import AwsContext
from shared.catalogue import CATALOGUE
from shared.config.services import ServicesConfig
from shared.contracts import NetworkOutputs, PlatformOutputs, ServicesExports
from shared.provider import aws_provider
from shared.tags import ServiceTags
from stacks.services.codedeploy import CodeDeployApplication, CodeDeployApplicationArgs
from stacks.services.fargate_service import FargateService, FargateServiceArgs
from stacks.services.security_chain import SecurityChain, SecurityChainArgs
from stacks.services.traffic import ListenerPlan
from stacks.services.urls import downstream_urls, public_url

settings = ServicesConfig.load()
namer = settings.common.namer
provider = aws_provider(settings.common)
aws_context = AwsContext.lookup(provider)
network = NetworkOutputs.from_stack(settings.network_stack)
platform = PlatformOutputs.from_stack(settings.platform_stack)
in_provider = pulumi.ResourceOptions(provider=provider)

chain = SecurityChain(
    "security-chain",
    SecurityChainArgs(
        namer=namer,
        catalogue=CATALOGUE,
        vpc_id=network.vpc_id,
        public_alb_security_group_id=platform.public_alb.security_group_id,
        internal_alb_security_group_id=platform.internal_alb.security_group_id,
    ),
    opts=in_provider,
)
codedeploy = CodeDeployApplication(
    "codedeploy",
    CodeDeployApplicationArgs(namer, ServiceTags("services"), aws_context.account_id, aws_context.partition),
    opts=in_provider,
)
services = {
    spec.name: FargateService(
        spec.name,
        FargateServiceArgs(
            spec=spec,
            settings=settings,
            identity=aws_context,
            network=network,
            platform=platform,
            security_group_id=chain.group_ids[spec.name],
            downstream_urls=downstream_urls(spec, CATALOGUE, platform.namespace_name),
            codedeploy=codedeploy,
        ),
        opts=in_provider,
    )
    for spec in CATALOGUE
}
edge = next(spec for spec in CATALOGUE if not spec.internal)

pulumi.export(ServicesExports.REPOSITORY_URLS, {n: s.repository_url for n, s in services.items()})
pulumi.export(ServicesExports.SERVICE_NAMES, {n: s.service_name for n, s in services.items()})
pulumi.export(ServicesExports.CODEDEPLOY_APPLICATION, codedeploy.name)
pulumi.export(ServicesExports.DEPLOYMENT_GROUPS, {n: s.deployment_group_name for n, s in services.items()})
pulumi.export(
    ServicesExports.INTERNAL_DNS_NAMES,
    {n: s.dns_name for n, s in services.items() if s.dns_name is not None},
)
pulumi.export(
    ServicesExports.PUBLIC_URL,
    public_url(
        ListenerPlan.for_service(edge, settings.traffic.certificate_arn), platform.public_alb.dns_name
    ),
)
