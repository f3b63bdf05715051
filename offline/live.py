"""A stack after its first release, and what a second `up` or a `destroy` would ask AWS to do to it.

A release changes AWS behind Pulumi's back: CodeDeploy points the listeners at the green target group,
runs a new task set (a newer task definition, the AppSpec's network configuration) registered in green.
`after_release` models that state from an offline evaluation; `second_up` lists what the next `up`
would send for each resource, and which of those AWS refuses or which replace a resource;
`unordered_deletes` lists the AWS "in use" relations a `destroy` would break because no Pulumi
dependency orders the user's delete before the used resource's.

Sources for the rules:
- UpdateService on a CODE_DEPLOY service: the ECS API reference (botocore's `ecs` model carries the same
  text); the AWS provider sends each changed field (terraform-provider-aws,
  internal/service/ecs/service.go, resourceServiceUpdate) and replaces the service for a new capacity
  provider strategy (capacityProviderStrategyCustomizeDiff).
- Target group replacement: the ForceNew arguments of terraform-provider-aws,
  internal/service/elbv2/target_group.go.
- DeleteTargetGroup fails with ResourceInUse while a listener forwards to the group; the provider
  retries that for 2 minutes (targetGroupDeleteTimeout), far less than a service takes to drain.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi.asset import Archive, Asset

from offline.engine import Evaluation, RecordedResource

SERVICE = "aws:ecs/service:Service"
LISTENER = "aws:lb/listener:Listener"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
DEPLOYMENT_GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"

# The ECS service's Pulumi inputs and the UpdateService request member each becomes.
SERVICE_INPUT_TO_UPDATE_MEMBER = {
    "desiredCount": "desiredCount",
    "deploymentMaximumPercent": "deploymentConfiguration",
    "deploymentMinimumHealthyPercent": "deploymentConfiguration",
    "deploymentCircuitBreaker": "deploymentConfiguration",
    "alarms": "deploymentConfiguration",
    "healthCheckGracePeriodSeconds": "healthCheckGracePeriodSeconds",
    "placementConstraints": "placementConstraints",
    "orderedPlacementStrategies": "placementStrategy",
    "enableEcsManagedTags": "enableECSManagedTags",
    "propagateTags": "propagateTags",
    "networkConfiguration": "networkConfiguration",
    "platformVersion": "platformVersion",
    "capacityProviderStrategies": "capacityProviderStrategy",
    "loadBalancers": "loadBalancers",
    "taskDefinition": "taskDefinition",
    "serviceRegistries": "serviceRegistries",
    "serviceConnectConfiguration": "serviceConnectConfiguration",
    "volumeConfiguration": "volumeConfigurations",
    "enableExecuteCommand": "enableExecuteCommand",
    "forceNewDeployment": "forceNewDeployment",
}
# "For services using the blue/green (CODE_DEPLOY) deployment controller, only the desired count,
# deployment configuration, health check grace period, task placement constraints and strategies,
# enable ECS managed tags option, and propagate tags can be updated using this API."
UPDATABLE_ON_CODE_DEPLOY = frozenset(
    {
        "desiredCount",
        "deploymentConfiguration",
        "healthCheckGracePeriodSeconds",
        "placementConstraints",
        "placementStrategy",
        "enableECSManagedTags",
        "propagateTags",
    }
)
# Inputs the provider handles without UpdateService (tags go through TagResource; the rest are its own).
PROVIDER_ONLY = frozenset({"tags", "waitForSteadyState", "forceDelete", "triggers"})
# ForceNew arguments (terraform-provider-aws, internal/service/elbv2/target_group.go), as Pulumi inputs.
FORCES_NEW = {
    TARGET_GROUP: frozenset(
        {"name", "namePrefix", "port", "protocol", "protocolVersion", "targetType", "vpcId", "ipAddressType"}
    ),
    SERVICE: frozenset({"name", "cluster", "launchType", "schedulingStrategy", "deploymentController"}),
}

LiveState = dict[str, dict[str, Any]]  # "type::name" -> what AWS reports (offline.engine's `live`)


def key(resource: RecordedResource) -> str:
    return f"{resource.type}::{resource.name}"


def state_of(evaluation: Evaluation) -> LiveState:
    """The stack right after `up`: every resource as the provider recorded it."""
    return {key(r): copy.deepcopy(r.state) for r in evaluation.aws_resources()}


def after_release(evaluation: Evaluation, releases: int = 1) -> LiveState:
    """The stack after `releases` releases of every service (an odd number leaves traffic on green).

    Each release registers the next task definition revision and CodeDeploy swaps the listeners' and
    the service's target group.
    """
    live = state_of(evaluation)
    for service in evaluation.all(SERVICE):
        blue, green = colours(evaluation, service)
        serving = green if releases % 2 else blue
        state = live[key(service)]
        family, _, revision = str(state["taskDefinition"]).rpartition(":")
        state["taskDefinition"] = f"{family}:{int(revision or 1) + releases}"
        state["loadBalancers"] = [
            {**lb, "targetGroupArn": serving.state["arn"]} for lb in state.get("loadBalancers", [])
        ]
        for listener in forwarding_listeners(evaluation, blue):
            live[key(listener)]["defaultActions"] = [
                {**action, "targetGroupArn": serving.state["arn"]}
                for action in live[key(listener)]["defaultActions"]
            ]
    return live


def colours(evaluation: Evaluation, service: RecordedResource) -> tuple[RecordedResource, RecordedResource]:
    """The service's (blue, green) target groups: blue is the one its load balancer starts on."""
    first = service.inputs["loadBalancers"][0]["targetGroupArn"]
    group = _deployment_group_of(evaluation, service)
    names = [tg["name"] for tg in group.inputs["loadBalancerInfo"]["targetGroupPairInfo"]["targetGroups"]]
    pair = [tg for tg in evaluation.all(TARGET_GROUP) if tg.state["name"] in names]
    blue = next(tg for tg in pair if tg.state["arn"] == first)
    green = next(tg for tg in pair if tg is not blue)
    return blue, green


