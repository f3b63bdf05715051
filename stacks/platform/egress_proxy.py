"""EgressProxy: the one way out to third-party hosts under `complianceProfile: pci` (PCI DSS 1.3.2).

Squid on Fargate in the private subnets, named `egress-proxy.<namespace>` in the platform's Cloud Map
namespace (one A record per running task, multivalue answers, ECS registers and deregisters each task
and withdraws an unhealthy one), listening on 3128. It tunnels `CONNECT <host>:443` to the hosts of the
allowlist and refuses everything else (stacks/platform/squid_config.py). Its security group is the only
one in a pci plan that sends 443 to 0.0.0.0/0 (through NAT); it admits 3128 only from its clients'
groups, each client adding its own pair of rules (`shared.security_rules.through_egress_proxy`): the
rotation function in this layer, each third-party client's tasks in the services layer.

Why DNS and not an internal NLB (docs/security.md): clients resolve the name each time they connect, a
stopped task leaves the answer within the record's TTL, and an NLB would add about $16 a month plus
LCUs for nothing a handful of calls need. A client whose cached answer points at a stopped task fails
that one connection and resolves again on retry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.aws_context import AwsContext
from shared.config.platform import EgressProxyConfig
from shared.log_groups import encrypted_log_group
from shared.network_constants import ANYWHERE, EGRESS_PROXY_PORT, HTTPS_PORT
from shared.policies import Statement, service_trust
from shared.role_boundary import role_boundary_arn
from shared.security_rules import PROXY_LABEL, EgressProxyRoute, tcp_egress
from shared.tags import ServiceTags
from stacks.platform.squid_config import COMMAND, CONFIG_VARIABLE, SHUTDOWN_SECONDS, render

PROXY = PROXY_LABEL  # its Service tag, the DNS label in the namespace and part of every name
CONTAINER = "squid"
# The image's `proxy` user (uid and gid 13 in Debian and Ubuntu's base-passwd): not root.
CONTAINER_USER = "13:13"
# The smallest Fargate size (0.25 vCPU, 0.5 GB): Squid tunnelling a few calls a second uses a few MB.
TASK_CPU = 256
TASK_MEMORY = 512
ARCHITECTURE = "X86_64"
STOP_TIMEOUT_SECONDS = SHUTDOWN_SECONDS + 10  # Squid's own shutdown first, then ECS's SIGKILL
# Cloud Map answers with up to eight healthy A records (multivalue) for this long (Cloud Map API, DnsRecord).
RECORD_TTL_SECONDS = 10
CLOUD_MAP_FAILURE_THRESHOLD = 1  # the only value Cloud Map still applies (API, HealthCheckCustomConfig)
ECS_TASKS = "ecs-tasks.amazonaws.com"
# bash opens a TCP connection to Squid's port: the image has bash, and no curl or squidclient is needed.
HEALTH_COMMAND = ("CMD", "/bin/bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{EGRESS_PROXY_PORT}")


@dataclass(frozen=True, kw_only=True)
class EgressProxyArgs:
    """What the egress proxy is made from. No field has a default.

    Fields:
        namer: names every resource with the stack's suffix.
        context: the account, region and partition (role trust, the log driver's region).
        config: `egressProxyImage`, `egressProxyTasks` and the allowlist (EgressProxyConfig).
        cluster_arn: the platform's ECS cluster.
        vpc_id, vpc_cidr: the VPC; Squid admits clients from its CIDR only (the group says it again).
        private_subnet_ids: where the tasks run, spread over the zones.
        namespace_id, namespace_name: the platform's Cloud Map private namespace.
        key_arn: the platform KMS key, which encrypts the log group.
        log_retention_days: `logRetentionDays` of the log group.
    """

    namer: naming.Namer
    context: AwsContext
    config: EgressProxyConfig
    cluster_arn: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    vpc_cidr: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[list[str]]
    namespace_id: pulumi.Input[str]
    namespace_name: pulumi.Input[str]
    key_arn: pulumi.Input[str]
    log_retention_days: int


class EgressProxy(pulumi.ComponentResource):
    """Security group, log group, roles, task definition, Cloud Map name and ECS service of the proxy."""

    def __init__(self, name: str, args: EgressProxyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("payments:platform:EgressProxy", name, None, opts)
        self._args = args
        self._tags = ServiceTags(PROXY)
        namer = args.namer
        child = pulumi.ResourceOptions(parent=self)

        self.security_group = self._security_group()
        self.log_group = encrypted_log_group(
            namer.name(naming.ECS_LOG_GROUP, PROXY),
            retention_days=args.log_retention_days,
            key_arn=args.key_arn,
            tags=self._tags,
            opts=child,
        )
        self.execution_role, self.execution_policy = self._role(
            "execution",
            [
                {
                    # The image is public (ECR Public): pulling it needs no permission; only the logs.
                    "sid": "WriteTheProxyLogs",
                    "effect": "Allow",
                    "actions": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "resources": [self.log_group.arn.apply(lambda arn: f"{arn}:log-stream:*")],
                }
            ],
        )
        # Squid calls no AWS API: the task role allows nothing and denies IAM whatever is attached later.
        self.task_role, self.task_policy = self._role(
            "task", [{"sid": "NeverManageIam", "effect": "Deny", "actions": ["iam:*"], "resources": ["*"]}]
        )
        self.task_definition = self._task_definition()
        self.discovery_service = self._discovery_service()
        self.service = self._service()

        self.security_group_id = self.security_group.id
        self.dns_name = pulumi.Output.concat(PROXY, ".", args.namespace_name)
        self.url = pulumi.Output.concat("http://", self.dns_name, f":{EGRESS_PROXY_PORT}")
        self.service_name = self.service.name
        self.route = EgressProxyRoute(url=self.url, security_group_id=self.security_group_id)
        self.register_outputs(
            {
                "securityGroupId": self.security_group_id,
                "url": self.url,
                "serviceName": self.service_name,
                "logGroupName": self.log_group.name,
            }
        )

    def _security_group(self) -> aws.ec2.SecurityGroup:
        args, tags = self._args, self._tags
        group_name = args.namer.name(naming.SECURITY_GROUP_NAME, PROXY)
        group = aws.ec2.SecurityGroup(
            group_name,
            name=group_name,
            description="Egress proxy tasks: 3128 from its clients only; out to 443 anywhere, through NAT",
            vpc_id=args.vpc_id,
            tags=tags.for_resource(group_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        in_group = pulumi.ResourceOptions(parent=group)
        # The only rule of a pci plan that sends 443 to 0.0.0.0/0: Squid decides which host it reaches.
        # It also pulls the public image and writes the logs (through the endpoint or NAT); DNS to the VPC
        # resolver is not filtered by security groups (VPC user guide, "Security group rules").
        tcp_egress(
            args.namer.name(naming.SECURITY_GROUP_NAME, PROXY, "out", str(HTTPS_PORT), "anywhere"),
            group_id=group.id,
            port=HTTPS_PORT,
            to_cidr=ANYWHERE,
            description="Allowlisted third-party hosts on 443 (Squid checks each CONNECT)",
            tags=tags,
            opts=in_group,
        )
        return group

    def _role(self, purpose: str, statements: list[Statement]) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        args = self._args
        context = args.context
        # ECS tasks of this account and region only (confused deputy; ECS developer guide, "Task IAM role").
        source_arn = f"arn:{context.partition}:ecs:{context.region}:{context.account_id}:*"
        trust = aws.iam.get_policy_document_output(
            statements=[service_trust(ECS_TASKS, context.account_id, source_arn)],
            opts=pulumi.InvokeOutputOptions(parent=self),
        ).json
        role_name = args.namer.name(naming.ROLE, PROXY, purpose)
        role = aws.iam.Role(
            role_name,
            name=role_name,
            assume_role_policy=trust,
            description=f"{PROXY}: {purpose} role",
            permissions_boundary=role_boundary_arn(context),
            tags=self._tags.for_resource(role_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        policy_name = args.namer.name(naming.POLICY, PROXY, purpose)
        policy = aws.iam.RolePolicy(
            policy_name,
            name=policy_name,
            role=role.id,
            policy=aws.iam.get_policy_document_output(
                statements=statements, opts=pulumi.InvokeOutputOptions(parent=self)
            ).json,
            opts=pulumi.ResourceOptions(parent=role),
        )
        return role, policy

    def _task_definition(self) -> aws.ecs.TaskDefinition:
        args = self._args
        family = args.namer.name(naming.TASK_FAMILY, PROXY)
        definitions = pulumi.Output.all(args.vpc_cidr, self.log_group.name).apply(
            lambda values: json.dumps(
                [
                    container_definition(
                        image=args.config.image,
                        config=render(args.config.allowed_hosts, client_cidrs=[str(values[0])]),
                        log_group=str(values[1]),
                        region=args.context.region,
                    )
                ]
            )
        )
        return aws.ecs.TaskDefinition(
            family,
            family=family,
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(TASK_CPU),
            memory=str(TASK_MEMORY),
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX", cpu_architecture=ARCHITECTURE
            ),
            execution_role_arn=self.execution_role.arn,
            task_role_arn=self.task_role.arn,
            container_definitions=definitions,
            tags=self._tags.for_resource(family),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _discovery_service(self) -> aws.servicediscovery.Service:
        args = self._args
        logical = args.namer.name(naming.CLOUD_MAP_SERVICE, PROXY)
        return aws.servicediscovery.Service(
            logical,
            name=naming.dns_label(PROXY, key="service"),
            namespace_id=args.namespace_id,
            description="The egress proxy's tasks (ECS registers each one)",
            dns_config=aws.servicediscovery.ServiceDnsConfigArgs(
                namespace_id=args.namespace_id,
                routing_policy="MULTIVALUE",
                dns_records=[
                    aws.servicediscovery.ServiceDnsConfigDnsRecordArgs(type="A", ttl=RECORD_TTL_SECONDS)
                ],
            ),
            # ECS reports each task's health to Cloud Map (ECS developer guide, "Service discovery").
            # failure_threshold is deprecated (AWS ignores it, always 1) but must be given: the provider
            # drops an all-null block on create (internal/service/servicediscovery/service.go, "[0] !=
            # nil") and the block is ForceNew, so `{}` against the read-back value would replace this
            # service on every update, and its fixed name makes the replacement's create fail
            # (hashicorp/terraform-provider-aws#44285). Given as the typed dict: the Args class logs a
            # deprecation warning into every plan; the provider may still print one on a real preview.
            health_check_custom_config={"failure_threshold": CLOUD_MAP_FAILURE_THRESHOLD},
            force_destroy=True,  # deregisters leftover instances on destroy instead of failing
            tags=self._tags.for_resource(logical),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _service(self) -> aws.ecs.Service:
        args = self._args
        service_name = args.namer.name(naming.ECS_SERVICE, PROXY)
        return aws.ecs.Service(
            service_name,
            name=service_name,
            cluster=args.cluster_arn,
            task_definition=self.task_definition.arn,
            desired_count=args.config.tasks,
            launch_type="FARGATE",
            platform_version="LATEST",
            # A platform component, not an application: ECS's rolling update replaces the tasks (a new
            # allowlist is a new task definition) and rolls back by itself if the new ones fail.
            deployment_controller=aws.ecs.ServiceDeploymentControllerArgs(type="ECS"),
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(
                enable=True, rollback=True
            ),
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=args.private_subnet_ids,
                security_groups=[self.security_group.id],
                assign_public_ip=False,
            ),
            service_registries=aws.ecs.ServiceServiceRegistriesArgs(registry_arn=self.discovery_service.arn),
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            force_delete=True,  # destroyable without scaling to zero first
            wait_for_steady_state=False,
            tags=self._tags.for_resource(service_name),
            opts=pulumi.ResourceOptions(
                parent=self,
                # Tasks cannot start until the execution role may write their logs.
                depends_on=[self.execution_policy, self.task_policy],
            ),
        )


def container_definition(*, image: str, config: str, log_group: str, region: str) -> dict[str, object]:
    """Squid's container: non-root, read-only, no capabilities, health-checked, logged."""
    return {
        "name": CONTAINER,
        "image": image,
        "essential": True,
        "user": CONTAINER_USER,
        "readonlyRootFilesystem": True,
        "entryPoint": list(COMMAND),
        "environment": [{"name": CONFIG_VARIABLE, "value": config}],
        "portMappings": [{"containerPort": EGRESS_PROXY_PORT, "protocol": "tcp", "name": "proxy"}],
        "healthCheck": {
            "command": list(HEALTH_COMMAND),
            "interval": 30,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 10,
        },
        "stopTimeout": STOP_TIMEOUT_SECONDS,
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group,
                "awslogs-region": region,
                "awslogs-stream-prefix": PROXY,
                "mode": "non-blocking",
                "max-buffer-size": "25m",
            },
        },
        "linuxParameters": {"initProcessEnabled": True, "capabilities": {"drop": ["ALL"]}},
    }
