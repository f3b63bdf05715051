"""The ECS cluster: Container Insights, Fargate capacity providers, and ECS Exec when enabled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.log_groups import encrypted_log_group
from shared.tags import ServiceTags

FARGATE = "FARGATE"
FARGATE_SPOT = "FARGATE_SPOT"
FARGATE_WEIGHT = 100  # the Spot weight is a share against this


@dataclass(frozen=True, kw_only=True)
class EcsClusterArgs:
    """What the cluster is made from. No field has a default.

    Fields:
        namer: names every resource with the stack's suffix.
        tags: the Service tag (and the rest) for each resource.
        container_insights: `containerInsights`, "enabled" or "enhanced".
        fargate_spot_weight: `fargateSpotWeight`; 0 runs FARGATE only, else FARGATE_SPOT's weight
            against FARGATE's 100 in the default strategy.
        ecs_exec: `ecsExec`; sessions are then encrypted with `key_arn` and logged to an encrypted
            `/ecs/exec-<suffix>` group.
        key_arn: the platform KMS key.
        log_retention_days: retention of the exec log group.
        exec_endpoint: with `ecsExec` under `complianceProfile: pci`, the network's answer that it has
            the ssmmessages endpoint (`NetworkOutputs.ecs_exec_endpoint_required`, a ConfigError
            otherwise); the exec configuration waits for it. None: not checked (baseline tasks reach
            Session Manager through NAT).
    """

    namer: naming.Namer
    tags: ServiceTags
    container_insights: Literal["enabled", "enhanced"]
    fargate_spot_weight: int
    ecs_exec: bool
    key_arn: pulumi.Input[str]
    log_retention_days: int
    exec_endpoint: pulumi.Output[bool] | None


class EcsCluster(pulumi.ComponentResource):
    """The cluster every service of this stack runs in."""

    def __init__(self, name: str, args: EcsClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("payments:platform:EcsCluster", name, None, opts)
        names = args.namer
        child = pulumi.ResourceOptions(parent=self)
        cluster_name = names.name(naming.ECS_CLUSTER)

        configuration = None
        self.exec_log_group: aws.cloudwatch.LogGroup | None = None
        if args.ecs_exec:
            self.exec_log_group = encrypted_log_group(
                names.name(naming.ECS_LOG_GROUP, "exec"),
                retention_days=args.log_retention_days,
                key_arn=args.key_arn,
                tags=args.tags,
                opts=child,
            )
            session_key: pulumi.Input[str] = args.key_arn
            if args.exec_endpoint is not None:  # a refused check fails the stack here, before the cluster
                session_key = pulumi.Output.all(args.key_arn, args.exec_endpoint).apply(lambda both: both[0])
            configuration = aws.ecs.ClusterConfigurationArgs(
                execute_command_configuration=aws.ecs.ClusterConfigurationExecuteCommandConfigurationArgs(
                    kms_key_id=session_key,  # encrypts the session's data channel
                    logging="OVERRIDE",
                    log_configuration=aws.ecs.ClusterConfigurationExecuteCommandConfigurationLogConfigurationArgs(
                        cloud_watch_log_group_name=self.exec_log_group.name,
                        cloud_watch_encryption_enabled=True,
                    ),
                )
            )

        self.cluster = aws.ecs.Cluster(
            cluster_name,
            name=cluster_name,
            settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value=args.container_insights)],
            configuration=configuration,
            tags=args.tags.for_resource(cluster_name),
            opts=child,
        )

        strategies = [
            aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs(
                capacity_provider=FARGATE, weight=FARGATE_WEIGHT, base=0
            )
        ]
        if args.fargate_spot_weight > 0:
            strategies.append(
                aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs(
                    capacity_provider=FARGATE_SPOT, weight=args.fargate_spot_weight
                )
            )
        self.capacity_providers = aws.ecs.ClusterCapacityProviders(
            cluster_name,
            cluster_name=self.cluster.name,
            capacity_providers=[FARGATE, FARGATE_SPOT],
            default_capacity_provider_strategies=strategies,
            opts=pulumi.ResourceOptions(parent=self.cluster),
        )

        self.cluster_name = self.cluster.name
        self.cluster_arn = self.cluster.arn
        self.register_outputs({"clusterName": self.cluster_name, "clusterArn": self.cluster_arn})
