"""The CodeDeploy application all three services release through, its service role, and one
deployment group per service (blue/green with traffic control and automatic rollback).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.aws_context import AwsContext
from shared.config.services import ReleaseConfig
from shared.policies import service_trust
from shared.role_boundary import role_boundary_arn
from shared.tags import ServiceTags

CODEDEPLOY = "codedeploy.amazonaws.com"
# AWS's managed policy for ECS blue/green; it has no `service-role/` path (AWS managed policy
# reference, AWSCodeDeployRoleForECS).
ECS_BLUE_GREEN_POLICY = "AWSCodeDeployRoleForECS"
ROLLBACK_EVENTS = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]


def application_name(namer: naming.Namer) -> str:
    """The one CodeDeploy application of the environment (the deployment events rule matches it)."""
    return namer.name(naming.CODEDEPLOY_APP, "payments")


@dataclass(frozen=True, kw_only=True)
class CodeDeployApplicationArgs:
    """What the CodeDeploy application and its service role are made from. No field has a default.

    Fields:
        namer: names every resource with the stack's suffix.
        tags: the Service tag (and the rest) for each resource.
        context: the account CodeDeploy's role trust is confined to, and the partition of the
            managed policy's ARN.
    """

    namer: naming.Namer
    tags: ServiceTags
    context: AwsContext


class CodeDeployApplication(pulumi.ComponentResource):
    """One ECS CodeDeploy application and the role CodeDeploy acts with."""

    def __init__(
        self, name: str, args: CodeDeployApplicationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:services:CodeDeployApplication", name, None, opts)
        app_name = application_name(args.namer)
        self.application = aws.codedeploy.Application(
            app_name,
            name=app_name,
            compute_platform="ECS",
            tags=args.tags.for_resource(app_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        role_name = args.namer.name(naming.ROLE, "codedeploy")
        self.role = aws.iam.Role(
            role_name,
            name=role_name,
            assume_role_policy=aws.iam.get_policy_document_output(
                statements=[service_trust(CODEDEPLOY, args.context.account_id)],
                opts=pulumi.InvokeOutputOptions(parent=self),
            ).json,
            description="CodeDeploy: shifts ECS traffic between task sets during releases",
            permissions_boundary=role_boundary_arn(args.context),
            tags=args.tags.for_resource(role_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.role_policy = aws.iam.RolePolicyAttachment(
            args.namer.name(naming.POLICY_ATTACHMENT, "codedeploy", "ecs"),
            role=self.role.name,
            policy_arn=pulumi.Output.concat(
                "arn:", args.context.partition, ":iam::aws:policy/", ECS_BLUE_GREEN_POLICY
            ),
            opts=pulumi.ResourceOptions(parent=self.role),
        )
        self.name = self.application.name
        self.role_arn = self.role.arn
        self.register_outputs({"name": self.name, "roleArn": self.role_arn})


@dataclass(frozen=True, kw_only=True)
class DeploymentGroupArgs:
    """What one service's blue/green deployment group is made from. No field has a default.

    Fields:
        namer: names the group with the stack's suffix.
        tags: the Service tag (and the rest).
        service: the catalogue name; the group is `dg-<service>-<suffix>`.
        application: the environment's CodeDeploy application and its role.
        release: the `deployment*`/`release*` keys: deployment configuration and termination wait.
        cluster_name: the cluster's name (CodeDeploy's ECS service reference takes names).
        ecs_service_name: the ECS service's name.
        target_group_names: (blue, green), by name: the API takes names, not ARNs.
        production_listener_arn: the listener that carries production traffic.
        test_listener_arn: the listener the smoke test calls before traffic shifts.
        alarm_names: the alarms that stop a release and roll it back.
    """

    namer: naming.Namer
    tags: ServiceTags
    service: str
    application: CodeDeployApplication
    release: ReleaseConfig
    cluster_name: pulumi.Input[str]
    ecs_service_name: pulumi.Input[str]
    target_group_names: tuple[pulumi.Input[str], pulumi.Input[str]]
    production_listener_arn: pulumi.Input[str]
    test_listener_arn: pulumi.Input[str]
    alarm_names: Sequence[pulumi.Input[str]]


def deployment_group(
    args: DeploymentGroupArgs, opts: pulumi.ResourceOptions
) -> aws.codedeploy.DeploymentGroup:
    """The service's blue/green deployment group."""
    group_name = args.namer.name(naming.DEPLOYMENT_GROUP, args.service)
    cd = aws.codedeploy
    return cd.DeploymentGroup(
        group_name,
        app_name=args.application.name,
        deployment_group_name=group_name,
        service_role_arn=args.application.role_arn,
        deployment_config_name=args.release.deployment_config,
        deployment_style=cd.DeploymentGroupDeploymentStyleArgs(
            deployment_type="BLUE_GREEN", deployment_option="WITH_TRAFFIC_CONTROL"
        ),
        blue_green_deployment_config=cd.DeploymentGroupBlueGreenDeploymentConfigArgs(
            deployment_ready_option=cd.DeploymentGroupBlueGreenDeploymentConfigDeploymentReadyOptionArgs(
                action_on_timeout="CONTINUE_DEPLOYMENT"  # the test hooks gate the shift, not a human
            ),
            terminate_blue_instances_on_deployment_success=cd.DeploymentGroupBlueGreenDeploymentConfigTerminateBlueInstancesOnDeploymentSuccessArgs(
                action="TERMINATE", termination_wait_time_in_minutes=args.release.termination_wait_minutes
            ),
        ),
        ecs_service=cd.DeploymentGroupEcsServiceArgs(
            cluster_name=args.cluster_name, service_name=args.ecs_service_name
        ),
        load_balancer_info=cd.DeploymentGroupLoadBalancerInfoArgs(
            target_group_pair_info=cd.DeploymentGroupLoadBalancerInfoTargetGroupPairInfoArgs(
                # The production route takes exactly one listener ARN.
                prod_traffic_route=cd.DeploymentGroupLoadBalancerInfoTargetGroupPairInfoProdTrafficRouteArgs(
                    listener_arns=[args.production_listener_arn]
                ),
                test_traffic_route=cd.DeploymentGroupLoadBalancerInfoTargetGroupPairInfoTestTrafficRouteArgs(
                    listener_arns=[args.test_listener_arn]
                ),
                target_groups=[
                    cd.DeploymentGroupLoadBalancerInfoTargetGroupPairInfoTargetGroupArgs(name=name)
                    for name in args.target_group_names
                ],
            )
        ),
        auto_rollback_configuration=cd.DeploymentGroupAutoRollbackConfigurationArgs(
            enabled=True, events=ROLLBACK_EVENTS
        ),
        alarm_configuration=cd.DeploymentGroupAlarmConfigurationArgs(
            enabled=True, alarms=list(args.alarm_names), ignore_poll_alarm_failure=False
        ),
        tags=args.tags.for_resource(group_name),
        opts=opts,
    )
