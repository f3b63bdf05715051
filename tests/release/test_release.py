"""The release command against moto's ECS, ECR and CodeDeploy: the revision, the AppSpec, the waiting
loop, the exit codes and every refusal."""

from __future__ import annotations

import json
import socket

import boto3
import pytest
from botocore.config import Config

from functions.release_hooks.image_index import DOCKER_MANIFEST_LIST, OCI_INDEX
from release import cli
from release.appspec import appspec
from release.reference import parse_image
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
from tests.image_documents import push_index

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
            outputs=lambda stack: None,  # no Pulumi CLI: the running service's settings
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
    assert lines[-1].startswith("release refused: AWS could not be reached (")
    assert "HTTPS_PROXY" in lines[-1]
    assert not any("Traceback" in line for line in lines)


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


# --- images pushed as an OCI image index or a Docker manifest list ---------------------------------------


@pytest.mark.parametrize("media_type", [OCI_INDEX, DOCKER_MANIFEST_LIST], ids=["oci-index", "manifest-list"])
def test_an_index_releases_the_amd64_image_it_lists_and_requires_that_images_scan(deployed, media_type):
    pushed = push_index(REGION, REPOSITORY, "v3", ("arm64", "amd64"), media_type=media_type)
    set_scan(REPOSITORY, pushed["amd64"], "COMPLETE", {"LOW": 1})
    run = Run(["Succeeded"])
    assert run("dev", "api-gateway", "v3", "--poll", "1") == cli.OK, run.text
    ecs = boto3.client("ecs", region_name=REGION)
    released = ecs.describe_task_definition(taskDefinition=f"{FAMILY}:2")["taskDefinition"]
    assert released["containerDefinitions"][0]["image"] == f"{URI}@{pushed['amd64']}"
    assert (
        f"v3 is an image index: releasing {pushed['amd64']} "
        f"(the linux/amd64 image of index {pushed['index']})" in run.text
    )


def test_an_index_by_digest_resolves_to_the_same_platform_image(deployed):
    pushed = push_index(REGION, REPOSITORY, "v3")
    set_scan(REPOSITORY, pushed["amd64"], "COMPLETE")
    run = Run()
    assert run("dev", "api-gateway", f"{URI}@{pushed['index']}", "--no-wait") == cli.OK, run.text
    assert f"with {URI}@{pushed['amd64']}" in run.text


def test_an_index_whose_platform_image_is_unscanned_names_that_images_digest_to_scan(deployed):
    pushed = push_index(REGION, REPOSITORY, "v3")
    set_scan(REPOSITORY, pushed["index"], "COMPLETE")  # a scan of the index itself does not count
    run = Run()
    assert run("dev", "api-gateway", "v3") == cli.REFUSED
    assert f"--image-id imageDigest={pushed['amd64']}`" in run.text


def test_an_index_without_the_tasks_architecture_is_refused(deployed):
    push_index(REGION, REPOSITORY, "v3", ("arm64",))
    run = Run()
    assert run("dev", "api-gateway", "v3") == cli.REFUSED
    assert (
        "the image index lists no linux/amd64 image (it has linux/arm64, unknown/unknown (attestation))"
        in run.text
    )
    assert "docker build --platform linux/amd64" in run.text


# --- arguments refused before any AWS call ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["v2!"], "image 'v2!' is not a valid tag"),
        ([".v2"], "is not a valid tag"),
        (["x" * 129], "is not a valid tag"),
        (["sha256:abc"], "image 'sha256:abc' is not a digest"),
        ([f"{URI}@sha256:{'A' * 64}"], "has a bad digest"),
        ([f"{URI}"], "names no tag or digest"),
        ([f"{URI.upper()}:v2"], "is not an image reference"),
        (["v2", "--timeout", "-5"], "--timeout must be a positive number of seconds, got -5"),
        (["v2", "--timeout", "nan"], "--timeout must be a positive number of seconds, got nan"),
        (["v2", "--poll", "0"], "--poll must be a positive number of seconds, got 0"),
        (["v2", "--timeout", "10", "--poll", "30"], "--poll 30 is longer than --timeout 10"),
    ],
)
def test_bad_arguments_are_refused_before_any_aws_call(argv, message):
    def no_aws(service, region):
        raise AssertionError(f"called AWS ({service}) for arguments it should refuse")

    lines: list[str] = []
    assert cli.main(["dev", "api-gateway", *argv], clients=no_aws, out=lines.append) == cli.REFUSED
    assert message in lines[-1]
    assert lines[-1].startswith("release refused: ")


@pytest.mark.parametrize(
    "image",
    [
        "v2",
        "2026.12.06-build_7",
        "sha256:" + "a" * 64,
        f"{URI}:v2",
        f"{URI}:v2@sha256:{'b' * 64}",
        "localhost:5000/app:v1",
    ],
)
def test_good_references_pass_the_grammar(image):
    parse_image(image)
