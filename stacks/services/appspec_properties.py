"""The service settings only a release can change, and which services wait for one.

On a service with the CODE_DEPLOY deployment controller, UpdateService changes only "the desired count,
deployment configuration, health check grace period, task placement constraints and strategies, enable
ECS managed tags option, and propagate tags"; the network configuration, platform version, task
definition and load balancers need a new CodeDeploy deployment (ECS API reference, UpdateService; the
same text is in botocore's `ecs` service model). The AWS provider sends every changed field to
UpdateService (terraform-provider-aws, internal/service/ecs/service.go, resourceServiceUpdate), and it
replaces the service when its capacity provider strategy changes (capacityProviderStrategyCustomizeDiff).

So Pulumi ignores these fields after creation, the stack exports what they should be
(`appSpecProperties`, in DescribeServices' shape), the release command puts them into the AppSpec, and
the stack reports the services whose running settings differ (`pendingReleases`) with a warning on
every `up` and preview.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from stacks.services.task_definition_drift import definition_of, drift

# Pulumi input names of the fields a release carries; the ECS service ignores them after creation.
RELEASE_CARRIES = ["networkConfiguration", "platformVersion", "capacityProviderStrategies"]
# ECS Exec is chosen when the service is created: UpdateService on a CODE_DEPLOY service does not take
# it and the AppSpec has no field for it (CodeDeploy user guide, "AppSpec 'resources' section for
# Amazon ECS deployments"). A change needs the service recreated; `pendingReleases` says so.
SET_AT_CREATION = ["enableExecuteCommand"]
RECREATE = "enableExecuteCommand (recreate the service)"


@dataclass(frozen=True, kw_only=True)
class CapacityShare:
    """One capacity provider and its weight and base, as ECS reports them."""

    capacity_provider: str
    weight: int
    base: int = 0


@dataclass(frozen=True, kw_only=True)
class AppSpecPropertiesArgs:
    """What the service's task sets should run with.

    subnets: the private subnets the tasks get their ENIs in.
    security_groups: the service's chain group, then the stack's extra groups.
    platform_version: the Fargate platform version (LATEST or x.y.z).
    strategy: the capacity provider strategy, FARGATE first.
    execute_command: whether ECS Exec is on (set when the service is created).
    task_definition_arn: the stack's own task-definition revision: a release copies it (with only the
        image changed), so task size, environment, secrets and health checks reach the service then.
    """

    subnets: pulumi.Input[Sequence[str]]
    security_groups: Sequence[pulumi.Input[str]]
    platform_version: str
    strategy: Sequence[CapacityShare]
    execute_command: pulumi.Input[bool]
    task_definition_arn: pulumi.Input[str]


def desired(args: AppSpecPropertiesArgs) -> pulumi.Output[dict[str, Any]]:
    """The settings in DescribeServices' shape, the shape `release.appspec` reads."""
    strategy = [
        {"capacityProvider": share.capacity_provider, "weight": share.weight, "base": share.base}
        for share in args.strategy
    ]
    return pulumi.Output.all(
        pulumi.Output.from_input(args.subnets),
        pulumi.Output.all(*args.security_groups),
        pulumi.Output.from_input(args.task_definition_arn),
    ).apply(
        lambda values: {
            "taskDefinition": values[2],
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": list(values[0]),
                    "securityGroups": list(values[1]),
                    "assignPublicIp": "DISABLED",
                }
            },
            "platformVersion": args.platform_version,
            "capacityProviderStrategy": strategy,
        }
    )


