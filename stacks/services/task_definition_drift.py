"""Which fields of the stack's task definition differ from the revision the service runs.

`up` registers a new revision of the stack's task definition for a change of task size, architecture,
environment, health check, secrets or stop timeout, but the service keeps running the revision the last
release registered (a copy of the stack's definition then, with its own image): only a release applies
the change. This compares the two field by field, the service container's image aside (a release names
its own), and names every field that differs.

DescribeTaskDefinition returns container definitions with what ECS filled in (hostPort, `cpu: 0`, empty
lists, health-check defaults) and may reorder lists, so both sides are reduced first the way the AWS
provider does before it compares them (terraform-provider-aws, internal/service/ecs/container_definitions.go,
`containerDefinitionsAreEquivalent` and `reduce`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# Task-level fields a release carries (RegisterTaskDefinition's names), in the order they are reported.
TASK_FIELDS = ("cpu", "memory", "runtimePlatform", "taskRoleArn", "executionRoleArn", "volumes")
HEALTH_CHECK_DEFAULTS = {"interval": 30, "retries": 3, "timeout": 5}  # ECS API reference, HealthCheck
RELEASED_BY_NAME = "image"  # the release sets it: never a reason for one


def _by_name(items: Any) -> list[Any]:
    return sorted(items or [], key=lambda item: str(item.get("name", "")))


def reduce_container(container: Mapping[str, Any]) -> dict[str, Any]:
    """A container definition without what ECS fills in or reorders."""
    reduced: dict[str, Any] = {}
    for key, value in container.items():
        if value in (None, [], {}) or (key == "cpu" and value == 0):
            continue
        reduced[key] = value
    reduced.setdefault("essential", True)
    if "environment" in reduced:
        reduced["environment"] = _by_name(reduced["environment"])
    if "secrets" in reduced:
        reduced["secrets"] = _by_name(reduced["secrets"])
    if "healthCheck" in reduced:
        reduced["healthCheck"] = {**HEALTH_CHECK_DEFAULTS, **reduced["healthCheck"]}
    if "portMappings" in reduced:
        ports = []
        for mapping in reduced["portMappings"]:
            port = {k: v for k, v in mapping.items() if not (k == "protocol" and v == "tcp")}
            port.setdefault("hostPort", port.get("containerPort"))  # awsvpc: the host port is the container's
            ports.append(port)
        reduced["portMappings"] = ports
    return reduced


def _task_field(definition: Mapping[str, Any], name: str) -> Any:
    value = definition.get(name)
    if name in ("cpu", "memory") and value is not None:
        return str(value)  # the API takes and returns strings; a program may hold numbers
    if name == "volumes":
        return sorted(
            json.dumps({k: v for k, v in v.items() if v not in (None, {}, [])}, sort_keys=True)
            for v in value or []
        )
    if name == "runtimePlatform":
        return {k: v for k, v in (value or {}).items() if v}
    return value


def drift(wanted: Mapping[str, Any], running: Mapping[str, Any], container: str) -> list[str]:
    """`taskDefinition.<field>` for each field of `wanted` that `running` does not have; for the service
    container's environment and secrets, one entry per variable (`taskDefinition.environment.<NAME>`).

    Both are task definitions in DescribeTaskDefinition's shape, `containerDefinitions` as a list.
    """
    fields = [
        f"taskDefinition.{name}"
        for name in TASK_FIELDS
        if _task_field(wanted, name) != _task_field(running, name)
    ]
    mine = {c["name"]: reduce_container(c) for c in wanted.get("containerDefinitions") or []}
    theirs = {c["name"]: reduce_container(c) for c in running.get("containerDefinitions") or []}
    if set(mine) != set(theirs):
        return [*fields, "taskDefinition.containerDefinitions"]
    for name in sorted(mine):
        want, have = mine[name], theirs[name]
        prefix = "taskDefinition" if name == container else f"taskDefinition.{name}"
        for key in sorted(set(want) | set(have)):
            if (name == container and key == RELEASED_BY_NAME) or want.get(key) == have.get(key):
                continue
            if key in ("environment", "secrets"):
                value = "value" if key == "environment" else "valueFrom"
                w = {e["name"]: e.get(value) for e in want.get(key) or []}
                h = {e["name"]: e.get(value) for e in have.get(key) or []}
                fields += [f"{prefix}.{key}.{n}" for n in sorted(set(w) | set(h)) if w.get(n) != h.get(n)]
            else:
                fields.append(f"{prefix}.{key}")
    return fields


def definition_of(result: Any) -> dict[str, Any]:
    """The `aws.ecs.get_task_definition` result (or its dict form) in DescribeTaskDefinition's shape."""

    def get(name: str, camel: str) -> Any:
        if isinstance(result, Mapping):
            return result[name] if name in result else result.get(camel)
        return getattr(result, name, None)

    platforms = get("runtime_platforms", "runtimePlatforms") or []
    platform = platforms[0] if platforms else None
    return {
        "cpu": get("cpu", "cpu"),
        "memory": get("memory", "memory"),
        "runtimePlatform": _platform(platform),
        "taskRoleArn": get("task_role_arn", "taskRoleArn"),
        "executionRoleArn": get("execution_role_arn", "executionRoleArn"),
        "volumes": [{"name": _attr(v, "name")} for v in get("volumes", "volumes") or []],
        "containerDefinitions": json.loads(get("container_definitions", "containerDefinitions") or "[]"),
    }


def _attr(value: Any, name: str, camel: str | None = None) -> Any:
    if isinstance(value, Mapping):
        return value.get(name, value.get(camel or name))
    return getattr(value, name, None)


def _platform(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    return {
        "cpuArchitecture": _attr(value, "cpu_architecture", "cpuArchitecture"),
        "operatingSystemFamily": _attr(value, "operating_system_family", "operatingSystemFamily"),
    }
