"""FargateService built alone under mocks, from hand-made network and platform outputs (no layer, no
StackReference), and checked against botocore's ECS model: what it sends to CreateService and
RegisterTaskDefinition must be a request ECS accepts."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from offline.engine import Evaluation
from shared.aws_context import AwsContext
from shared.catalogue import CATALOGUE, by_name
from shared.config import ConfigReader, ServicesConfig
from shared.contracts import LoadBalancerOutputs, NetworkOutputs, PlatformOutputs
from shared.secret_purposes import SecretPurposes
from shared.tags import ServiceTags
from stacks.services.codedeploy import CodeDeployApplication, CodeDeployApplicationArgs
from stacks.services.fargate_service import CODEDEPLOY_OWNS, FargateService, FargateServiceArgs
from stacks.services.urls import downstream_urls
from tests.components.test_components_alone import BOTOCORE, KEY_ARN, build, valid_request, whole

ACCOUNT = "123456789012"
PRIVATE_SUBNETS = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2", "subnet-0aaaaaaaaaaaaaaa3"]
CHAIN_GROUP = "sg-0chain00000000001"
INTERNAL_ALB_ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/app/alb-internal-dev/1"
PUBLIC_ALB_ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/app/alb-public-dev/2"
CLUSTER_ARN = f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/ecs-cluster-dev"
SECRET_ARNS = {
    purpose: f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{purpose}-AbCdEf"
    for purpose in SecretPurposes.ALL
}


def _out(value: Any) -> pulumi.Output[Any]:
    return pulumi.Output.from_input(value)


def _alb(arn: str, role: str) -> LoadBalancerOutputs:
    return LoadBalancerOutputs(
        arn=_out(arn),
        dns_name=_out(f"{role}.us-east-1.elb.amazonaws.com"),
        zone_id=_out("Z35SXDOTRQ7X7K"),
        security_group_id=_out(f"sg-0{role}"),
    )


def _service(name: str) -> None:
    config = ServicesConfig.load(
        ConfigReader.from_mapping(
            {
                "environmentSuffix": "dev",
                "networkStack": "o/network/dev",
                "platformStack": "o/platform/dev",
                "allowPlaintextHttp": "true",
            }
        )
    )
    network = NetworkOutputs(
        vpc_id=_out("vpc-0123456789abcdef0"),
        vpc_cidr=_out("10.0.0.0/16"),
        public_subnet_ids=_out(["subnet-0bbbbbbbbbbbbbbb1"]),
        private_subnet_ids=_out(PRIVATE_SUBNETS),
        availability_zones=_out(["us-east-1a", "us-east-1b", "us-east-1c"]),
        nat_public_ips=_out(["203.0.113.10"]),
        nat_gateway_ids=_out(["nat-0123456789abcdef0"]),
        alarm_topic_arn=_out(f"arn:aws:sns:us-east-1:{ACCOUNT}:sns-alarms-dev"),
        ticket_topic_arn=_out(f"arn:aws:sns:us-east-1:{ACCOUNT}:sns-tickets-dev"),
        alarm_topic_key_arn=_out(f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0000-alarms"),
    )
    platform = PlatformOutputs(
        cluster_name=_out("ecs-cluster-dev"),
        cluster_arn=_out(CLUSTER_ARN),
        kms_key_arn=_out(KEY_ARN),
        namespace_id=_out("ns-0123456789abcdef"),
        namespace_name=_out("payments.internal"),
        public_alb=_alb(PUBLIC_ALB_ARN, "public"),
        internal_alb=_alb(INTERNAL_ALB_ARN, "internal"),
        secret_arns=_out(SECRET_ARNS),
        database_security_group_id=_out("sg-0d0d0d0d0d0d0d0d0"),
        database_port=_out(5432),
        database_max_connections=_out(450),
        database_identifier=_out("rds-ledger-dev"),
        ecs_exec_log_group_name=_out(""),
        waf_web_acl_name=_out(""),
    )
    context = AwsContext(ACCOUNT, "us-east-1", "aws")
    codedeploy = CodeDeployApplication(
        "codedeploy",
        CodeDeployApplicationArgs(namer=config.common.namer, tags=ServiceTags("services"), context=context),
    )
    spec = by_name(name)
    FargateService(
        name,
        FargateServiceArgs(
            spec=spec,
            config=config,
            context=context,
            network=network,
            platform=platform,
            security_group_id=CHAIN_GROUP,
            downstream_urls=downstream_urls(spec, CATALOGUE, platform.namespace_name),
            codedeploy=codedeploy,
        ),
    )


@pytest.fixture(scope="module")
def payment_processor() -> Evaluation:
    return build(lambda: _service("payment-processor"))


def _create_service_request(evaluation: Evaluation) -> dict[str, Any]:
    """The CreateService request the provider sends for these inputs (its field names, ECS's shape)."""
    inputs = evaluation.one("aws:ecs/service:Service").inputs
    network = inputs["networkConfiguration"]
    return {
        "cluster": inputs["cluster"],
        "serviceName": inputs["name"],
        "taskDefinition": inputs["taskDefinition"],
        "desiredCount": whole(inputs["desiredCount"]),
        "capacityProviderStrategy": [
            {"capacityProvider": s["capacityProvider"], "weight": whole(s["weight"])}
            for s in inputs["capacityProviderStrategies"]
        ],
        "platformVersion": inputs["platformVersion"],
        "deploymentController": {"type": inputs["deploymentController"]["type"]},
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": network["subnets"],
                "securityGroups": network["securityGroups"],
                "assignPublicIp": "ENABLED" if network["assignPublicIp"] else "DISABLED",
            }
        },
        "loadBalancers": [
            {
                "targetGroupArn": lb["targetGroupArn"],
                "containerName": lb["containerName"],
                "containerPort": whole(lb["containerPort"]),
            }
            for lb in inputs["loadBalancers"]
        ],
        "healthCheckGracePeriodSeconds": whole(inputs["healthCheckGracePeriodSeconds"]),
        "propagateTags": inputs["propagateTags"],
        "enableECSManagedTags": inputs["enableEcsManagedTags"],
        "enableExecuteCommand": inputs["enableExecuteCommand"],
        "tags": [{"key": k, "value": v} for k, v in inputs["tags"].items()],
    }


