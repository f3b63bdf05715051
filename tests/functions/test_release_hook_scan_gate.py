"""The BeforeInstall scan gate against moto's ECR, ECS and CodeDeploy: the verdict it reports."""

from __future__ import annotations

import boto3
import pytest

from functions.release_hooks import scan_gate
from functions.release_hooks.lifecycle import Deployment, HookError
from tests.aws_fakes import REGION, appspec, codedeploy_group, create_deployment, push_image, set_scan
from tests.image_documents import push_index

REPOSITORY = "ecr-api-gateway-dev"
APP, GROUP = "codedeploy-payments-dev", "deployment-group-api-gateway-dev"


class Context:
    def __init__(self, seconds: float = 60) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


@pytest.fixture
def release(aws, hook_answers):
    """A deployment of a task definition whose image is `ecr-api-gateway-dev:v2`, pushed, not scanned."""
    ecr = boto3.client("ecr", region_name=REGION)
    uri = ecr.create_repository(repositoryName=REPOSITORY)["repository"]["repositoryUri"]
    digest = push_image(REPOSITORY, "v2")
    arn = boto3.client("ecs", region_name=REGION).register_task_definition(
        family="task-api-gateway-dev",
        containerDefinitions=[{"name": "api-gateway", "image": f"{uri}@{digest}", "memory": 2048}],
    )["taskDefinition"]["taskDefinitionArn"]
    codedeploy_group(APP, GROUP)
    deployment_id = create_deployment(APP, GROUP, appspec(arn))
    return {"digest": digest, "deployment": deployment_id, "answers": hook_answers, "uri": uri}


def run(release, monkeypatch, **env: str) -> dict:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    event = {"DeploymentId": release["deployment"], "LifecycleEventHookExecutionId": "hook-exec-1"}
    return scan_gate.handler(event, Context())


def test_a_clean_scan_passes_and_reports_succeeded(release, monkeypatch):
    set_scan(REPOSITORY, release["digest"], "COMPLETE", {"LOW": 3, "MEDIUM": 1})
    result = run(release, monkeypatch)
    assert result["status"] == "Succeeded"
    assert release["answers"].calls == [(release["deployment"], "hook-exec-1", "Succeeded")]


def test_a_high_finding_fails_the_deployment(release, monkeypatch):
    set_scan(REPOSITORY, release["digest"], "COMPLETE", {"HIGH": 2, "LOW": 1})
    result = run(release, monkeypatch)
    assert release["answers"].calls == [(release["deployment"], "hook-exec-1", "Failed")]
    assert result["reasons"] == [f"{release['uri']}@{release['digest']}: 2 HIGH finding(s) at or above HIGH"]


def test_the_threshold_is_configurable(release, monkeypatch):
    set_scan(REPOSITORY, release["digest"], "COMPLETE", {"HIGH": 2})
    assert run(release, monkeypatch, SEVERITY_THRESHOLD="CRITICAL")["status"] == "Succeeded"
    set_scan(REPOSITORY, release["digest"], "COMPLETE", {"MEDIUM": 1})
    assert run(release, monkeypatch, SEVERITY_THRESHOLD="medium")["status"] == "Failed"


def test_a_missing_scan_fails(release, monkeypatch):
    result = run(release, monkeypatch)  # pushed, never scanned
    assert result["status"] == "Failed"
    assert "never scanned" in result["reasons"][0]
    assert release["answers"].calls[-1][2] == "Failed"


@pytest.mark.parametrize("status", ["FAILED", "UNSUPPORTED_IMAGE", "SCAN_ELIGIBILITY_EXPIRED"])
def test_a_scan_that_did_not_finish_fails(release, monkeypatch, status):
    set_scan(REPOSITORY, release["digest"], status)
    result = run(release, monkeypatch)
    assert result["reasons"] == [f"{release['uri']}@{release['digest']}: scan {status}"]


def test_a_scan_still_in_progress_after_the_wait_fails(release, monkeypatch):
    set_scan(REPOSITORY, release["digest"], "IN_PROGRESS")
    result = run(release, monkeypatch, SCAN_WAIT_SECONDS="0", SCAN_POLL_SECONDS="1")
    assert result["status"] == "Failed"
    assert result["reasons"][0].endswith("scan still IN_PROGRESS after waiting 0s")


def test_a_scan_that_finishes_while_waiting_is_judged_on_its_findings(release):
    set_scan(REPOSITORY, release["digest"], "IN_PROGRESS")
    now = [0.0]

    def sleep(seconds: float) -> None:  # the scan completes during the first wait
        now[0] += seconds
        set_scan(REPOSITORY, release["digest"], "COMPLETE", {"CRITICAL": 1})

    config = scan_gate.GateConfig("HIGH", wait_seconds=30, poll_seconds=5)
    gate = scan_gate.ScanGate(
        boto3.client("ecs", region_name=REGION),
        boto3.client("ecr", region_name=REGION),
        config,
        deadline=30,
        clock=lambda: now[0],
        sleep=sleep,
    )
    deployment = Deployment.read(boto3.client("codedeploy", region_name=REGION), release["deployment"])
    verdict = gate.check(deployment)
    assert now[0] == 5
    assert verdict.reasons == (
        f"{release['uri']}@{release['digest']}: 1 CRITICAL finding(s) at or above HIGH",
    )


