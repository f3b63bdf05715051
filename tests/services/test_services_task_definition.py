"""Task definitions: Fargate sizing, and container definitions AWS's own ECS model accepts."""

from __future__ import annotations

import json

import botocore.session
import pytest
from botocore.validate import ParamValidator

from shared.catalogue import (
    CATALOGUE,
    CONTAINER_USER,
    HEALTH_PROBE_MODULE,
    PORT_ENV,
    SERVICE_NAME_ENV,
    by_name,
)
from shared.config.services import HealthCheckConfig
from shared.container_settings import SECRET_CACHE_TTL
from stacks.services.task_definition import ContainerInputs, container_definition
from tests.services.conftest import SPECS, STACKS, one_owned

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ECS_MODEL = botocore.session.get_session().get_service_model("ecs")


def register_task_definition_request(resource):
    """The RegisterTaskDefinition request the provider would send for a recorded resource."""
    inputs = resource.inputs
    return {
        "family": inputs["family"],
        "taskRoleArn": inputs["taskRoleArn"],
        "executionRoleArn": inputs["executionRoleArn"],
        "networkMode": inputs["networkMode"],
        "containerDefinitions": json.loads(inputs["containerDefinitions"]),
        "volumes": [{"name": v["name"]} for v in inputs["volumes"]],
        "requiresCompatibilities": inputs["requiresCompatibilities"],
        "cpu": inputs["cpu"],
        "memory": inputs["memory"],
        "runtimePlatform": inputs["runtimePlatform"],
        "tags": [{"key": k, "value": v} for k, v in inputs["tags"].items()],
    }


def validation_errors(request) -> str:
    shape = ECS_MODEL.operation_model("RegisterTaskDefinition").input_shape
    report = ParamValidator().validate(request, shape)
    return report.generate_report() if report.has_errors() else ""


@pytest.mark.parametrize(("fixture", "suffix"), STACKS)
@pytest.mark.parametrize("spec", SPECS)
def test_task_definitions_match_ecs_register_task_definition_shape(request, fixture, suffix, spec):
    evaluation = request.getfixturevalue(fixture)
    definition = one_owned(evaluation, spec, TASK_DEFINITION)
    assert validation_errors(register_task_definition_request(definition)) == ""


def test_the_validator_catches_what_ecs_would_reject(services):
    definition = one_owned(services, CATALOGUE[1], TASK_DEFINITION)
    bad = register_task_definition_request(definition)
    bad["containerDefinitions"][0]["healthCheck"]["command"] = "CMD python"  # must be a list
    bad["containerDefinitions"][0]["portMappings"][0]["containerPort"] = "8080"  # must be an integer
    bad["containerDefinitions"][0]["environment"][0]["valueFrom"] = "arn:x"  # a Secret's field, not here
    report = validation_errors(bad)
    assert "healthCheck.command" in report
    assert "containerPort" in report
    assert "Unknown parameter in containerDefinitions[0].environment[0]" in report


