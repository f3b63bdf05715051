"""FargateService: everything one catalogue entry needs to run, scale and be released blue/green.

The same component builds api-gateway, payment-processor and fraud-detector; what differs between them
comes from the catalogue (ports, ALB, callees, secrets) and the stack config, never from code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.aws_context import AwsContext
from shared.catalogue import ServiceSpec
from shared.config.services import ServicesConfig
from shared.contracts import LoadBalancerOutputs, NetworkOutputs, PlatformOutputs
from shared.log_groups import encrypted_log_group
from shared.security_rules import EgressProxyRoute
from shared.tags import ServiceTags
from stacks.services.appspec_properties import (
    RELEASE_CARRIES,
    SET_AT_CREATION,
    AppSpecPropertiesArgs,
    CapacityShare,
    TaskDefinitions,
    desired,
    pending,
)
from stacks.services.codedeploy import CodeDeployApplication, DeploymentGroupArgs, deployment_group
from stacks.services.discovery import ServiceDnsName, ServiceDnsNameArgs
from stacks.services.iam import ServiceRoles, ServiceRolesArgs
from stacks.services.oncall_alarms import OnCallAlarms, OnCallAlarmsArgs
from stacks.services.release_alarms import DeploymentAlarms, DeploymentAlarmsArgs
from stacks.services.repository import ServiceRepository, ServiceRepositoryArgs
from stacks.services.scaling import ServiceScaling, ServiceScalingArgs
from stacks.services.task_definition import ContainerInputs, container_definition, volumes
from stacks.services.traffic import BlueGreenTraffic, BlueGreenTrafficArgs

# After creation CodeDeploy owns these: releases register revisions, swap target groups and
# Application Auto Scaling sets the count (docs/releasing.md).
CODEDEPLOY_OWNS = ["taskDefinition", "loadBalancers", "desiredCount"]


@dataclass(frozen=True, kw_only=True)
class FargateServiceArgs:
    """What one service is made from. No field has a default.

    Fields:
        spec: the catalogue entry: name, ports, public or internal, callees, secrets.
        config: the services layer's config (task size, scaling, traffic, release, ...).
        context: the account, region and partition (roles, the log driver's region).
        network: the network layer's exports (VPC, private subnets, alarm topic).
        platform: the platform layer's exports (cluster, key, ALBs, namespace, secrets).
        security_group_id: the service's group in the SecurityChain.
        downstream_urls: env var -> base URL of each callee.
        codedeploy: the environment's CodeDeploy application the deployment group belongs to.
        egress_proxy: `complianceProfile: pci`: the platform's egress proxy, whose URL a third-party
            client's container gets as HTTPS_PROXY. Default None: no proxy.
    """

    spec: ServiceSpec
    config: ServicesConfig
    context: AwsContext
    network: NetworkOutputs
    platform: PlatformOutputs
    security_group_id: pulumi.Input[str]
    downstream_urls: Mapping[str, pulumi.Input[str]]
    codedeploy: CodeDeployApplication
    egress_proxy: EgressProxyRoute | None = None

    @property
    def load_balancer(self) -> LoadBalancerOutputs:
        return self.platform.internal_alb if self.spec.internal else self.platform.public_alb


class FargateService(pulumi.ComponentResource):
    """ECR, logs, roles, task definition, target groups, listeners, DNS, ECS service, scaling, alarms and
    the CodeDeploy deployment group of one service."""

    def __init__(
        self, name: str, args: FargateServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:services:FargateService", name, None, opts)
        spec, config = args.spec, args.config
        namer = config.common.namer
        tags = ServiceTags(spec.name)
        child = pulumi.ResourceOptions(parent=self)

        self.repository = ServiceRepository(
            f"{name}-repository",
            ServiceRepositoryArgs(
                namer=namer,
                tags=tags,
                service=spec.name,
                key_arn=args.platform.kms_key_arn,
                untagged_expiry_days=config.repository.untagged_expiry_days,
                tagged_images_kept=config.repository.tagged_images_kept,
            ),
            opts=child,
        )
        self.log_group = encrypted_log_group(
            namer.name(naming.ECS_LOG_GROUP, spec.name),
            retention_days=config.task.log_retention_days,
            key_arn=args.platform.kms_key_arn,
            tags=tags,
            opts=child,
        )
        secret_arns = {env: _secret_arn(args.platform, purpose) for env, purpose in spec.secrets.items()}
        self.roles = ServiceRoles(
            f"{name}-roles",
            ServiceRolesArgs(
                namer=namer,
                tags=tags,
                service=spec.name,
                context=args.context,
                repository_arn=self.repository.repository_arn,
                log_group_arn=self.log_group.arn,
                key_arn=args.platform.kms_key_arn,
                secret_arns=list(secret_arns.values()),
                exec_log_group_name=args.platform.ecs_exec_log_group_name,
            ),
            opts=child,
        )
        self.task_definition = self._task_definition(args, secret_arns)
        self.traffic = BlueGreenTraffic(
            f"{name}-traffic",
            BlueGreenTrafficArgs(
                namer=namer,
                tags=tags,
                spec=spec,
                vpc_id=args.network.vpc_id,
                load_balancer_arn=args.load_balancer.arn,
                certificate_arn=config.traffic.certificate_arn,
                deregistration_delay_seconds=config.traffic.deregistration_delay_seconds,
                target_health=config.traffic.target_health,
            ),
            opts=child,
        )
        self.dns: ServiceDnsName | None = None
        if spec.internal:
            self.dns = ServiceDnsName(
                f"{name}-dns",
                ServiceDnsNameArgs(
                    namer=namer,
                    tags=tags,
                    service=spec.name,
                    namespace_id=args.platform.namespace_id,
                    namespace_name=args.platform.namespace_name,
                    load_balancer_dns_name=args.load_balancer.dns_name,
                ),
                opts=child,
            )
        self.appspec_properties_args = AppSpecPropertiesArgs(
            subnets=args.network.private_subnet_ids,
            security_groups=[args.security_group_id, *config.task_security_group_ids],
            platform_version=config.platform_version,
            strategy=_strategy(config.fargate_spot_weight),
            execute_command=args.platform.ecs_exec,
            task_definition_arn=self.task_definition.arn,
        )
        self.service = self._ecs_service(args)
        self.appspec_properties = desired(self.appspec_properties_args)
        self.pending_release = pending(
            spec.name,
            self.appspec_properties,
            self.service,
            self.appspec_properties_args.execute_command,
            TaskDefinitions.of(self.task_definition, self.service, self),
        )
        self.scaling = ServiceScaling(
            f"{name}-scaling",
            ServiceScalingArgs(
                namer=namer,
                tags=tags,
                service=spec.name,
                cluster_name=args.platform.cluster_name,
                ecs_service_name=self.service.name,
                scaling=config.scaling,
            ),
            opts=child,
        )
        self.alarms = DeploymentAlarms(
            f"{name}-alarms",
            DeploymentAlarmsArgs(
                namer=namer,
                tags=tags,
                service=spec.name,
                load_balancer_arn=args.load_balancer.arn,
                blue_target_group_arn_suffix=self.traffic.blue.arn_suffix,
                green_target_group_arn_suffix=self.traffic.green.arn_suffix,
                traffic=config.traffic,
                edge=not spec.internal,
            ),
            opts=child,
        )
        self.oncall_alarms = OnCallAlarms(
            f"{name}-oncall-alarms",
            OnCallAlarmsArgs(
                namer=namer,
                tags=tags,
                service=spec.name,
                cluster_name=args.platform.cluster_name,
                ecs_service_name=self.service.name,
                load_balancer_arn=args.load_balancer.arn,
                target_group_arn_suffixes=(self.traffic.blue.arn_suffix, self.traffic.green.arn_suffix),
                scaling=config.scaling,
                config=config.alarms,
                edge=not spec.internal,
                topics=args.network.topics,
            ),
            opts=child,
        )
        self.deployment_group = deployment_group(
            DeploymentGroupArgs(
                namer=namer,
                tags=tags,
                service=spec.name,
                application=args.codedeploy,
                release=config.release,
                cluster_name=args.platform.cluster_name,
                ecs_service_name=self.service.name,
                target_group_names=(self.traffic.blue.name, self.traffic.green.name),
                production_listener_arn=self.traffic.production_listener.arn,
                test_listener_arn=self.traffic.test_listener.arn,
                alarm_names=self.alarms.alarm_names,
            ),
            # CreateDeploymentGroup checks the role's permissions: attach the policy first.
            pulumi.ResourceOptions(parent=self, depends_on=[args.codedeploy.role_policy]),
        )

        self.task_family = self.task_definition.family
        self.repository_url = self.repository.repository_url
        self.service_name = self.service.name
        self.deployment_group_name = self.deployment_group.deployment_group_name
        self.dns_name: pulumi.Output[str] | None = self.dns.dns_name if self.dns else None
        self.register_outputs(
            {
                "repositoryUrl": self.repository_url,
                "serviceName": self.service_name,
                "deploymentGroupName": self.deployment_group_name,
                "dnsName": self.dns_name,
                "appSpecProperties": self.appspec_properties,
                "pendingRelease": self.pending_release,
            }
        )

    def _image(self, args: FargateServiceArgs) -> pulumi.Output[str]:
        source = args.config.images.source(args.spec.name)
        if source.reference is not None:
            return pulumi.Output.from_input(source.reference)
        return pulumi.Output.concat(self.repository.repository_url, ":", source.tag or "")

    def _task_definition(
        self, args: FargateServiceArgs, secret_arns: Mapping[str, pulumi.Output[str]]
    ) -> aws.ecs.TaskDefinition:
        spec, task = args.spec, args.config.task
        family = args.config.common.namer.name(naming.TASK_FAMILY, spec.name)
        env_names = list(secret_arns)
        url_names = list(args.downstream_urls)
        resolved = pulumi.Output.all(
            self._image(args),
            self.log_group.name,
            args.context.region,
            pulumi.Output.all(*secret_arns.values()),
            pulumi.Output.all(*args.downstream_urls.values()),
            args.platform.ecs_exec,
            args.egress_proxy.url if args.egress_proxy is not None else "",
            args.platform.namespace_name,
            args.platform.internal_alb.dns_name,
        )
        definitions = resolved.apply(
            lambda values: json.dumps(
                [
                    container_definition(
                        spec,
                        ContainerInputs(
                            image=values[0],
                            log_group=values[1],
                            region=values[2],
                            secret_arns=dict(zip(env_names, values[3], strict=True)),
                            downstream_urls=dict(zip(url_names, values[4], strict=True)),
                            health_check=task.health_check,
                            stop_timeout_seconds=task.stop_timeout_seconds,
                            execute_command=bool(values[5]),
                            settings=task.container_settings,
                            egress_proxy_url=str(values[6]),
                            direct_hosts=(f".{values[7]}", str(values[8])),
                        ),
                    )
                ]
            )
        )
        return aws.ecs.TaskDefinition(
            family,
            family=family,
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(task.cpu),  # the API takes strings
            memory=str(task.memory),
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX", cpu_architecture=task.architecture
            ),
            execution_role_arn=self.roles.execution_role_arn,
            task_role_arn=self.roles.task_role_arn,
            container_definitions=definitions,
            volumes=args.platform.ecs_exec.apply(  # task storage: /tmp, and ECS Exec's paths when on
                lambda on: [{"name": name} for name in volumes(bool(on))]
            ),
            tags=ServiceTags(spec.name).for_resource(family),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _ecs_service(self, args: FargateServiceArgs) -> aws.ecs.Service:
        spec, config = args.spec, args.config
        service_name = config.common.namer.name(naming.ECS_SERVICE, spec.name)
        release = self.appspec_properties_args
        return aws.ecs.Service(
            service_name,
            name=service_name,
            cluster=args.platform.cluster_arn,
            task_definition=self.task_definition.arn,
            desired_count=config.scaling.desired_count,
            # The release command repeats this strategy in every AppSpec, or CodeDeploy drops it
            # (aws/containers-roadmap#1752).
            capacity_provider_strategies=[
                aws.ecs.ServiceCapacityProviderStrategyArgs(
                    capacity_provider=share.capacity_provider, weight=share.weight, base=share.base or None
                )
                for share in release.strategy
            ],
            platform_version=release.platform_version,
            deployment_controller=aws.ecs.ServiceDeploymentControllerArgs(type="CODE_DEPLOY"),
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=release.subnets,
                security_groups=list(release.security_groups),
                assign_public_ip=False,
            ),
            enable_execute_command=release.execute_command,
            load_balancers=[
                aws.ecs.ServiceLoadBalancerArgs(
                    target_group_arn=self.traffic.blue.arn,
                    container_name=spec.name,
                    container_port=spec.container_port,
                )
            ],
            health_check_grace_period_seconds=config.traffic.health_check_grace_period_seconds,
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            force_delete=True,  # destroyable without scaling to zero first
            wait_for_steady_state=False,  # the first image may not be pushed yet (docs/releasing.md)
            tags=ServiceTags(spec.name).for_resource(service_name),
            opts=pulumi.ResourceOptions(
                parent=self,
                # What UpdateService refuses on a CODE_DEPLOY service reaches it through a release.
                ignore_changes=[*CODEDEPLOY_OWNS, *RELEASE_CARRIES, *SET_AT_CREATION],
                # "The target group does not have an associated load balancer" until the listeners
                # exist; tasks cannot start until their roles can pull images and read secrets. After
                # an odd number of releases the tasks sit in green: the service goes before it.
                depends_on=[
                    *self.traffic.listeners,
                    self.traffic.green,
                    self.roles.execution_policy,
                    self.roles.task_policy,
                ],
            ),
        )


def _strategy(fargate_spot_weight: int) -> list[CapacityShare]:
    """FARGATE with weight 1, plus FARGATE_SPOT at `fargate_spot_weight` when it is above 0."""
    shares = [CapacityShare(capacity_provider="FARGATE", weight=1)]
    if fargate_spot_weight:
        shares.append(CapacityShare(capacity_provider="FARGATE_SPOT", weight=fargate_spot_weight))
    return shares


def _secret_arn(platform: PlatformOutputs, purpose: str) -> pulumi.Output[str]:
    """The ARN of the platform secret kept for `purpose` (a SecretPurposes value)."""
    return platform.secret_arns.apply(lambda arns: str(arns[purpose]))