@dataclass(frozen=True)
class TaskDefinitions:
    """The stack's task definition and the one the service runs, in DescribeTaskDefinition's shape."""

    stack: pulumi.Output[dict[str, Any]]
    running: pulumi.Output[dict[str, Any]]

    @classmethod
    def of(
        cls, task_definition: aws.ecs.TaskDefinition, service: aws.ecs.Service, parent: pulumi.Resource
    ) -> TaskDefinitions:
        """The running revision is read with DescribeTaskDefinition (the `getTaskDefinition` invoke) from
        the ARN the service reports: a refresh makes it the revision the last release registered."""
        running = aws.ecs.get_task_definition_output(
            task_definition=service.task_definition, opts=pulumi.InvokeOutputOptions(parent=parent)
        )
        stack = pulumi.Output.all(
            cpu=task_definition.cpu,
            memory=task_definition.memory,
            runtime_platforms=task_definition.runtime_platform.apply(lambda p: [p] if p else []),
            task_role_arn=task_definition.task_role_arn,
            execution_role_arn=task_definition.execution_role_arn,
            volumes=task_definition.volumes,
            container_definitions=task_definition.container_definitions,
        )
        return cls(stack.apply(definition_of), running.apply(definition_of))


def pending(
    service_name: str,
    wanted: pulumi.Output[dict[str, Any]],
    service: aws.ecs.Service,
    execute_command: pulumi.Input[bool],
    task_definitions: TaskDefinitions | None = None,
) -> pulumi.Output[list[str]]:
    """The fields whose running value differs from `wanted`, with a warning naming the remedy.

    The service's outputs are what the provider last read from ECS, so with `pulumi up --refresh`
    (or after a refresh) they are what runs now. `task_definitions` adds the task definition's fields
    (task_definition_drift.py): the stack's revision against the one the service runs.
    """

    def compare(values: list[Any]) -> list[str]:
        want, network, platform_version, strategy, exec_on, exec_wanted, definitions = values
        awsvpc = want["networkConfiguration"]["awsvpcConfiguration"]
        wanted_strategy = sorted(
            (s["capacityProvider"], s["weight"], s["base"]) for s in want["capacityProviderStrategy"]
        )
        differs = []
        if _network(network) != (sorted(awsvpc["subnets"]), sorted(awsvpc["securityGroups"]), False):
            differs.append("networkConfiguration")
        if (platform_version or "LATEST") != want["platformVersion"]:
            differs.append("platformVersion")
        if _strategy(strategy) != wanted_strategy:
            differs.append("capacityProviderStrategy")
        if definitions is not None:
            differs += drift(definitions[0], definitions[1], service_name)
        releasable = list(differs)
        if bool(exec_on) != bool(exec_wanted):
            differs.append(RECREATE)
        if releasable:
            pulumi.log.warn(
                f"{service_name}: {', '.join(releasable)} changed in config; ECS applies it only through "
                f"CodeDeploy: run `payments-release <stack> {service_name} <current image>` to pick it up"
            )
        if RECREATE in differs:
            pulumi.log.warn(
                f"{service_name}: ECS Exec is set when a service is created; destroy and re-deploy the "
                "services layer (docs/releasing.md) for the ecsExec change to reach it"
            )
        return differs

    return pulumi.Output.all(
        wanted,
        service.network_configuration,
        service.platform_version,
        service.capacity_provider_strategies,
        service.enable_execute_command,
        execute_command,
        pulumi.Output.all(task_definitions.stack, task_definitions.running) if task_definitions else None,
    ).apply(compare)


def _field(value: Any, name: str, camel: str) -> Any:
    """A field of a provider output type, or of the plain dict Output.all gives (snake or camel case)."""
    if isinstance(value, dict):
        return value[name] if name in value else value.get(camel)
    return getattr(value, name, None)


def _network(value: Any) -> tuple[list[str], list[str], bool]:
    if not value:
        return [], [], False
    return (
        sorted(_field(value, "subnets", "subnets") or []),
        sorted(_field(value, "security_groups", "securityGroups") or []),
        bool(_field(value, "assign_public_ip", "assignPublicIp")),
    )


def _strategy(value: Any) -> list[tuple[str, int, int]]:
    return sorted(
        (
            str(_field(s, "capacity_provider", "capacityProvider")),
            int(_field(s, "weight", "weight") or 0),
            int(_field(s, "base", "base") or 0),
        )
        for s in value or []
    )
