"""What every ECS lifecycle hook does: read its deployment, and report one verdict back to CodeDeploy.

CodeDeploy invokes the hook with `DeploymentId` and `LifecycleEventHookExecutionId` and waits for
`PutLifecycleEventHookExecutionStatus`; without an answer the deployment fails only when the hook
times out an hour later. So a hook always answers, and an error of its own is a "Failed" verdict
(CodeDeploy user guide, "AppSpec 'hooks' section for an Amazon ECS deployment").
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SUCCEEDED = "Succeeded"
FAILED = "Failed"

logger = logging.getLogger("release_hooks")
logger.setLevel(logging.INFO)


class HookError(Exception):
    """A deployment this hook cannot check; the message says why, and the verdict is Failed."""


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reasons: tuple[str, ...] = field(default=())

    @property
    def status(self) -> str:
        return SUCCEEDED if self.passed else FAILED


@dataclass(frozen=True)
class HookEvent:
    deployment_id: str
    execution_id: str

    @classmethod
    def parse(cls, event: dict[str, Any]) -> HookEvent:
        try:
            return cls(str(event["DeploymentId"]), str(event["LifecycleEventHookExecutionId"]))
        except KeyError as missing:
            raise HookError(f"not a CodeDeploy lifecycle event: {missing} is missing") from None


@dataclass(frozen=True)
class Deployment:
    """The parts of a deployment the hooks read."""

    deployment_id: str
    application: str
    group: str
    task_definition_arn: str

    @classmethod
    def read(cls, codedeploy: Any, deployment_id: str) -> Deployment:
        info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        content = info.get("revision", {}).get("appSpecContent", {}).get("content")
        if not content:
            raise HookError(f"deployment {deployment_id} has no AppSpec content to read")
        return cls(
            deployment_id, info["applicationName"], info["deploymentGroupName"], task_definition(content)
        )


def task_definition(appspec: str) -> str:
    """The target task definition ARN of an ECS AppSpec (the release command writes it as JSON)."""
    try:
        spec = json.loads(appspec)
        return str(spec["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"])
    except (ValueError, KeyError, IndexError, TypeError):
        raise HookError(
            "the AppSpec is not JSON naming Resources[0].TargetService.Properties.TaskDefinition"
        ) from None


def run_hook(
    event: dict[str, Any], codedeploy: Any, check: Callable[[Deployment], Verdict], hook: str
) -> dict[str, Any]:
    """Check the deployment, report the verdict to CodeDeploy, log it and return it."""
    parsed = HookEvent.parse(event)
    try:
        verdict = check(Deployment.read(codedeploy, parsed.deployment_id))
    except HookError as error:
        verdict = Verdict(False, (str(error),))
    except Exception as error:  # any failure must still answer CodeDeploy
        logger.exception("hook error")
        verdict = Verdict(False, (f"{hook} could not finish: {type(error).__name__}: {error}",))
    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=parsed.deployment_id,
        lifecycleEventHookExecutionId=parsed.execution_id,
        status=verdict.status,
    )
    result = {
        "hook": hook,
        "deploymentId": parsed.deployment_id,
        "status": verdict.status,
        "reasons": list(verdict.reasons),
    }
    logger.info(json.dumps(result))
    return result
