"""One release: check, register the revision, create the deployment, and follow it to the end."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from functions.release_hooks import image_index
from release.appspec import appspec, revision
from release.reference import ImageReference, parse_image
from release.targets import ReleaseError, Targets

ACTIVE = ("Created", "Queued", "InProgress", "Baking", "Ready")
SUCCEEDED = "Succeeded"
FAILED = ("Failed", "Stopped")


@dataclass(frozen=True)
class Outcome:
    deployment_id: str
    status: str  # a CodeDeploy status, or "Started" with --no-wait, or "TimedOut"
    task_definition_arn: str
    image: str
    events: tuple[tuple[str, str], ...] = field(default=())  # (lifecycle event, status)
    error: str = ""


class Release:
    def __init__(
        self,
        targets: Targets,
        clients: Callable[[str], Any],
        out: Callable[[str], None] = print,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.targets, self.out, self.clock, self.sleep = targets, out, clock, sleep
        self.ecs, self.ecr = clients("ecs"), clients("ecr")
        self.codedeploy, self.sts = clients("codedeploy"), clients("sts")

    # --- before anything changes ----------------------------------------------------------------

    def account(self) -> str:
        try:
            return str(self.sts.get_caller_identity()["Account"])
        except ClientError as error:
            raise ReleaseError(f"AWS refused the credentials: {error}") from None

    def running_service(self) -> dict[str, Any]:
        t = self.targets
        try:
            answer = self.ecs.describe_services(cluster=t.cluster, services=[t.ecs_service])
        except self.ecs.exceptions.ClusterNotFoundException:
            answer = {}
        found = [s for s in answer.get("services", []) if s.get("status") == "ACTIVE"]
        if not found:
            raise ReleaseError(
                f"{t.ecs_service} is not running in cluster {t.cluster} ({t.region}): "
                f"is the services stack for suffix {t.suffix!r} deployed there?"
            )
        return dict(found[0])

    def no_deployment_in_progress(self) -> None:
        t = self.targets
        running = self.codedeploy.list_deployments(
            applicationName=t.application,
            deploymentGroupName=t.deployment_group,
            includeOnlyStatuses=list(ACTIVE),
        )["deployments"]
        if running:
            raise ReleaseError(
                f"deployment {running[0]} of {t.spec.name} is still in progress; wait for it or stop it "
                f"with `aws deploy stop-deployment --deployment-id {running[0]} --auto-rollback-enabled`"
            )

    def base_definition(self, service: Mapping[str, Any], base: str | None = None) -> dict[str, Any]:
        """The task definition a release copies (with its tags): the stack's own revision (`base`, from its
        appSpecProperties), or else the running one."""
        source = base or service["taskDefinition"]
        try:
            return dict(self.ecs.describe_task_definition(taskDefinition=source, include=["TAGS"]))
        except self.ecs.exceptions.ClientException as error:
            raise ReleaseError(
                f"the stack's task definition {source} cannot be read ({error}); run "
                "`python3 dev.py up -- <stack>` (or pass --outputs from this stack) and retry"
            ) from None

    def resolve_image(self, image: ImageReference, repository_uri: str, architecture: str) -> str:
        """`repository_uri@sha256:...` of the image manifest a task of `architecture` runs.

        A tag or digest that names an OCI image index or a Docker manifest list resolves to the
        `linux/<architecture>` image manifest it lists: that digest is what ECR scanned and what the
        task definition pins (functions/release_hooks/image_index.py).
        """
        t = self.targets
        if image.repository is not None and image.repository != repository_uri:
            raise ReleaseError(
                f"{image.text} is not in {t.spec.name}'s repository: push it to {repository_uri}"
            )
        try:
            chosen = image_index.resolve(self.ecr, t.repository, image.image_id, architecture)
        except self.ecr.exceptions.ImageNotFoundException:
            raise ReleaseError(f"no image {image.reference} in {repository_uri}: push it first") from None
        except image_index.ImageIndexError as error:
            raise ReleaseError(f"image {image.reference}: {error}") from None
        if chosen.index_digest is not None:
            self.out(f"{image.reference} is an image index: releasing {chosen.describe()}")
        self._require_scan(chosen.digest, image.reference)
        return f"{repository_uri}@{chosen.digest}"

    def _require_scan(self, digest: str, reference: str) -> None:
        t = self.targets
        try:
            scan = self.ecr.describe_image_scan_findings(
                repositoryName=t.repository, imageId={"imageDigest": digest}
            )
        except self.ecr.exceptions.ScanNotFoundException:
            raise ReleaseError(
                f"image {reference} has not been scanned: scan on push covers new pushes; for this one run "
                f"`aws ecr start-image-scan --repository-name {t.repository} --image-id imageDigest={digest}`"
            ) from None
        status = scan["imageScanStatus"]["status"]
        if status not in ("COMPLETE", "ACTIVE"):
            raise ReleaseError(f"image {reference}'s scan is {status}: release it once the scan is COMPLETE")
        counts = scan.get("imageScanFindings", {}).get("findingSeverityCounts", {})
        listed = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no findings"
        self.out(f"scan of {reference}: {listed} (the BeforeInstall gate applies the stack's threshold)")

    # --- the release ----------------------------------------------------------------------------

    def register_revision(self, current: Mapping[str, Any], image: str) -> str:
        """A copy of `current` (the stack's task definition, see `base_definition`) with only the service
        container's image changed: so a change of task size, environment (the secrets' ARNs included) or
        health check made by `up` reaches the service with this release."""
        definition = current["taskDefinition"]
        accepted = self.ecs.meta.service_model.operation_model("RegisterTaskDefinition").input_shape.members
        request = {k: v for k, v in definition.items() if k in accepted}
        containers = [dict(c) for c in definition["containerDefinitions"]]
        mine = [c for c in containers if c["name"] == self.targets.spec.name]
        if len(mine) != 1:
            raise ReleaseError(
                f"{definition['taskDefinitionArn']} has no container named {self.targets.spec.name}"
            )
        mine[0]["image"] = image
        request["containerDefinitions"] = containers
        if current.get("tags"):
            request["tags"] = current["tags"]
        return str(self.ecs.register_task_definition(**request)["taskDefinition"]["taskDefinitionArn"])

    def start(self, image: str, desired: Mapping[str, Any] | None = None) -> tuple[str, str, str]:
        """Checks, then the revision and the deployment: (deployment id, task definition ARN, image).

        `desired` (the stack's `appSpecProperties` for this service) overrides the running service's
        network configuration, platform version and capacity provider strategy in the AppSpec.
        """
        t = self.targets
        account = self.account()
        service = self.running_service()
        self.no_deployment_in_progress()
        repository_uri = f"{account}.dkr.ecr.{t.region}.amazonaws.com/{t.repository}"
        base = self.base_definition(service, (desired or {}).get("taskDefinition"))
        try:
            architecture = image_index.task_architecture(base["taskDefinition"])
        except image_index.ImageIndexError as error:
            raise ReleaseError(f"the task definition to release: {error}") from None
        resolved = self.resolve_image(parse_image(image), repository_uri, architecture)
        task_definition = self.register_revision(base, resolved)
        self.out(f"registered {task_definition} with {resolved}")
        port = next(
            (
                lb["containerPort"]
                for lb in service.get("loadBalancers", [])
                if lb.get("containerName") == t.spec.name
            ),
            t.spec.container_port,
        )
        partition = "aws-cn" if t.region.startswith("cn-") else "aws"
        hooks = {
            hook: f"arn:{partition}:lambda:{t.region}:{account}:function:{name}"
            for hook, name in t.hook_functions.items()
        }
        spec = appspec({**service, **(desired or {})}, task_definition, t.spec.name, int(port), hooks)
        deployment_id = str(
            self.codedeploy.create_deployment(
                applicationName=t.application,
                deploymentGroupName=t.deployment_group,
                revision=revision(spec),
                description=f"release {t.spec.name} {image}",
            )["deploymentId"]
        )
        self.out(f"created deployment {deployment_id} in {t.application}/{t.deployment_group}")
        return deployment_id, task_definition, resolved

    def follow(self, deployment_id: str, timeout: float, poll: float) -> tuple[str, str]:
        """Print each status change until the deployment ends or `timeout` passes: (status, error)."""
        deadline = self.clock() + timeout
        shown: dict[str, str] = {}
        last = ""
        while True:
            info = self.codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
            status = str(info["status"])
            if status != last:
                self.out(f"  deployment {status}")
                last = status
            for name, event_status in self.lifecycle_events(deployment_id):
                if shown.get(name) != event_status:
                    self.out(f"    {name}: {event_status}")
                    shown[name] = event_status
            if status not in ACTIVE:
                return status, str((info.get("errorInformation") or {}).get("message") or "")
            if self.clock() + poll > deadline:
                return "TimedOut", f"still {status} after {timeout:g}s; follow it in the CodeDeploy console"
            self.sleep(poll)

    def lifecycle_events(self, deployment_id: str) -> list[tuple[str, str]]:
        """The ECS target's lifecycle events (BeforeInstall, Install, ...) and their statuses."""
        try:
            targets = self.codedeploy.list_deployment_targets(deploymentId=deployment_id).get("targetIds", [])
            events: list[tuple[str, str]] = []
            for target_id in targets:
                target = self.codedeploy.get_deployment_target(deploymentId=deployment_id, targetId=target_id)
                for event in target["deploymentTarget"].get("ecsTarget", {}).get("lifecycleEvents", []):
                    events.append((str(event["lifecycleEventName"]), str(event["status"])))
            return events
        except ClientError:
            return []  # targets are listed once the deployment starts; until then, the status alone
