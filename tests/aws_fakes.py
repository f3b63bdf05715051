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
from moto.codedeploy.models import CodeDeployBackend, codedeploy_backends
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


@pytest.fixture
def codedeploy_starts_task_sets(monkeypatch) -> None:
    """moto's CreateDeployment only records the deployment; CodeDeploy's first ECS step is to create the
    replacement task set from the AppSpec's TargetService properties. This does that step in moto's ECS.

    The deployment group must name its ECS service (`ecsServices`), as the services layer's groups do.
    """
    original = CodeDeployBackend.create_deployment

    def create_deployment(self: CodeDeployBackend, application_name: str, deployment_group_name: str,
                          revision: dict[str, Any], *args: Any, **kwargs: Any) -> str:  # fmt: skip
        deployment_id = original(self, application_name, deployment_group_name, revision, *args, **kwargs)
        group = self.deployment_groups[application_name][deployment_group_name]
        [target] = group.ecs_services
        spec = json.loads(revision["appSpecContent"]["content"])
        properties = spec["Resources"][0]["TargetService"]["Properties"]
        awsvpc = (properties.get("NetworkConfiguration") or {}).get("AwsvpcConfiguration")
        ecs_backends[ACCOUNT][REGION].create_task_set(
            service=target["serviceName"],
            cluster_str=target["clusterName"],
            task_definition=properties["TaskDefinition"],
            external_id=deployment_id,
            network_configuration={
                "awsvpcConfiguration": {
                    "subnets": awsvpc["Subnets"],
                    "securityGroups": awsvpc["SecurityGroups"],
                    "assignPublicIp": awsvpc["AssignPublicIp"],
                }
            }
            if awsvpc
            else None,
            launch_type="FARGATE",
            capacity_provider_strategy=[
                {"capacityProvider": s["CapacityProvider"], "weight": s["Weight"], "base": s["Base"]}
                for s in properties.get("CapacityProviderStrategy", [])
            ],
            platform_version=properties.get("PlatformVersion"),
        )
        return str(deployment_id)

    monkeypatch.setattr(CodeDeployBackend, "create_deployment", create_deployment)


def create_network(monkeypatch, subnet_ids: list[str], group_ids: list[str]) -> None:
    """Put into moto's EC2 the subnets and security groups an offline `up` gave these ids to, so moto's
    ECS (which checks that a service's subnets and groups exist) accepts them. moto draws ids at
    random; each create here takes the next given id instead."""
    import moto.ec2.models.security_groups as security_groups
    import moto.ec2.models.subnets as subnets

    ec2 = boto3.client("ec2", region_name=REGION)
    # A VPC comes with a default group (and moto's default VPC with subnets): made before the patch.
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ids = iter([*subnet_ids, *group_ids])
    subnet_id, group_id = subnets.random_subnet_id, security_groups.random_security_group_id
    monkeypatch.setattr(subnets, "random_subnet_id", lambda: next(ids, None) or subnet_id())
    monkeypatch.setattr(security_groups, "random_security_group_id", lambda: next(ids, None) or group_id())
    for index, _ in enumerate(subnet_ids):
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{index}.0/24")
    for index, _ in enumerate(group_ids):
        ec2.create_security_group(GroupName=f"group-{index}", Description="offline up", VpcId=vpc)


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


def codedeploy_group(application: str, group: str, cluster: str = "", service: str = "") -> None:
    codedeploy = boto3.client("codedeploy", region_name=REGION)
    codedeploy.create_application(applicationName=application, computePlatform="ECS")
    ecs = {"ecsServices": [{"clusterName": cluster, "serviceName": service}]} if service else {}
    codedeploy.create_deployment_group(
        applicationName=application,
        deploymentGroupName=group,
        serviceRoleArn=f"arn:aws:iam::{ACCOUNT}:role/role-codedeploy-dev",
        **ecs,
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
