"""Components built alone under mocks, without a layer around them, and checked against AWS's models.

Each test builds one component in a throwaway program, so a component's behaviour is pinned down
without the rest of its layer; request shapes are checked with botocore's service models.
"""

from __future__ import annotations

import botocore.session
import pytest
from botocore.validate import ParamValidator

from offline.engine import Evaluation, evaluate
from shared.config import ConfigReader, ServicesConfig
from shared.naming import Namer
from shared.tags import ServiceTags
from stacks.platform.cluster import EcsCluster, EcsClusterArgs
from stacks.services.repository import ServiceRepository, ServiceRepositoryArgs
from stacks.services.scaling import ServiceScaling, ServiceScalingArgs

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
BOTOCORE = botocore.session.get_session()


def valid_request(service: str, operation: str, request: dict) -> str:
    """botocore's verdict on a request: empty when the model accepts it."""
    shape = BOTOCORE.get_service_model(service).operation_model(operation).input_shape
    report = ParamValidator().validate(request, shape)
    return report.generate_report() if report.has_errors() else ""


def whole(number: float) -> int:
    """Pulumi sends numbers as doubles (protobuf Struct); the provider sends AWS integers."""
    assert float(number).is_integer(), number
    return int(number)


def build(component) -> Evaluation:
    return evaluate(component, project="component-test", stack="dev")


def children_of(evaluation: Evaluation, component_type: str) -> list:
    [component] = evaluation.all(component_type)
    return [r for r in evaluation.resources if r.parent == component.urn]


def scaling_settings(**values: object):
    return ServicesConfig.load(
        ConfigReader.from_mapping(
            {
                "environmentSuffix": "dev",
                "networkStack": "o/p/s",
                "platformStack": "o/p/s",
                "allowPlaintextHttp": "true",
                **values,
            }
        )
    ).scaling


# --- ServiceRepository --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def repository() -> Evaluation:
    return build(
        lambda: ServiceRepository(
            "fraud-detector",
            ServiceRepositoryArgs(
                namer=Namer("dev"),
                tags=ServiceTags("fraud-detector"),
                service="fraud-detector",
                key_arn=KEY_ARN,
                untagged_expiry_days=3,
                tagged_images_kept=12,
            ),
        )
    )


def test_a_repository_is_immutable_scanned_kms_encrypted_and_force_deleted(repository):
    ecr = repository.one("aws:ecr/repository:Repository")
    assert ecr.inputs["name"] == "ecr-fraud-detector-dev"
    assert ecr.inputs["imageTagMutability"] == "IMMUTABLE"
    assert ecr.inputs["forceDelete"] is True
    request = {
        "repositoryName": ecr.inputs["name"],
        "imageTagMutability": ecr.inputs["imageTagMutability"],
        "imageScanningConfiguration": {"scanOnPush": ecr.inputs["imageScanningConfiguration"]["scanOnPush"]},
        "encryptionConfiguration": {
            "encryptionType": ecr.inputs["encryptionConfigurations"][0]["encryptionType"],
            "kmsKey": ecr.inputs["encryptionConfigurations"][0]["kmsKey"],
        },
        "tags": [{"Key": k, "Value": v} for k, v in ecr.inputs["tags"].items()],
    }
    assert valid_request("ecr", "CreateRepository", request) == ""
    assert request["imageScanningConfiguration"] == {"scanOnPush": True}
    assert request["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": KEY_ARN}


