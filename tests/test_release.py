"""The release command against moto's ECS, ECR and CodeDeploy: the revision, the AppSpec, the waiting
loop, the exit codes and every refusal."""

from __future__ import annotations

import json
import socket

import boto3
import pytest
from botocore.config import Config

from release import cli
from release.appspec import appspec
from release.targets import Targets
from tests.aws_fakes import (
    ACCOUNT,
    REGION,
    codedeploy_group,
    push_image,
    set_capacity_provider_strategy,
    set_deployment_status,
    set_lifecycle_events,
    set_scan,
)

CLUSTER, SERVICE, FAMILY = "ecs-cluster-dev", "ecs-service-api-gateway-dev", "task-api-gateway-dev"
REPOSITORY = "ecr-api-gateway-dev"
APP, GROUP = "codedeploy-payments-dev", "deployment-group-api-gateway-dev"
URI = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}"
STRATEGY = [
    {"capacityProvider": "FARGATE", "weight": 1, "base": 0},
    {"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 0},
]


@pytest.fixture
def deployed(aws):
    """What the services layer leaves for api-gateway in stack dev: service, repository, group."""
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2, 3)
    ]
    group = ec2.create_security_group(GroupName="security-group-api-gateway-dev", Description="x", VpcId=vpc)[
        "GroupId"
    ]
    boto3.client("ecr", region_name=REGION).create_repository(repositoryName=REPOSITORY)
    push_image(REPOSITORY, "v1")
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName=CLUSTER)
    container = {
        "name": "api-gateway",
        "image": f"{URI}:v1",
        "memory": 2048,
        "essential": True,
        "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
        "environment": [{"name": "PORT", "value": "8080"}],
        "readonlyRootFilesystem": True,
    }
    first = ecs.register_task_definition(
        family=FAMILY,
        containerDefinitions=[container],
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="1024",
        memory="2048",
        executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/role-api-gateway-execution-dev",
        taskRoleArn=f"arn:aws:iam::{ACCOUNT}:role/role-api-gateway-task-dev",
        runtimePlatform={"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        tags=[{"key": "Service", "value": "api-gateway"}],
    )["taskDefinition"]
    ecs.create_service(
        cluster=CLUSTER,
        serviceName=SERVICE,
        taskDefinition=first["taskDefinitionArn"],
        desiredCount=2,
        deploymentController={"type": "CODE_DEPLOY"},
        platformVersion="LATEST",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": subnets,
                "securityGroups": [group],
                "assignPublicIp": "DISABLED",
            }
        },
        loadBalancers=[
            {
                "targetGroupArn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/tg-api/1",
                "containerName": "api-gateway",
                "containerPort": 8080,
            }
        ],
    )
    set_capacity_provider_strategy(CLUSTER, SERVICE, STRATEGY)
    codedeploy_group(APP, GROUP)
    v2 = push_image(REPOSITORY, "v2")
    set_scan(REPOSITORY, v2, "COMPLETE", {"LOW": 2})
    return {"first": first, "subnets": subnets, "group": group, "v2": v2}


class Run:
    """One `payments-release` invocation: its output, exit code, and a clock that moves with sleep."""

    def __init__(self, statuses: list[str] | None = None) -> None:
        self.lines: list[str] = []
        self.statuses = list(statuses or [])
        self.now = 0.0
        self.deployment_id = ""

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        if self.statuses:
            set_deployment_status(self.deployment_id or latest_deployment(), self.statuses.pop(0))

    def __call__(self, *argv: str) -> int:
        return cli.main(
            list(argv),
            clients=lambda service, region: boto3.client(service, region_name=region),
            out=self.lines.append,
            clock=lambda: self.now,
            sleep=self.sleep,
        )

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def latest_deployment() -> str:
    codedeploy = boto3.client("codedeploy", region_name=REGION)
    return codedeploy.list_deployments(applicationName=APP, deploymentGroupName=GROUP)["deployments"][-1]


def deployment_info(deployment_id: str) -> dict:
    return boto3.client("codedeploy", region_name=REGION).get_deployment(deploymentId=deployment_id)[
        "deploymentInfo"
    ]


def test_a_release_registers_a_revision_that_changes_only_the_image(deployed):
    run = Run(["InProgress", "Succeeded"])
    assert run("dev", "api-gateway", "v2", "--poll", "5") == cli.OK
    ecs = boto3.client("ecs", region_name=REGION)
    new = ecs.describe_task_definition(taskDefinition=f"{FAMILY}:2", include=["TAGS"])
    before = deployed["first"]
    after = new["taskDefinition"]
    assert after["containerDefinitions"][0]["image"] == f"{URI}@{deployed['v2']}"
    ignored = {"taskDefinitionArn", "revision", "registeredAt", "registeredBy", "containerDefinitions"}
    assert {k: v for k, v in after.items() if k not in ignored} == {
        k: v for k, v in before.items() if k not in ignored
    }
    assert {**after["containerDefinitions"][0], "image": "same"} == {
        **before["containerDefinitions"][0],
        "image": "same",
    }
    assert new["tags"] == [{"key": "Service", "value": "api-gateway"}]