def test_a_service_built_alone_sends_a_create_service_request_ecs_accepts(payment_processor):
    request = _create_service_request(payment_processor)
    assert valid_request("ecs", "CreateService", request) == ""
    ecs = BOTOCORE.get_service_model("ecs")
    assert request["deploymentController"]["type"] in ecs.shape_for("DeploymentControllerType").enum
    assert request["propagateTags"] in ecs.shape_for("PropagateTags").enum
    assert request["serviceName"] == "ecs-service-payment-processor-dev"
    assert request["cluster"] == CLUSTER_ARN


def test_a_service_runs_in_the_private_subnets_behind_its_chain_group_without_a_public_ip(payment_processor):
    awsvpc = _create_service_request(payment_processor)["networkConfiguration"]["awsvpcConfiguration"]
    assert awsvpc["subnets"] == PRIVATE_SUBNETS
    assert awsvpc["securityGroups"][0] == CHAIN_GROUP
    assert awsvpc["assignPublicIp"] == "DISABLED"


def test_a_service_starts_on_its_blue_target_group_with_its_own_container(payment_processor):
    [balancer] = _create_service_request(payment_processor)["loadBalancers"]
    groups = {g.name: g for g in payment_processor.all("aws:lb/targetGroup:TargetGroup")}
    blue = next(g for name, g in groups.items() if "blue" in name)
    assert balancer["targetGroupArn"] == blue.state["arn"]
    assert balancer["containerName"] == "payment-processor"
    assert balancer["containerPort"] == by_name("payment-processor").container_port


def test_a_service_leaves_what_codedeploy_owns_to_codedeploy(payment_processor):
    ignored = set(payment_processor.one("aws:ecs/service:Service").ignore_changes)
    assert set(CODEDEPLOY_OWNS) <= ignored


def test_a_service_is_created_after_its_listeners_green_group_and_role_policies(payment_processor):
    service = payment_processor.one("aws:ecs/service:Service")
    after = {urn.rsplit("::", 1)[1] for urn in service.dependencies}
    listeners = {r.name for r in payment_processor.all("aws:lb/listener:Listener")}
    policies = {r.name for r in payment_processor.all("aws:iam/rolePolicy:RolePolicy")}
    assert listeners
    assert listeners <= after
    assert {"policy-payment-processor-execution-dev", "policy-payment-processor-task-dev"} <= policies & after


def test_a_task_definition_registers_with_a_request_ecs_accepts(payment_processor):
    task = payment_processor.one("aws:ecs/taskDefinition:TaskDefinition").inputs
    [container] = json.loads(task["containerDefinitions"])
    request = {
        "family": task["family"],
        "requiresCompatibilities": task["requiresCompatibilities"],
        "networkMode": task["networkMode"],
        "cpu": task["cpu"],
        "memory": task["memory"],
        "runtimePlatform": {
            "operatingSystemFamily": task["runtimePlatform"]["operatingSystemFamily"],
            "cpuArchitecture": task["runtimePlatform"]["cpuArchitecture"],
        },
        "executionRoleArn": task["executionRoleArn"],
        "taskRoleArn": task["taskRoleArn"],
        "containerDefinitions": [container],
        "volumes": [{"name": volume["name"]} for volume in task["volumes"]],
    }
    assert valid_request("ecs", "RegisterTaskDefinition", request) == ""
    assert request["family"] == "task-payment-processor-dev"


def test_a_task_reads_only_its_own_secrets_and_finds_its_callees_by_private_name(payment_processor):
    task = payment_processor.one("aws:ecs/taskDefinition:TaskDefinition").inputs
    [container] = json.loads(task["containerDefinitions"])
    spec = by_name("payment-processor")
    environment = {e["name"]: e["value"] for e in container["environment"]}
    assert "secrets" not in container
    assert {name: arn for name, arn in environment.items() if name.endswith("_SECRET_ARN")} == {
        f"{env}_SECRET_ARN": SECRET_ARNS[purpose] for env, purpose in spec.secrets.items()
    }
    for callee in spec.downstream:
        port = by_name(callee).production_port
        assert environment[spec.downstream_url_env(callee)] == f"http://{callee}.payments.internal:{port}"


def test_an_internal_service_listens_on_the_internal_alb_and_a_public_one_on_the_public_alb(
    payment_processor,
):
    internal = {r.inputs["loadBalancerArn"] for r in payment_processor.all("aws:lb/listener:Listener")}
    assert internal == {INTERNAL_ALB_ARN}
    edge = build(lambda: _service("api-gateway"))
    assert {r.inputs["loadBalancerArn"] for r in edge.all("aws:lb/listener:Listener")} == {PUBLIC_ALB_ARN}
