"""The AppSpec a release sends to CodeDeploy, built from the ECS service as it runs now."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def appspec(
    service: Mapping[str, Any],
    task_definition_arn: str,
    container_name: str,
    container_port: int,
    hooks: Mapping[str, str],
) -> dict[str, Any]:
    """The ECS AppSpec (CodeDeploy user guide, "AppSpec 'resources' section for Amazon ECS").

    CodeDeploy replaces the service's task set with what the AppSpec says, so the properties ECS
    would otherwise drop are repeated from the running service: the capacity provider strategy
    (aws/containers-roadmap#1752) and the network configuration, whole (subnets, security groups
    and public IP together), or not at all.
    """
    properties: dict[str, Any] = {
        "TaskDefinition": task_definition_arn,
        "LoadBalancerInfo": {"ContainerName": container_name, "ContainerPort": container_port},
    }
    if service.get("platformVersion"):
        properties["PlatformVersion"] = service["platformVersion"]
    awsvpc = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if awsvpc:
        properties["NetworkConfiguration"] = {
            "AwsvpcConfiguration": {
                "Subnets": list(awsvpc["subnets"]),
                "SecurityGroups": list(awsvpc.get("securityGroups") or []),
                "AssignPublicIp": awsvpc.get("assignPublicIp") or "DISABLED",
            }
        }
    strategy = service.get("capacityProviderStrategy") or []
    if strategy:
        properties["CapacityProviderStrategy"] = [
            {
                "Base": int(s.get("base") or 0),
                "CapacityProvider": s["capacityProvider"],
                "Weight": int(s.get("weight") or 0),
            }
            for s in strategy
        ]
    return {
        "version": 0.0,
        "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": properties}}],
        "Hooks": [{hook: arn} for hook, arn in hooks.items()],
    }


def revision(spec: Mapping[str, Any]) -> dict[str, Any]:
    """CreateDeployment's `revision`: the AppSpec as JSON text, with its SHA-256."""
    content = json.dumps(spec, sort_keys=True)
    return {
        "revisionType": "AppSpecContent",
        "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()},
    }