def test_the_appspec_names_the_revision_container_network_strategy_and_hooks(deployed):
    run = Run(["Succeeded"])
    assert run("dev", "api-gateway", "v2", "--poll", "1") == cli.OK
    info = deployment_info(latest_deployment())
    content = info["revision"]["appSpecContent"]["content"]
    spec = json.loads(content)
    [resource] = spec["Resources"]
    properties = resource["TargetService"]["Properties"]
    assert resource["TargetService"]["Type"] == "AWS::ECS::Service"
    assert properties["TaskDefinition"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{FAMILY}:2"
    assert properties["LoadBalancerInfo"] == {"ContainerName": "api-gateway", "ContainerPort": 8080}
    assert properties["PlatformVersion"] == "LATEST"
    assert properties["NetworkConfiguration"] == {
        "AwsvpcConfiguration": {
            "Subnets": deployed["subnets"],
            "SecurityGroups": [deployed["group"]],
            "AssignPublicIp": "DISABLED",
        }
    }
    assert properties["CapacityProviderStrategy"] == [
        {"Base": 0, "CapacityProvider": "FARGATE", "Weight": 1},
        {"Base": 0, "CapacityProvider": "FARGATE_SPOT", "Weight": 3},
    ]
    assert spec["Hooks"] == [
        {"BeforeInstall": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:lambda-scan-gate-dev"},
        {"AfterAllowTestTraffic": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:lambda-smoke-test-dev"},
    ]
    assert info["description"] == "release api-gateway v2"


def test_a_service_without_network_configuration_gets_none_in_the_appspec():
    spec = appspec({"capacityProviderStrategy": []}, "arn:td", "api-gateway", 8080, {})
    assert "NetworkConfiguration" not in spec["Resources"][0]["TargetService"]["Properties"]
    assert "CapacityProviderStrategy" not in spec["Resources"][0]["TargetService"]["Properties"]


def test_the_wait_shows_each_status_and_ends_with_a_summary(deployed):
    run = Run(["Queued", "InProgress", "InProgress", "Succeeded"])
    assert run("dev", "api-gateway", "v2", "--poll", "10") == cli.OK
    statuses = [
        line.strip()
        for line in run.lines
        if line.strip().startswith("deployment ") and len(line.split()) == 2
    ]
    assert statuses == [
        "deployment Created",
        "deployment Queued",
        "deployment InProgress",
        "deployment Succeeded",
    ]
    assert run.now == 40  # four polls of 10 s, no busy loop
    assert "release of api-gateway (dev): Succeeded" in run.text
    assert f"image            {URI}@{deployed['v2']}" in run.text


def test_progress_shows_each_lifecycle_event_change_once_and_the_summary_lists_them(deployed):
    steps = [
        [("BeforeInstall", "Succeeded"), ("Install", "InProgress")],
        [("BeforeInstall", "Succeeded"), ("Install", "InProgress")],  # no change: nothing printed
        [("BeforeInstall", "Succeeded"), ("Install", "Succeeded"), ("AfterAllowTestTraffic", "Succeeded")],
    ]
    run = Run(["InProgress", "InProgress", "Succeeded"])
    plain_sleep = run.sleep

    def sleep(seconds: float) -> None:  # CodeDeploy moves the events on as the deployment runs
        set_lifecycle_events(latest_deployment(), steps.pop(0))
        plain_sleep(seconds)

    run.sleep = sleep  # type: ignore[method-assign]
    assert run("dev", "api-gateway", "v2", "--poll", "1") == cli.OK
    assert [line.strip() for line in run.lines if line.startswith("    ")] == [
        "BeforeInstall: Succeeded",
        "Install: InProgress",
        "Install: Succeeded",
        "AfterAllowTestTraffic: Succeeded",
    ]
    assert "  AfterAllowTestTraffic    Succeeded" in run.lines


@pytest.mark.parametrize("status", ["Failed", "Stopped"])
def test_a_failed_or_rolled_back_deployment_exits_1(deployed, status):
    run = Run(["InProgress", status])
    assert run("dev", "api-gateway", "v2", "--poll", "1") == cli.FAILED
    assert f"release of api-gateway (dev): {status}" in run.text
    assert "rolled back: production traffic stayed on the previous task set" in run.text


def test_no_wait_returns_once_the_deployment_exists(deployed):
    run = Run()
    assert run("dev", "api-gateway", "v2", "--no-wait") == cli.OK
    assert deployment_info(latest_deployment())["status"] == "Created"
    assert run.now == 0
    assert f"aws deploy get-deployment --deployment-id {latest_deployment()}" in run.text


def test_a_deployment_still_running_at_the_timeout_exits_3(deployed):
    run = Run(["InProgress"] * 10)
    assert run("dev", "api-gateway", "v2", "--poll", "10", "--timeout", "30") == cli.TIMED_OUT
    assert "still InProgress after 30s" in run.text


def test_a_deployment_already_in_progress_is_refused_with_its_id(deployed):
    first = Run()
    assert first("dev", "api-gateway", "v2", "--no-wait") == cli.OK
    running = latest_deployment()
    set_deployment_status(running, "InProgress")
    second = Run()
    assert second("dev", "api-gateway", "v2") == cli.REFUSED
    assert f"deployment {running} of api-gateway is still in progress" in second.text
    ecs = boto3.client("ecs", region_name=REGION)
    revisions = ecs.list_task_definitions(familyPrefix=FAMILY)["taskDefinitionArns"]
    assert len(revisions) == 2  # the refused release registered nothing


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["prod-eu", "api-gateway", "v2"],
            "unknown stack 'prod-eu': there is no stacks/services/Pulumi.prod-eu.yaml",
        ),
        (
            ["dev", "billing", "v2"],
            "unknown service 'billing': use one of api-gateway, payment-processor, fraud-detector",
        ),
        (["dev", "api-gateway", "v9"], f"no image v9 in {URI}: push it first"),
        (["dev", "api-gateway", "public.ecr.aws/acme/api:v2"], "is not in api-gateway's repository"),
        (
            ["dev", "api-gateway", f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/ecr-fraud-detector-dev:v2"],
            "is not in api-gateway's repository",
        ),
    ],
)
def test_bad_input_is_refused_before_anything_changes(deployed, argv, message):
    run = Run()
    assert run(*argv) == cli.REFUSED
    assert message in run.text
    assert (
        boto3.client("codedeploy", region_name=REGION).list_deployments(
            applicationName=APP, deploymentGroupName=GROUP
        )["deployments"]
        == []
    )


def test_an_image_by_digest_or_full_reference_resolves_to_the_same_digest(deployed):
    for image in (deployed["v2"], f"{URI}:v2", f"{URI}@{deployed['v2']}"):
        run = Run()
        assert run("dev", "api-gateway", image, "--no-wait") == cli.OK
        set_deployment_status(latest_deployment(), "Succeeded")
        assert f"with {URI}@{deployed['v2']}" in run.text


def test_an_image_never_scanned_is_refused_with_the_command_to_scan_it(deployed):
    digest = push_image(REPOSITORY, "v3")
    run = Run()
    assert run("dev", "api-gateway", "v3") == cli.REFUSED
    assert "image v3 has not been scanned" in run.text
    assert (
        f"aws ecr start-image-scan --repository-name {REPOSITORY} --image-id imageDigest={digest}" in run.text
    )


def test_an_image_whose_scan_is_running_is_refused(deployed):
    digest = push_image(REPOSITORY, "v3")
    set_scan(REPOSITORY, digest, "IN_PROGRESS")
    run = Run()
    assert run("dev", "api-gateway", "v3") == cli.REFUSED
    assert "scan is IN_PROGRESS" in run.text


def test_a_stack_that_is_not_deployed_is_refused(aws):
    run = Run()
    assert run("dev", "api-gateway", "v2") == cli.REFUSED
    assert "ecs-service-api-gateway-dev is not running in cluster ecs-cluster-dev (us-east-1)" in run.text


def test_no_credentials_is_refused_with_how_to_set_them(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    run = Run()
    assert run("dev", "api-gateway", "v2") == cli.REFUSED
    assert "no AWS credentials found" in run.text


def test_an_unknown_stack_names_the_projects_own_commands():
    run = Run()
    assert run("prod-eu", "api-gateway", "v2") == cli.REFUSED
    assert "`python3 dev.py init -- prod-eu --suffix <suffix>`" in run.text
    assert "pulumi stack init" not in run.text


def test_aws_out_of_reach_is_a_one_line_refusal(monkeypatch):
    """A real botocore client against a loopback port nobody listens on: no traceback, exit 2."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with socket.socket() as probe:  # a free port, closed again: connections to it are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    unreachable = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=2)
    lines: list[str] = []
    code = cli.main(
        ["dev", "api-gateway", "v2"],
        clients=lambda service, region: boto3.client(
            service, region_name=region, endpoint_url=f"http://127.0.0.1:{port}", config=unreachable
        ),
        out=lines.append,
    )
    assert code == cli.REFUSED
    assert len(lines) == 1
    assert lines[0].startswith("release refused: AWS could not be reached (")
    assert "HTTPS_PROXY" in lines[0]


def test_names_come_from_the_stacks_suffix():
    targets = Targets.resolve("dev", "payment-processor")
    assert (
        targets.cluster,
        targets.ecs_service,
        targets.application,
        targets.deployment_group,
        targets.repository,
    ) == (
        "ecs-cluster-dev",
        "ecs-service-payment-processor-dev",
        "codedeploy-payments-dev",
        "deployment-group-payment-processor-dev",
        "ecr-payment-processor-dev",
    )
    assert targets.hook_functions == {
        "BeforeInstall": "lambda-scan-gate-dev",
        "AfterAllowTestTraffic": "lambda-smoke-test-dev",
    }
    assert targets.region == "us-east-1"
