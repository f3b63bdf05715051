"""The ECS cluster: Container Insights, Fargate capacity providers, and ECS Exec when enabled."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.log_groups import encrypted_log_group
from shared.tags import ServiceTags

FARGATE = "FARGATE"
FARGATE_SPOT = "FARGATE_SPOT"
FARGATE_WEIGHT = 100  # the Spot weight is a share against this


@dataclass(frozen=True)
class EcsClusterArgs:
    namer: naming.Namer
    tags: ServiceTags
    container_insights: str  # "enabled" or "enhanced"
    fargate_spot_weight: int  # 0: FARGATE only; else FARGATE_SPOT's weight against FARGATE's 100
    ecs_exec: bool  # ECS Exec sessions encrypted with the key and logged to an encrypted group
    key_arn: pulumi.Input[str]
    log_retention_days: int


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
            configuration = aws.ecs.ClusterConfigurationArgs(
                execute_command_configuration=aws.ecs.ClusterConfigurationExecuteCommandConfigurationArgs(
                    kms_key_id=args.key_arn,  # encrypts the session's data channel
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
