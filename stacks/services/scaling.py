"""One service's auto scaling: a scalable target and target tracking on CPU and on memory."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.config.services import ScalingConfig
from shared.tags import ServiceTags

ECS_NAMESPACE = "ecs"
DESIRED_COUNT = "ecs:service:DesiredCount"
# Application Auto Scaling's predefined ECS metrics (PredefinedMetricSpecification).
METRICS = {"cpu": "ECSServiceAverageCPUUtilization", "memory": "ECSServiceAverageMemoryUtilization"}


@dataclass(frozen=True, kw_only=True)
class ServiceScalingArgs:
    """What one service's auto scaling is made from. No field has a default.

    Fields:
        namer: names every resource with the stack's suffix.
        tags: the Service tag (and the rest) for each resource.
        service: the catalogue name of the scaled service.
        cluster_name: the cluster's *name* (the resource id is `service/<cluster>/<service>`).
        ecs_service_name: the ECS service's name.
        scaling: bounds, targets and cooldowns (`minCapacity`, `maxCapacity`, `cpuTargetPercent`, ...).
    """

    namer: naming.Namer
    tags: ServiceTags
    service: str
    cluster_name: pulumi.Input[str]
    ecs_service_name: pulumi.Input[str]
    scaling: ScalingConfig


class ServiceScaling(pulumi.ComponentResource):
    """Scales the ECS service's desired count between min and max at the configured targets."""

    def __init__(
        self, name: str, args: ServiceScalingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:services:ServiceScaling", name, None, opts)
        config = args.scaling
        target_name = args.namer.name(naming.SCALING_POLICY, args.service, "target")
        self.target = aws.appautoscaling.Target(
            target_name,
            service_namespace=ECS_NAMESPACE,
            scalable_dimension=DESIRED_COUNT,
            # The cluster and service *names*, not ARNs (Application Auto Scaling API, ResourceId).
            resource_id=pulumi.Output.concat("service/", args.cluster_name, "/", args.ecs_service_name),
            min_capacity=config.min_capacity,
            max_capacity=config.max_capacity,
            tags=args.tags.for_resource(target_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        targets = {"cpu": config.cpu_target_percent, "memory": config.memory_target_percent}
        self.policies = [self._policy(args, metric, float(percent)) for metric, percent in targets.items()]
        self.register_outputs({"resourceId": self.target.resource_id})

    def _policy(self, args: ServiceScalingArgs, metric: str, percent: float) -> aws.appautoscaling.Policy:
        policy_name = args.namer.name(naming.SCALING_POLICY, args.service, metric)
        return aws.appautoscaling.Policy(
            policy_name,
            name=policy_name,
            policy_type="TargetTrackingScaling",
            service_namespace=self.target.service_namespace,
            scalable_dimension=self.target.scalable_dimension,
            resource_id=self.target.resource_id,
            target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=percent,
                predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type=METRICS[metric]
                ),
                scale_in_cooldown=args.scaling.scale_in_cooldown_seconds,
                scale_out_cooldown=args.scaling.scale_out_cooldown_seconds,
                disable_scale_in=False,
            ),
            opts=pulumi.ResourceOptions(parent=self.target),
        )
