"""BeforeInstall hook: the release's images must have a finished ECR scan with nothing at or above
the configured severity, or the deployment fails before a green task starts.

Statuses and severities are ECR's (ECR API reference, ImageScanStatus and ImageScanFindings). A scan
still running is polled until `SCAN_WAIT_SECONDS` or the function's own time runs out; a missing,
failed or unsupported scan fails the gate, as does an image that is not in ECR (nothing scanned it).
An OCI image index or Docker manifest list is judged by the scan of the image manifest it lists for the
task's architecture, which is what ECR scans and what the task runs (image_index.py).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from . import image_index
from .lifecycle import Deployment, HookError, Verdict, run_hook

SEVERITIES = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")  # ECR's, lowest first
WAITING = ("IN_PROGRESS", "PENDING")
FINISHED = ("COMPLETE", "ACTIVE")  # ACTIVE: enhanced (Inspector) continuous scanning has results
SAFETY_MARGIN_SECONDS = 10  # time kept back to report before Lambda stops the function
_ECR_IMAGE = re.compile(
    r"(?P<registry>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?"
)


@dataclass(frozen=True)
class GateConfig:
    threshold: str  # findings at or above this severity fail the gate
    wait_seconds: float
    poll_seconds: float

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> GateConfig:
        env = dict(os.environ if env is None else env)
        threshold = env.get("SEVERITY_THRESHOLD", "HIGH").upper()
        if threshold not in SEVERITIES:
            raise HookError(f"SEVERITY_THRESHOLD={threshold!r} must be one of {', '.join(SEVERITIES)}")
        return cls(
            threshold,
            float(env.get("SCAN_WAIT_SECONDS", "300")),
            float(env.get("SCAN_POLL_SECONDS", "10")),
        )

    @property
    def blocking(self) -> tuple[str, ...]:
        return SEVERITIES[SEVERITIES.index(self.threshold) :]


@dataclass(frozen=True)
class EcrImage:
    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, image: str) -> EcrImage | None:
        match = _ECR_IMAGE.fullmatch(image)
        if match is None:
            return None
        return cls(match["registry"], match["repository"], match["tag"], match["digest"])

    @property
    def image_id(self) -> dict[str, str]:
        return {"imageDigest": self.digest} if self.digest else {"imageTag": self.tag or "latest"}


class ScanGate:
    def __init__(
        self,
        ecs: Any,
        ecr: Any,
        config: GateConfig,
        deadline: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ecs, self.ecr, self.config = ecs, ecr, config
        self.deadline, self.clock, self.sleep = deadline, clock, sleep

    def check(self, deployment: Deployment) -> Verdict:
        definition = self.ecs.describe_task_definition(taskDefinition=deployment.task_definition_arn)
        task = definition["taskDefinition"]
        images = [c["image"] for c in task["containerDefinitions"]]
        try:
            architecture = image_index.task_architecture(task)
        except image_index.ImageIndexError as error:
            raise HookError(str(error)) from None
        problems = [problem for image in images for problem in self.image_problems(image, architecture)]
        return Verdict(not problems, tuple(problems) or tuple(f"{image}: scan clean" for image in images))

    def image_problems(self, image: str, architecture: str = "amd64") -> list[str]:
        ecr_image = EcrImage.parse(image)
        if ecr_image is None:
            return [f"{image}: not an ECR image, so no scan vouches for it"]
        try:
            # An index (or a tag naming one) is judged by the scan of the image the task runs from it.
            platform = image_index.resolve(
                self.ecr, ecr_image.repository, ecr_image.image_id, architecture, ecr_image.registry
            )
        except self.ecr.exceptions.ImageNotFoundException:
            return [f"{image}: scan missing: the image is not in the repository"]
        except image_index.ImageIndexError as error:
            return [f"{image}: {error}"]
        shown = (
            image
            if platform.index_digest is None
            else f"{image} ({platform.platform} image {platform.digest})"
        )
        status, findings = self._finished_scan(ecr_image, platform.digest)
        if status not in FINISHED:
            return [f"{shown}: scan {status}"]
        counts = findings.get("findingSeverityCounts", {})
        blocking = {severity: counts[severity] for severity in self.config.blocking if counts.get(severity)}
        if blocking:
            listed = ", ".join(f"{count} {severity}" for severity, count in blocking.items())
            return [f"{shown}: {listed} finding(s) at or above {self.config.threshold}"]
        return []

    def _finished_scan(self, image: EcrImage, digest: str) -> tuple[str, dict[str, Any]]:
        """The scan's final status and findings, polling while it runs and time allows."""
        while True:
            try:
                answer = self.ecr.describe_image_scan_findings(
                    registryId=image.registry,
                    repositoryName=image.repository,
                    imageId={"imageDigest": digest},
                )
            except self.ecr.exceptions.ScanNotFoundException:
                return "missing: the image was never scanned (push it again, or start a scan)", {}
            except self.ecr.exceptions.ImageNotFoundException:
                return "missing: the image is not in the repository", {}
            status = str(answer["imageScanStatus"]["status"])
            if status not in WAITING:
                return status, answer.get("imageScanFindings", {})
            if self.clock() + self.config.poll_seconds > self.deadline:
                return f"still {status} after waiting {self.config.wait_seconds:g}s", {}
            self.sleep(self.config.poll_seconds)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point for CodeDeploy's BeforeInstall lifecycle event."""
    started = time.monotonic()
    budget = context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_SECONDS
    ecs, ecr = boto3.client("ecs"), boto3.client("ecr")

    def check(deployment: Deployment) -> Verdict:
        config = GateConfig.from_env()  # inside the hook: bad config still get reported
        deadline = started + min(config.wait_seconds, budget)
        return ScanGate(ecs, ecr, config, deadline).check(deployment)

    return run_hook(event, boto3.client("codedeploy"), check, "scan-gate")