def test_an_image_outside_ecr_fails(aws, hook_answers, monkeypatch):
    arn = boto3.client("ecs", region_name=REGION).register_task_definition(
        family="task-api-gateway-dev",
        containerDefinitions=[
            {"name": "api-gateway", "image": "docker.io/library/nginx:1.27", "memory": 2048}
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    codedeploy_group(APP, GROUP)
    deployment_id = create_deployment(APP, GROUP, appspec(arn))
    result = scan_gate.handler(
        {"DeploymentId": deployment_id, "LifecycleEventHookExecutionId": "x"}, Context()
    )
    assert result["reasons"] == ["docker.io/library/nginx:1.27: not an ECR image, so no scan vouches for it"]
    assert hook_answers.calls == [(deployment_id, "x", "Failed")]


def test_a_bad_threshold_is_reported_as_a_failed_hook_not_a_silent_timeout(release, monkeypatch):
    set_scan(REPOSITORY, release["digest"], "COMPLETE", {})
    result = run(release, monkeypatch, SEVERITY_THRESHOLD="SEVERE")
    assert result["status"] == "Failed"
    assert "SEVERITY_THRESHOLD='SEVERE' must be one of" in result["reasons"][0]
    assert release["answers"].calls[-1][2] == "Failed"


def test_an_appspec_without_a_task_definition_fails(aws, hook_answers):
    codedeploy_group(APP, GROUP)
    deployment_id = create_deployment(APP, GROUP, '{"version": 0.0, "Resources": []}')
    result = scan_gate.handler(
        {"DeploymentId": deployment_id, "LifecycleEventHookExecutionId": "x"}, Context()
    )
    assert result["status"] == "Failed"
    assert "TaskDefinition" in result["reasons"][0]


def test_an_event_that_is_not_from_codedeploy_is_refused(aws):
    with pytest.raises(HookError, match="LifecycleEventHookExecutionId"):
        scan_gate.handler({"DeploymentId": "d-1"}, Context())


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/ecr-api-gateway-dev:v2",
            scan_gate.EcrImage("123456789012", "ecr-api-gateway-dev", "v2", None),
        ),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app@sha256:" + "0" * 64,
            scan_gate.EcrImage("123456789012", "team/app", None, "sha256:" + "0" * 64),
        ),
        ("public.ecr.aws/example/app:1", None),
    ],
)
def test_ecr_image_references_are_parsed(image, expected):
    assert scan_gate.EcrImage.parse(image) == expected


# --- images pushed as an OCI image index -----------------------------------------------------------------


def index_release(
    aws_hook_answers, image_suffix: str, architecture: str = "X86_64", arches=("amd64", "arm64")
):
    """A deployment whose task definition names an OCI index (by tag or digest), as `up` may pin it."""
    ecr = boto3.client("ecr", region_name=REGION)
    uri = ecr.create_repository(repositoryName=REPOSITORY)["repository"]["repositoryUri"]
    pushed = push_index(REGION, REPOSITORY, "v3", arches)
    image = f"{uri}:v3" if image_suffix == "tag" else f"{uri}@{pushed['index']}"
    arn = boto3.client("ecs", region_name=REGION).register_task_definition(
        family="task-api-gateway-dev",
        containerDefinitions=[{"name": "api-gateway", "image": image, "memory": 2048}],
        runtimePlatform={"cpuArchitecture": architecture, "operatingSystemFamily": "LINUX"},
    )["taskDefinition"]["taskDefinitionArn"]
    codedeploy_group(APP, GROUP)
    deployment_id = create_deployment(APP, GROUP, appspec(arn))
    return {"deployment": deployment_id, "answers": aws_hook_answers, "image": image, **pushed}


@pytest.mark.parametrize("named_by", ["tag", "digest"])
def test_an_index_is_judged_by_the_scan_of_the_tasks_platform_image(aws, hook_answers, monkeypatch, named_by):
    release = index_release(hook_answers, named_by)
    set_scan(REPOSITORY, release["amd64"], "COMPLETE", {"LOW": 1})
    set_scan(REPOSITORY, release["arm64"], "COMPLETE", {"CRITICAL": 4})  # not what this task runs
    assert run(release, monkeypatch)["status"] == "Succeeded"


def test_an_arm64_task_is_judged_by_the_arm64_image(aws, hook_answers, monkeypatch):
    release = index_release(hook_answers, "digest", architecture="ARM64")
    set_scan(REPOSITORY, release["amd64"], "COMPLETE")
    set_scan(REPOSITORY, release["arm64"], "COMPLETE", {"HIGH": 1})
    result = run(release, monkeypatch)
    assert result["status"] == "Failed"
    assert result["reasons"] == [
        f"{release['image']} (linux/arm64 image {release['arm64']}): 1 HIGH finding(s) at or above HIGH"
    ]


def test_an_index_whose_platform_image_was_not_scanned_fails(aws, hook_answers, monkeypatch):
    release = index_release(hook_answers, "digest")
    set_scan(REPOSITORY, release["index"], "COMPLETE")  # a result on the index does not vouch for the image
    result = run(release, monkeypatch)
    assert result["status"] == "Failed"
    assert "scan missing: the image was never scanned" in result["reasons"][0]


def test_an_index_without_the_tasks_architecture_fails_naming_it(aws, hook_answers, monkeypatch):
    release = index_release(hook_answers, "tag", arches=("arm64",))
    result = run(release, monkeypatch)
    assert result["status"] == "Failed"
    assert "the image index lists no linux/amd64 image" in result["reasons"][0]
