"""One service's container definition, as the plain JSON RegisterTaskDefinition takes.

`container_definition` is a pure function of resolved values so the tests can validate its output
against botocore's ECS model (`ContainerDefinition`) and the apps' env contract, with no Pulumi.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.catalogue import (
    CONTAINER_USER,
    PORT_ENV,
    SERVICE_NAME_ENV,
    WRITABLE_PATH,
    ServiceSpec,
    secret_arn_env,
)
from shared.config.services import HealthCheckConfig
from shared.container_settings import environment as settings_environment
from shared.container_settings import proxy_environment

TMP_VOLUME = "tmp"
# ECS Exec's SSM agent writes to these at start; with a read-only root filesystem they must be writable
# volumes or the agent crashes (aws/containers-roadmap#1359; aws-containers/amazon-ecs-exec-checker#21).
EXEC_VOLUMES = {
    "exec-managed-agents": "/managed-agents",
    "exec-ssm-lib": "/var/lib/amazon/ssm",
    "exec-ssm-log": "/var/log/amazon/ssm",
}


@dataclass(frozen=True)
class ContainerInputs:
    """The resolved values a container definition needs besides the catalogue entry."""

    image: str
    log_group: str
    region: str
    secret_arns: Mapping[str, str]  # catalogue env name -> secret ARN (set as `<name>_SECRET_ARN`)
    downstream_urls: Mapping[str, str]  # env var -> base URL (a Cloud Map name)
    health_check: HealthCheckConfig
    stop_timeout_seconds: int
    execute_command: bool = False  # ECS Exec on: the SSM agent's paths become writable volumes
    # Declared container settings by config key (`shared/container_settings.py`); one left out is
    # its default. Each reaches only the services its declaration names.
    settings: Mapping[str, int] = field(default_factory=dict)
    # complianceProfile pci: the platform's egress proxy URL ("" without one), and the names reached
    # without it besides AWS's (the namespace as `.<namespace>`, the internal ALB's DNS name). Only a
    # service that calls a third party gets HTTPS_PROXY and NO_PROXY.
    egress_proxy_url: str = ""
    direct_hosts: tuple[str, ...] = ()


def container_definition(spec: ServiceSpec, inputs: ContainerInputs) -> dict[str, Any]:
    """The single essential container of `spec`'s task: non-root, read-only, logged, health-checked."""
    check = inputs.health_check
    environment = {
        PORT_ENV: str(spec.container_port),
        SERVICE_NAME_ENV: spec.name,
        **inputs.downstream_urls,
        # Secrets by ARN only: the code reads them at run time through the task role (cached, so a
        # rotation reaches a running task without a release); ECS injects no value.
        **{secret_arn_env(name): arn for name, arn in inputs.secret_arns.items()},
        **settings_environment(spec, inputs.settings),
        **(
            proxy_environment(inputs.egress_proxy_url, inputs.direct_hosts) if spec.third_party_client else {}
        ),
    }
    return {
        "name": spec.name,  # also the AppSpec's ContainerName
        "image": inputs.image,
        "essential": True,
        "user": CONTAINER_USER,
        "readonlyRootFilesystem": True,
        "mountPoints": [
            {"sourceVolume": volume, "containerPath": path, "readOnly": False}
            for volume, path in volumes(inputs.execute_command).items()
        ],
        "portMappings": [{"containerPort": spec.container_port, "protocol": "tcp", "name": "http"}],
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
        "healthCheck": {
            "command": list(spec.health_probe()),
            "interval": check.interval_seconds,
            "timeout": check.timeout_seconds,
            "retries": check.retries,
            "startPeriod": check.start_period_seconds,
        },
        "stopTimeout": inputs.stop_timeout_seconds,
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": inputs.log_group,
                "awslogs-region": inputs.region,
                "awslogs-stream-prefix": spec.name,
                "mode": "non-blocking",  # a slow log pipe never blocks payment requests
                "max-buffer-size": "25m",
            },
        },
        "linuxParameters": {"initProcessEnabled": True},  # reaps zombies, forwards SIGTERM
    }


def volumes(execute_command: bool) -> dict[str, str]:
    """Task-storage volumes and where the container mounts them: /tmp, plus ECS Exec's paths when on."""
    return {TMP_VOLUME: WRITABLE_PATH, **(EXEC_VOLUMES if execute_command else {})}
