"""What a release touches, by name: every name comes from `shared.naming` and the stack's suffix,
the same names the services layer gave the resources, so no ARN is hard-coded or copied by hand."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from shared import naming
from shared.catalogue import CATALOGUE, ServiceSpec
from shared.config.common import DEFAULT_REGION
from shared.errors import ConfigError

SERVICES_DIR = Path(__file__).resolve().parents[1] / "stacks" / "services"
PROJECT = "payments-services"
SCAN_GATE = "scan-gate"
SMOKE_TEST = "smoke-test"


class ReleaseError(Exception):
    """A release refused before anything changed; the message says what to do."""


@dataclass(frozen=True)
class Targets:
    spec: ServiceSpec
    suffix: str
    region: str
    cluster: str
    ecs_service: str
    application: str
    deployment_group: str
    repository: str
    hook_functions: dict[str, str]  # AppSpec hook -> function name

    @classmethod
    def resolve(cls, stack: str, service: str, region: str | None = None) -> Targets:
        specs = {spec.name: spec for spec in CATALOGUE}
        if service not in specs:
            raise ReleaseError(f"unknown service {service!r}: use one of {', '.join(specs)}")
        config = stack_config(stack)
        suffix = str(config.get("environmentSuffix") or "")
        try:
            namer = naming.Namer(suffix)
        except ConfigError as error:
            raise ReleaseError(f"stack {stack!r}: {error}") from None
        return cls(
            spec=specs[service],
            suffix=suffix,
            region=region or str(config.get("region") or DEFAULT_REGION),
            cluster=namer.name(naming.ECS_CLUSTER),
            ecs_service=namer.name(naming.ECS_SERVICE, service),
            application=namer.name(naming.CODEDEPLOY_APP, "payments"),
            deployment_group=namer.name(naming.DEPLOYMENT_GROUP, service),
            repository=namer.name(naming.ECR, service),
            hook_functions={
                "BeforeInstall": namer.name(naming.LAMBDA, SCAN_GATE),
                "AfterAllowTestTraffic": namer.name(naming.LAMBDA, SMOKE_TEST),
            },
        )


def stack_config(stack: str, directory: Path = SERVICES_DIR) -> dict[str, object]:
    """The services stack's config file, namespace stripped; an unknown stack says how to make one."""
    path = directory / f"Pulumi.{stack}.yaml"
    if not path.exists():
        known = sorted(
            p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in directory.glob("Pulumi.*.yaml")
        )
        raise ReleaseError(
            f"unknown stack {stack!r}: there is no stacks/services/Pulumi.{stack}.yaml "
            f"(known: {', '.join(known) or 'none'}); "
            f"create and deploy it with `python3 dev.py init -- {stack} --suffix <suffix>` and "
            f"`python3 dev.py up -- {stack}`"
        )
    raw = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    return {str(k).removeprefix(f"{PROJECT}:"): v for k, v in raw.items()}