def forwarding_listeners(evaluation: Evaluation, target_group: RecordedResource) -> list[RecordedResource]:
    return [
        listener
        for listener in evaluation.all(LISTENER)
        if any(
            a.get("targetGroupArn") == target_group.state["arn"] for a in listener.inputs["defaultActions"]
        )
    ]


def _deployment_group_of(evaluation: Evaluation, service: RecordedResource) -> RecordedResource:
    return next(
        group
        for group in evaluation.all(DEPLOYMENT_GROUP)
        if group.inputs["ecsService"]["serviceName"] == service.state["name"]
    )


# --- a second `up` ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """What the next `up` would do to one existing resource."""

    resource: str  # "type::name"
    keys: tuple[str, ...]  # the top-level inputs that differ from AWS, after ignore_changes
    replaces: tuple[str, ...]  # of those, the ones that force a replacement
    refused: tuple[str, ...]  # of those, the ones AWS refuses to update in place


def second_up(live: Mapping[str, Mapping[str, Any]], evaluation: Evaluation) -> list[Change]:
    """Compare `evaluation` (the program run again, maybe with new config) with the live state."""
    changes = []
    for resource in evaluation.aws_resources():
        before = live.get(key(resource))
        if before is None:
            continue  # a new resource: created, nothing to refuse
        ignored = {path.split(".")[0].split("[")[0] for path in resource.ignore_changes}
        keys = tuple(
            sorted(
                k
                for k, value in resource.inputs.items()
                if k not in ignored and k not in ("tagsAll",) and _normal(value) != _normal(before.get(k))
            )
        )
        if not keys:
            continue
        replaces = tuple(k for k in keys if k in FORCES_NEW.get(resource.type, frozenset()))
        refused = tuple(k for k in keys if resource.type == SERVICE and _refused_on_code_deploy(k))
        changes.append(Change(key(resource), keys, replaces, refused))
    return changes


def _refused_on_code_deploy(input_name: str) -> bool:
    if input_name in PROVIDER_ONLY:
        return False
    member = SERVICE_INPUT_TO_UPDATE_MEMBER.get(input_name)
    return member is None or member not in UPDATABLE_ON_CODE_DEPLOY


def _normal(value: Any) -> Any:
    """Numbers as the engine serialises them (1 and 1.0 alike), assets by content: for comparison only."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normal(v) for v in value]
    if isinstance(value, Asset | Archive):  # compared by what they hold, not by identity
        return (type(value).__name__, _normal(dict(vars(value))))
    return value


# --- destroy ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InUse:
    """AWS refuses to delete `used` while `user` exists."""

    user: str  # URN
    used: str  # URN
    why: str


def in_use(evaluation: Evaluation, live: Mapping[str, Mapping[str, Any]]) -> Iterator[InUse]:
    """The "in use" relations of the live stack that block a delete."""
    by_arn = {r.state.get("arn"): r for r in evaluation.all(TARGET_GROUP)}
    groups_by_id = {r.id: r for r in evaluation.all(SECURITY_GROUP)}
    for listener in evaluation.all(LISTENER):
        for action in live[key(listener)].get("defaultActions", []):
            used = by_arn.get(action.get("targetGroupArn"))
            if used is not None:
                yield InUse(listener.urn, used.urn, "the listener forwards to it (ResourceInUse)")
    for service in evaluation.all(SERVICE):
        blue, green = colours(evaluation, service)
        for group in (blue, green):
            yield InUse(
                service.urn, group.urn, "the service's task sets are registered in it while it drains"
            )
        network = live[key(service)].get("networkConfiguration") or {}
        for group_id in network.get("securityGroups", []):
            if group_id in groups_by_id:
                yield InUse(service.urn, groups_by_id[group_id].urn, "task ENIs use it (DependencyViolation)")


def unordered_deletes(evaluation: Evaluation, live: Mapping[str, Mapping[str, Any]]) -> list[InUse]:
    """The relations `destroy` breaks: Pulumi deletes a resource only after everything that depends on
    it (inputs, depends_on, children), so each user must depend on what it uses, at least transitively.
    """
    graph = {r.urn: set(r.dependencies) | ({r.parent} if r.parent else set()) for r in evaluation.resources}
    return [usage for usage in in_use(evaluation, live) if not _reaches(graph, usage.user, usage.used)]


def _reaches(graph: Mapping[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        current = todo.pop()
        if current == goal:
            return True
        if current not in seen:
            seen.add(current)
            todo.extend(graph.get(current, ()))
    return False
