"""An offline evaluation as Terraform plan JSON, the format `terraform show -json <plan>` writes.

pulumi-aws is generated from the Terraform AWS provider, so each Pulumi resource is a Terraform resource
under another name and with camelCase inputs. Rendering a layer this way lets scanners built for
Terraform plans (trivy, checkov) judge what the layer would create, with their own checks.

Format: https://developer.hashicorp.com/terraform/internals/json-format ("Plan Representation").
Three Pulumi habits are undone here:
- type tokens become provider resource types (`TERRAFORM_TYPES`, checked against the provider's docs);
- input names go back to snake_case, and Pulumi's plural names for repeated blocks back to the singular
  block name Terraform uses (`default_actions` -> `default_action`);
- a nested object is a block, which Terraform writes as a list of one object; maps (tags, environment
  variables) stay maps.
A value equal to another resource's id or ARN becomes a reference in `configuration`, so checks that
follow references (an S3 bucket and its public access block) see the connection.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import pulumi

from offline.engine import Evaluation, RecordedResource
from offline.secret_values import redact

FORMAT_VERSION = "1.2"
TERRAFORM_VERSION = "1.9.8"  # the version the document claims; scanners read only the format
PROVIDER = "registry.terraform.io/hashicorp/aws"

# Pulumi type token -> Terraform resource type (terraform-provider-aws, website/docs/r/<type>.html.markdown).
TERRAFORM_TYPES = {
    "aws:appautoscaling/policy:Policy": "aws_appautoscaling_policy",
    "aws:appautoscaling/target:Target": "aws_appautoscaling_target",
    "aws:cloudwatch/logGroup:LogGroup": "aws_cloudwatch_log_group",
    "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter": "aws_cloudwatch_log_subscription_filter",
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": "aws_kinesis_firehose_delivery_stream",
    "aws:backup/vault:Vault": "aws_backup_vault",
    "aws:backup/plan:Plan": "aws_backup_plan",
    "aws:backup/selection:Selection": "aws_backup_selection",
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": (
        "aws_s3_bucket_object_lock_configuration"
    ),
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": "aws_cloudwatch_log_resource_policy",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "aws_cloudwatch_metric_alarm",
    "aws:cloudwatch/dashboard:Dashboard": "aws_cloudwatch_dashboard",
    "aws:cloudwatch/eventRule:EventRule": "aws_cloudwatch_event_rule",
    "aws:cloudwatch/eventTarget:EventTarget": "aws_cloudwatch_event_target",
    "aws:sns/topic:Topic": "aws_sns_topic",
    "aws:sns/topicPolicy:TopicPolicy": "aws_sns_topic_policy",
    "aws:sns/topicSubscription:TopicSubscription": "aws_sns_topic_subscription",
    "aws:codedeploy/application:Application": "aws_codedeploy_app",
    "aws:codedeploy/deploymentGroup:DeploymentGroup": "aws_codedeploy_deployment_group",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "aws_default_security_group",
    "aws:ec2/eip:Eip": "aws_eip",
    "aws:ec2/flowLog:FlowLog": "aws_flow_log",
    "aws:ec2/internetGateway:InternetGateway": "aws_internet_gateway",
    "aws:ec2/managedPrefixList:ManagedPrefixList": "aws_ec2_managed_prefix_list",
    "aws:ec2/natGateway:NatGateway": "aws_nat_gateway",
    "aws:ec2/route:Route": "aws_route",
    "aws:ec2/routeTable:RouteTable": "aws_route_table",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "aws_route_table_association",
    "aws:ec2/securityGroup:SecurityGroup": "aws_security_group",
    "aws:ec2/subnet:Subnet": "aws_subnet",
    "aws:ec2/vpc:Vpc": "aws_vpc",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "aws_vpc_endpoint",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": "aws_ecr_lifecycle_policy",
    "aws:ecr/repository:Repository": "aws_ecr_repository",
    "aws:ecs/cluster:Cluster": "aws_ecs_cluster",
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": "aws_ecs_cluster_capacity_providers",
    "aws:ecs/service:Service": "aws_ecs_service",
    "aws:ecs/taskDefinition:TaskDefinition": "aws_ecs_task_definition",
    "aws:iam/role:Role": "aws_iam_role",
    "aws:iam/rolePolicy:RolePolicy": "aws_iam_role_policy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "aws_iam_role_policy_attachment",
    "aws:kms/alias:Alias": "aws_kms_alias",
    "aws:kms/key:Key": "aws_kms_key",
    "aws:lambda/function:Function": "aws_lambda_function",
    "aws:lambda/invocation:Invocation": "aws_lambda_invocation",
    "aws:lambda/permission:Permission": "aws_lambda_permission",
    "aws:lb/listener:Listener": "aws_lb_listener",
    "aws:lb/loadBalancer:LoadBalancer": "aws_lb",
    "aws:lb/targetGroup:TargetGroup": "aws_lb_target_group",
    "aws:s3/bucket:Bucket": "aws_s3_bucket",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (
        "aws_s3_bucket_lifecycle_configuration"
    ),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "aws_s3_bucket_ownership_controls",
    "aws:s3/bucketPolicy:BucketPolicy": "aws_s3_bucket_policy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "aws_s3_bucket_public_access_block",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "aws_s3_bucket_server_side_encryption_configuration"
    ),
    "aws:s3/bucketVersioning:BucketVersioning": "aws_s3_bucket_versioning",
    "aws:secretsmanager/secret:Secret": "aws_secretsmanager_secret",
    "aws:secretsmanager/secretRotation:SecretRotation": "aws_secretsmanager_secret_rotation",
    "aws:rds/instance:Instance": "aws_db_instance",
    "aws:rds/parameterGroup:ParameterGroup": "aws_db_parameter_group",
    "aws:rds/subnetGroup:SubnetGroup": "aws_db_subnet_group",
    "aws:secretsmanager/secretVersion:SecretVersion": "aws_secretsmanager_secret_version",
    "aws:servicediscovery/instance:Instance": "aws_service_discovery_instance",
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": (
        "aws_service_discovery_private_dns_namespace"
    ),
    "aws:servicediscovery/service:Service": "aws_service_discovery_service",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "aws_vpc_security_group_egress_rule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "aws_vpc_security_group_ingress_rule",
    "aws:wafv2/webAcl:WebAcl": "aws_wafv2_web_acl",
    "aws:wafv2/webAclAssociation:WebAclAssociation": "aws_wafv2_web_acl_association",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": (
        "aws_wafv2_web_acl_logging_configuration"
    ),
}
# Repeated blocks Pulumi names in the plural; Terraform names the block once, singular.
SINGULAR_BLOCKS = {
    "default_actions": "default_action",
    "rules": "rule",
    "settings": "setting",
    "capacity_provider_strategies": "capacity_provider_strategy",
    "default_capacity_provider_strategies": "default_capacity_provider_strategy",
    "load_balancers": "load_balancer",
    "service_registries": "service_registries",
    "data_protections": "data_protection",
    "dns_records": "dns_records",
    "entries": "entry",
    "routes": "route",
    "metric_queries": "metric_query",
    "volumes": "volume",
    "blue_green_deployment_configs": "blue_green_deployment_config",
    "ordered_placement_strategies": "ordered_placement_strategy",
    "filters": "filter",
    "conditions": "condition",
    "parameters": "parameter",  # aws_db_parameter_group
    "encryption_configurations": "encryption_configuration",  # aws_ecr_repository
    "transitions": "transition",  # aws_s3_bucket_lifecycle_configuration's rule
}
# Inputs whose objects are Terraform maps, not blocks.
MAP_ATTRIBUTES = frozenset({"tags", "tags_all", "variables", "default_tags", "attributes"})
_IDENTIFIER = re.compile(r"[^A-Za-z0-9_-]")


class UnknownTypeError(KeyError):
    """A resource type with no Terraform name here: add it to TERRAFORM_TYPES."""


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def terraform_values(value: Any, key: str = "") -> Any:
    """Pulumi inputs as Terraform attribute values (see the module docstring)."""
    if isinstance(value, pulumi.Asset | pulumi.Archive):
        return "lambda.zip"  # Terraform's `filename`: the package is the code, not configuration
    if isinstance(value, Mapping):
        if key in MAP_ATTRIBUTES:
            return dict(value)
        block = {_attribute(k, v): terraform_values(v, _attribute(k, v)) for k, v in value.items()}
        return block if not key else [block]
    if isinstance(value, list):
        return [terraform_values(v) for v in value]  # a repeated block: one object per item
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _attribute(key: str, value: Any) -> str:
    if isinstance(value, pulumi.Asset | pulumi.Archive):
        return "filename"
    name = snake(key)
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        return SINGULAR_BLOCKS.get(name, name)
    return name


def _address_name(logical: str, taken: set[str]) -> str:
    name = _IDENTIFIER.sub("_", logical)
    if not name[:1].isalpha():
        name = f"r_{name}"
    unique, n = name, 2
    while unique in taken:
        unique, n = f"{name}_{n}", n + 1
    taken.add(unique)
    return unique


def _terraform_type(resource: RecordedResource) -> str:
    try:
        return TERRAFORM_TYPES[resource.type]
    except KeyError:
        raise UnknownTypeError(f"{resource.type}: add its Terraform type to TERRAFORM_TYPES") from None


def _references(value: Any, targets: Mapping[str, str]) -> list[str]:
    """Addresses (with `.id`/`.arn`) of the resources whose id or ARN appears in `value`."""
    found: list[str] = []
    if isinstance(value, str) and value in targets:
        found.append(targets[value])
    elif isinstance(value, list):
        for item in value:
            found += _references(item, targets)
    return found


def _split(
    block: Mapping[str, Any], targets: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A block's (known values, after_unknown, configuration expressions), as Terraform plans it: a
    value taken from a resource created in the same plan is unknown until apply, and the configuration
    says where it comes from."""
    known: dict[str, Any] = {}
    unknown: dict[str, Any] = {}
    expressions: dict[str, Any] = {}
    for key, value in block.items():
        if (
            isinstance(value, list)
            and value
            and all(isinstance(v, Mapping) for v in value)
            and key not in MAP_ATTRIBUTES
        ):
            parts = [_split(item, targets) for item in value]
            known[key] = [part[0] for part in parts]
            if any(part[1] for part in parts):
                unknown[key] = [part[1] for part in parts]
            expressions[key] = [part[2] for part in parts]
            continue
        references = _references(value, targets)
        if references:
            expressions[key] = {"references": [ref for r in references for ref in (r, r.rsplit(".", 1)[0])]}
            unknown[key] = True
        else:
            expressions[key] = {"constant_value": value}
            known[key] = value
    return known, unknown, expressions


