"""The task-definition revisions releases register, removed after the services layer is destroyed.

Pulumi knows only the revision it registered; each release registers another one of the same family
(release/one_release.py). A revision is deleted in two steps: DeregisterTaskDefinition makes it INACTIVE,
then DeleteTaskDefinitions (at most 10 per call) marks it DELETE_IN_PROGRESS, and ECS removes it once
no task or deployment uses it (ECS API reference, DeleteTaskDefinitions). Both run only after the
services are gone, so no running task still needs a revision.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from shared import naming
from shared.catalogue import CATALOGUE

DELETE_BATCH = 10  # DeleteTaskDefinitions takes at most 10 ARNs (botocore's ecs model: taskDefinitions)


def families(suffix: str) -> list[str]:
    """The task-definition family of every catalogue service of the stack with this suffix."""
    namer = naming.Namer(suffix)
    return [namer.name(naming.TASK_FAMILY, spec.name) for spec in CATALOGUE]


@dataclass
class Removal:
    deregistered: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # "arn: reason", from DeleteTaskDefinitions


def _revisions(ecs: Any, family: str, status: str) -> Iterable[str]:
    """Revisions of exactly `family` (familyPrefix also matches longer family names)."""
    pages = ecs.get_paginator("list_task_definitions").paginate(familyPrefix=family, status=status)
    for page in pages:
        for arn in page["taskDefinitionArns"]:
            if arn.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family:
                yield str(arn)


def remove_revisions(ecs: Any, family_names: Iterable[str], out: Callable[[str], None] = print) -> Removal:
    """Deregister every ACTIVE revision of the families, then delete every INACTIVE one."""
    removal = Removal()
    for family in family_names:
        just_deregistered = []
        for arn in list(_revisions(ecs, family, "ACTIVE")):
            ecs.deregister_task_definition(taskDefinition=arn)
            just_deregistered.append(arn)
        removal.deregistered += just_deregistered
        # ListTaskDefinitions is eventually consistent: a revision deregistered a moment ago may not be
        # listed as INACTIVE yet, so the ones deregistered here are deleted by name too.
        inactive = sorted({*just_deregistered, *_revisions(ecs, family, "INACTIVE")})
        for start in range(0, len(inactive), DELETE_BATCH):
            answer = ecs.delete_task_definitions(taskDefinitions=inactive[start : start + DELETE_BATCH])
            removal.deleted += [str(d["taskDefinitionArn"]) for d in answer.get("taskDefinitions", [])]
            removal.failures += [f"{f.get('arn')}: {f.get('reason')}" for f in answer.get("failures", [])]
    out(
        f"task definitions: {len(removal.deregistered)} deregistered, {len(removal.deleted)} deleted"
        + (f", {len(removal.failures)} failed: {'; '.join(removal.failures)}" if removal.failures else "")
    )
    return removal


def remove_release_revisions(region: str, suffix: str, out: Callable[[str], None] = print) -> Removal:
    """After `destroy` of the services layer: every revision of the stack's families, through boto3."""
    import boto3
    from botocore.config import Config

    # Hundreds of revisions are deregistered one call each: adaptive retries ride out throttling.
    retrying = Config(retries={"mode": "adaptive", "max_attempts": 10})
    return remove_revisions(boto3.client("ecs", region_name=region, config=retrying), families(suffix), out)
