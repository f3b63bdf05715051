"""moto set-ups the release command and the deployment hooks share: an ECS service released by
CodeDeploy, its ECR repository with pushed images and their scans, and CodeDeploy's hook answers.

moto emulates most of what these need. Where it stops (CodeDeploy's lifecycle hook status, a
deployment's progress, ECS capacity provider strategies) the helpers reach into its backend and say so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.codedeploy.models import codedeploy_backends
from moto.codedeploy.responses import CodeDeployResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult, EmptyResult
from moto.ecr.models import ecr_backends
from moto.ecs.models import ecs_backends

REGION = "us-east-1"
ACCOUNT = DEFAULT_ACCOUNT_ID


# deployment id -> the ECS target's lifecycle events, as ListDeploymentTargets/GetDeploymentTarget show them
LIFECYCLE_EVENTS: dict[str, list[dict[str, str]]] = {}


def set_lifecycle_events(deployment_id: str, events: list[tuple[str, str]]) -> None:
    LIFECYCLE_EVENTS[deployment_id] = [{"lifecycleEventName": n, "status": s} for n, s in events]


def _list_deployment_targets(self: CodeDeployResponse) -> ActionResult:
    deployment_id = self._get_param("deploymentId")
    self.codedeploy_backend.get_deployment(deployment_id)
    return ActionResult({"targetIds": ["ecs-target"] if deployment_id in LIFECYCLE_EVENTS else []})


def _get_deployment_target(self: CodeDeployResponse) -> ActionResult:
    deployment_id = self._get_param("deploymentId")
    target = {
        "deploymentTargetType": "ECSTarget",
        "ecsTarget": {"lifecycleEvents": LIFECYCLE_EVENTS[deployment_id]},
    }
    return ActionResult({"deploymentTarget": target})


@pytest.fixture
def aws(monkeypatch) -> Iterator[None]:
    """Fake credentials and moto for every AWS API in the test.

    moto has no ListDeploymentTargets or GetDeploymentTarget: they answer from LIFECYCLE_EVENTS.
    """
    LIFECYCLE_EVENTS.clear()
    monkeypatch.setattr(
        CodeDeployResponse, "list_deployment_targets", _list_deployment_targets, raising=False
    )
    monkeypatch.setattr(CodeDeployResponse, "get_deployment_target", _get_deployment_target, raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


@dataclass
class HookAnswers:
    """What hooks reported with PutLifecycleEventHookExecutionStatus: (deployment, execution, status)."""

    calls: list[tuple[str, str, str]] = field(default_factory=list)


@pytest.fixture
def hook_answers(monkeypatch) -> HookAnswers:
    """moto has no PutLifecycleEventHookExecutionStatus: record the calls as CodeDeploy would receive them."""
    answers = HookAnswers()

    def put_lifecycle_event_hook_execution_status(self: CodeDeployResponse) -> EmptyResult:
        deployment_id = self._get_param("deploymentId")
        self.codedeploy_backend.get_deployment(deployment_id)  # an unknown id fails, as on AWS
        answers.calls.append(
            (deployment_id, self._get_param("lifecycleEventHookExecutionId"), self._get_param("status"))
        )
        return EmptyResult()

    monkeypatch.setattr(
        CodeDeployResponse,
        "put_lifecycle_event_hook_execution_status",
        put_lifecycle_event_hook_execution_status,
        raising=False,
    )
    return answers


def push_image(repository: str, tag: str) -> str:
    """Push a distinct image under `tag`; returns its digest."""
    layer = "sha256:" + hashlib.sha256(f"{repository}:{tag}".encode()).hexdigest()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1, "digest": layer},
        "layers": [
            {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1, "digest": layer}
        ],
    }
    ecr = boto3.client("ecr", region_name=REGION)
    image = ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)
    return str(image["image"]["imageId"]["imageDigest"])


def set_scan(repository: str, digest: str, status: str, counts: dict[str, int] | None = None) -> None:
    """Give the image a scan result, as ECR's basic scanning would after a push.

    moto keys a result by the exact imageId a caller sends; the release command and the scan gate
    both ask by digest, so the result is stored under that key.
    """
    image = ecr_backends[ACCOUNT][REGION]._get_repository(repository, None)._get_image(None, digest)
    image.last_scan = datetime.now()
    findings: dict[str, Any] = {"findingSeverityCounts": counts or {}, "findings": []}
    image.scan_finding_results[json.dumps({"imageDigest": digest})] = {
        "registryId": ACCOUNT,
        "repositoryName": repository,
        "imageId": {"imageDigest": digest},
        "imageScanStatus": {"status": status, "description": status.lower()},
        **({"imageScanFindings": findings} if status == "COMPLETE" else {}),
    }


def set_deployment_status(deployment_id: str, status: str) -> None:
    """Move a deployment on, as CodeDeploy would (moto leaves every deployment at Created)."""
    codedeploy_backends[ACCOUNT][REGION].deployments[deployment_id].status = status


def set_capacity_provider_strategy(cluster: str, service: str, strategy: list[dict[str, Any]]) -> None:
    """moto's CreateService ignores capacityProviderStrategy; DescribeServices returns what is set here."""
    ecs_backends[ACCOUNT][REGION].services[f"{cluster}:{service}"].capacity_provider_strategy = strategy


def appspec(task_definition_arn: str) -> str:
    return json.dumps(
        {
            "version": 0.0,
            "Resources": [
                {
                    "TargetService": {
                        "Type": "AWS::ECS::Service",
                        "Properties": {
                            "TaskDefinition": task_definition_arn,
                            "LoadBalancerInfo": {"ContainerName": "api-gateway", "ContainerPort": 8080},
                        },
                    }
                }
            ],
        }
    )


def codedeploy_group(application: str, group: str) -> None:
    codedeploy = boto3.client("codedeploy", region_name=REGION)
    codedeploy.create_application(applicationName=application, computePlatform="ECS")
    codedeploy.create_deployment_group(
        applicationName=application,
        deploymentGroupName=group,
        serviceRoleArn=f"arn:aws:iam::{ACCOUNT}:role/role-codedeploy-dev",
    )


def create_deployment(application: str, group: str, content: str) -> str:
    codedeploy = boto3.client("codedeploy", region_name=REGION)
    return str(
        codedeploy.create_deployment(
            applicationName=application,
            deploymentGroupName=group,
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": content}},
        )["deploymentId"]
    )