def render(
    evaluations: Evaluation | Iterable[Evaluation], extra: Iterable[tuple[str, str, dict[str, Any]]] = ()
) -> dict[str, Any]:
    """The plan JSON of one layer, or of several as one root module (an upstream layer's output that a
    downstream layer uses becomes a reference, as in one Terraform configuration); `extra` adds
    (Terraform type, name, Terraform values) resources as they are."""
    layers = [evaluations] if isinstance(evaluations, Evaluation) else list(evaluations)
    taken: set[str] = set()
    entries: list[tuple[str, str, dict[str, Any], RecordedResource | None]] = []
    targets: dict[str, str] = {}
    for resource in (r for evaluation in layers for r in evaluation.aws_resources()):
        type_ = _terraform_type(resource)
        name = _address_name(resource.name, taken)
        address = f"{type_}.{name}"
        for attribute in ("arn", "id"):
            known = resource.id if attribute == "id" else resource.state.get("arn")
            if isinstance(known, str) and known:
                targets.setdefault(known, f"{address}.{attribute}")
        values = terraform_values(redact(resource.inputs))
        entries.append((type_, name, values, resource))
    for type_, name, values in extra:
        entries.append((type_, _address_name(name, taken), values, None))

    planned, changes, configured = [], [], []
    for type_, name, values, _ in entries:
        address = f"{type_}.{name}"
        known, unknown, expressions = _split(values, targets)
        common = {
            "address": address,
            "mode": "managed",
            "type": type_,
            "name": name,
            "provider_name": PROVIDER,
        }
        planned.append({**common, "schema_version": 0, "values": known, "sensitive_values": {}})
        changes.append(
            {
                **common,
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": known,
                    "after_unknown": unknown,
                    "before_sensitive": False,
                    "after_sensitive": {},
                },
            }
        )
        configured.append(
            {
                "address": address,
                "mode": "managed",
                "type": type_,
                "name": name,
                "provider_config_key": "aws",
                "expressions": expressions,
                "schema_version": 0,
            }
        )
    return {
        "format_version": FORMAT_VERSION,
        "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": {"aws": {"name": "aws", "full_name": PROVIDER}},
            "root_module": {"resources": configured},
        },
    }