def test_a_repository_s_lifecycle_uses_its_args_and_hangs_under_the_repository(repository):
    ecr = repository.one("aws:ecr/repository:Repository")
    lifecycle = repository.one("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert lifecycle.parent == ecr.urn
    assert '"countNumber": 3' in lifecycle.inputs["policy"]
    assert '"countNumber": 12' in lifecycle.inputs["policy"]
    assert [r.type for r in children_of(repository, "payments:services:ServiceRepository")] == [
        "aws:ecr/repository:Repository"
    ]


def test_a_repository_carries_its_service_tag(repository):
    assert repository.one("aws:ecr/repository:Repository").inputs["tags"]["Service"] == "fraud-detector"


# --- ServiceScaling -----------------------------------------------------------------------------


def scaling(**values: object) -> Evaluation:
    settings = scaling_settings(**values)
    return build(
        lambda: ServiceScaling(
            "api-gateway",
            ServiceScalingArgs(
                namer=Namer("dev"),
                tags=ServiceTags("api-gateway"),
                service="api-gateway",
                cluster_name="ecs-cluster-dev",
                ecs_service_name="ecs-service-api-gateway-dev",
                scaling=settings,
            ),
        )
    )


def test_scaling_targets_the_service_by_name_within_its_bounds():
    evaluation = scaling(minCapacity=3, maxCapacity=7)
    target = evaluation.one("aws:appautoscaling/target:Target")
    request = {
        "ServiceNamespace": target.inputs["serviceNamespace"],
        "ResourceId": target.inputs["resourceId"],
        "ScalableDimension": target.inputs["scalableDimension"],
        "MinCapacity": whole(target.inputs["minCapacity"]),
        "MaxCapacity": whole(target.inputs["maxCapacity"]),
    }
    assert valid_request("application-autoscaling", "RegisterScalableTarget", request) == ""
    assert request["ResourceId"] == "service/ecs-cluster-dev/ecs-service-api-gateway-dev"
    assert (request["MinCapacity"], request["MaxCapacity"]) == (3, 7)


def test_scaling_tracks_cpu_and_memory_with_predefined_metrics_the_api_accepts():
    evaluation = scaling(cpuTargetPercent=55, memoryTargetPercent=80, scaleInCooldownSeconds=120)
    policies = {p.inputs["name"]: p for p in evaluation.all("aws:appautoscaling/policy:Policy")}
    assert set(policies) == {"scaling-api-gateway-cpu-dev", "scaling-api-gateway-memory-dev"}
    model = BOTOCORE.get_service_model("application-autoscaling")
    metric_types = model.shape_for("MetricType").enum
    for name, policy in policies.items():
        config = policy.inputs["targetTrackingScalingPolicyConfiguration"]
        metric = config["predefinedMetricSpecification"]["predefinedMetricType"]
        assert metric in metric_types, metric
        request = {
            "PolicyName": name,
            "ServiceNamespace": "ecs",
            "ResourceId": "service/ecs-cluster-dev/ecs-service-api-gateway-dev",
            "ScalableDimension": "ecs:service:DesiredCount",
            "PolicyType": policy.inputs["policyType"],
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": config["targetValue"],
                "PredefinedMetricSpecification": {"PredefinedMetricType": metric},
                "ScaleInCooldown": whole(config["scaleInCooldown"]),
                "ScaleOutCooldown": whole(config["scaleOutCooldown"]),
                "DisableScaleIn": config["disableScaleIn"],
            },
        }
        assert valid_request("application-autoscaling", "PutScalingPolicy", request) == ""
    targets = {
        n.rsplit("-", 2)[1]: p.inputs["targetTrackingScalingPolicyConfiguration"] for n, p in policies.items()
    }
    assert (targets["cpu"]["targetValue"], targets["memory"]["targetValue"]) == (55.0, 80.0)
    assert targets["cpu"]["scaleInCooldown"] == 120


# --- EcsCluster ---------------------------------------------------------------------------------


def cluster(**args: object) -> Evaluation:
    values = {
        "container_insights": "enabled",
        "fargate_spot_weight": 0,
        "ecs_exec": False,
        "exec_endpoint": None,
        **args,
    }
    return build(
        lambda: EcsCluster(
            "cluster",
            EcsClusterArgs(
                namer=Namer("dev"),
                tags=ServiceTags("platform"),
                key_arn=KEY_ARN,
                log_retention_days=30,
                **values,  # type: ignore[arg-type]
            ),
        )
    )


def test_a_cluster_without_spot_or_exec_runs_fargate_only_and_logs_nothing_extra():
    evaluation = cluster()
    providers = evaluation.one("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders")
    strategies = providers.inputs["defaultCapacityProviderStrategies"]
    assert [s["capacityProvider"] for s in strategies] == ["FARGATE"]
    assert evaluation.all("aws:cloudwatch/logGroup:LogGroup") == []
    ecs = evaluation.one("aws:ecs/cluster:Cluster")
    request = {
        "clusterName": ecs.inputs["name"],
        "settings": [{"name": s["name"], "value": s["value"]} for s in ecs.inputs["settings"]],
        "capacityProviders": providers.inputs["capacityProviders"],
        "defaultCapacityProviderStrategy": [
            {
                "capacityProvider": s["capacityProvider"],
                "weight": whole(s["weight"]),
                "base": whole(s.get("base", 0)),
            }
            for s in strategies
        ],
    }
    assert valid_request("ecs", "CreateCluster", request) == ""


def test_a_cluster_with_exec_encrypts_and_logs_sessions_to_its_own_encrypted_group():
    evaluation = cluster(ecs_exec=True, fargate_spot_weight=300, container_insights="enhanced")
    group = evaluation.one("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["name"] == "/ecs/exec-dev"
    assert group.inputs["kmsKeyId"] == KEY_ARN
    execute = evaluation.one("aws:ecs/cluster:Cluster").inputs["configuration"]["executeCommandConfiguration"]
    assert execute["kmsKeyId"] == KEY_ARN
    assert execute["logging"] == "OVERRIDE"
    assert execute["logConfiguration"]["cloudWatchEncryptionEnabled"] is True
    request = {
        "clusterName": "ecs-cluster-dev",
        "configuration": {
            "executeCommandConfiguration": {
                "kmsKeyId": execute["kmsKeyId"],
                "logging": execute["logging"],
                "logConfiguration": {
                    "cloudWatchLogGroupName": "/ecs/exec-dev",
                    "cloudWatchEncryptionEnabled": True,
                },
            }
        },
    }
    assert valid_request("ecs", "CreateCluster", request) == ""
    strategy = evaluation.one("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders").inputs[
        "defaultCapacityProviderStrategies"
    ]
    assert [(s["capacityProvider"], s["weight"]) for s in strategy] == [
        ("FARGATE", 100),
        ("FARGATE_SPOT", 300),
    ]