@pytest.mark.parametrize("spec", SPECS)
def test_tasks_are_fargate_awsvpc_one_vcpu_two_gb_on_x86_by_default(services, spec):
    inputs = one_owned(services, spec, TASK_DEFINITION).inputs
    assert inputs["family"] == f"task-{spec.name}-dev"
    assert inputs["requiresCompatibilities"] == ["FARGATE"]
    assert inputs["networkMode"] == "awsvpc"
    assert (inputs["cpu"], inputs["memory"]) == ("1024", "2048")
    assert inputs["runtimePlatform"] == {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"}


@pytest.mark.parametrize("spec", SPECS)
def test_size_and_architecture_come_from_config(services_alt, spec):
    inputs = one_owned(services_alt, spec, TASK_DEFINITION).inputs
    assert (inputs["cpu"], inputs["memory"]) == ("2048", "5120")
    assert inputs["runtimePlatform"]["cpuArchitecture"] == "ARM64"
    assert inputs["family"] == f"task-{spec.name}-qa-7"


def container_of(evaluation, spec):
    [container] = json.loads(one_owned(evaluation, spec, TASK_DEFINITION).inputs["containerDefinitions"])
    return container


@pytest.mark.parametrize("spec", SPECS)
def test_the_container_is_non_root_read_only_with_a_writable_tmp(services, spec):
    container = container_of(services, spec)
    definition = one_owned(services, spec, TASK_DEFINITION).inputs
    assert container["user"] == CONTAINER_USER
    assert not container["user"].startswith(("0:", "root"))
    assert container["readonlyRootFilesystem"] is True
    [mount] = container["mountPoints"]
    assert (mount["containerPath"], mount["readOnly"]) == ("/tmp", False)
    assert [v["name"] for v in definition["volumes"]] == [mount["sourceVolume"]]
    assert container["stopTimeout"] == 30
    assert container["essential"] is True


@pytest.mark.parametrize("spec", SPECS)
def test_the_container_listens_on_the_catalogue_port_and_probes_the_health_path(services, spec):
    container = container_of(services, spec)
    assert container["name"] == spec.name
    assert container["portMappings"] == [
        {"containerPort": spec.container_port, "protocol": "tcp", "name": "http"}
    ]
    check = container["healthCheck"]
    assert check["command"] == [
        "CMD", "python", "-m", HEALTH_PROBE_MODULE, f"http://127.0.0.1:{spec.container_port}{spec.health_path}"
    ]  # fmt: skip
    assert (check["interval"], check["timeout"], check["retries"], check["startPeriod"]) == (15, 5, 3, 30)


def test_health_check_and_stop_timeout_come_from_config(services_alt):
    container = container_of(services_alt, CATALOGUE[0])
    check = container["healthCheck"]
    assert (check["interval"], check["timeout"], check["retries"], check["startPeriod"]) == (20, 4, 5, 40)
    assert container["stopTimeout"] == 45


def test_the_secret_cache_ttl_comes_from_config_for_the_services_that_read_secrets(services_alt):
    for spec in CATALOGUE:
        environment = {e["name"]: e["value"] for e in container_of(services_alt, spec)["environment"]}
        assert environment.get("SECRET_CACHE_TTL_SECONDS") == ("120" if spec.secrets else None)


@pytest.mark.parametrize("spec", SPECS)
def test_logs_go_to_the_service_log_group_with_awslogs(services, spec):
    container = container_of(services, spec)
    log_group = one_owned(services, spec, "aws:cloudwatch/logGroup:LogGroup")
    options = container["logConfiguration"]["options"]
    assert container["logConfiguration"]["logDriver"] == "awslogs"
    assert options["awslogs-group"] == log_group.inputs["name"] == f"/ecs/{spec.name}-dev"
    assert options["awslogs-region"] == "us-east-1"
    assert options["awslogs-stream-prefix"] == spec.name


@pytest.mark.parametrize(("fixture", "suffix"), STACKS)
@pytest.mark.parametrize("spec", SPECS)
def test_log_groups_are_encrypted_with_the_platform_key_and_retained(request, fixture, suffix, spec):
    evaluation = request.getfixturevalue(fixture)
    platform = request.getfixturevalue("platform" if fixture == "services" else "platform_alt")
    log_group = one_owned(evaluation, spec, "aws:cloudwatch/logGroup:LogGroup")
    assert log_group.inputs["kmsKeyId"] == platform.exports["kmsKeyArn"]
    assert log_group.inputs["retentionInDays"] == (30 if fixture == "services" else 90)


@pytest.mark.parametrize("spec", SPECS)
def test_secrets_are_named_by_arn_for_the_code_to_read_and_never_injected(services, platform, spec):
    container = container_of(services, spec)
    arns = platform.exports["secretArns"]
    assert "secrets" not in container  # ECS injects no value: the task role reads them at run time
    environment = {e["name"]: e["value"] for e in container["environment"]}
    named = {name: value for name, value in environment.items() if name.endswith("_SECRET_ARN")}
    assert named == {f"{env}_SECRET_ARN": arns[purpose] for env, purpose in spec.secrets.items()}
    assert not set(environment) & set(spec.secrets)


@pytest.mark.parametrize("spec", SPECS)
def test_downstream_urls_are_cloud_map_names_on_the_listener_port(services, spec):
    environment = {e["name"]: e["value"] for e in container_of(services, spec)["environment"]}
    environment = {k: v for k, v in environment.items() if not k.endswith("_SECRET_ARN")}  # tested above
    expected = {PORT_ENV: str(spec.container_port), SERVICE_NAME_ENV: spec.name}
    if spec.secrets:
        expected[SECRET_CACHE_TTL.env] = str(SECRET_CACHE_TTL.default)  # unset in Pulumi.dev.yaml
    if spec.database_client:
        expected["DATABASE_POOL_SIZE"] = "5"  # databasePoolSize of stacks/services/Pulumi.dev.yaml
    for callee in spec.downstream:
        port = by_name(callee).production_port
        expected[spec.downstream_url_env(callee)] = f"http://{callee}.payments-dev.local:{port}"
        assert expected[spec.downstream_url_env(callee)].removeprefix("http://").split(":")[0] in (
            services.exports["internalDnsNames"].values()
        )
    assert environment == expected


@pytest.mark.parametrize(("fixture", "suffix"), STACKS)
def test_images_are_a_tag_in_the_own_repository_or_a_configured_reference(request, fixture, suffix):
    evaluation = request.getfixturevalue(fixture)
    urls = evaluation.exports["repositoryUrls"]
    images = {spec.name: container_of(evaluation, spec)["image"] for spec in CATALOGUE}
    if fixture == "services":
        assert images == {name: f"{url}:v1" for name, url in urls.items()}
    else:
        assert images == {
            "api-gateway": f"{urls['api-gateway']}:2026.11.24",
            "payment-processor": f"{urls['payment-processor']}:2026.11.24",
            "fraud-detector": "public.ecr.aws/example/fraud-detector:1.4.2",
        }


def test_the_container_definition_function_is_pure_and_complete():
    spec = by_name("payment-processor")
    inputs = ContainerInputs(
        image="example/image:1",
        log_group="/ecs/payment-processor-x",
        region="eu-west-1",
        secret_arns={"B_SECRET": "arn:b", "A_SECRET": "arn:a"},
        downstream_urls={"FRAUD_DETECTOR_URL": "http://fraud-detector.ns:8082"},
        health_check=HealthCheckConfig(10, 3, 2, 0),
        stop_timeout_seconds=60,
    )
    first, second = container_definition(spec, inputs), container_definition(spec, inputs)
    assert first == second
    names = [e["name"] for e in first["environment"]]
    assert names == sorted(names)  # stable order, stable diffs
    assert {"A_SECRET_SECRET_ARN", "B_SECRET_SECRET_ARN"} <= set(names)
    assert first["logConfiguration"]["options"]["awslogs-region"] == "eu-west-1"
    shape = ECS_MODEL.shape_for("ContainerDefinition")
    assert not ParamValidator().validate(first, shape).has_errors()
