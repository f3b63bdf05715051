"""Realistic, deterministic ids, ARNs and computed attributes for mocked AWS resources.

Values derive from a hash of the logical name, so two runs of the same program produce the same plan.
Shapes follow AWS: `vpc-0123...` ids, `arn:aws:<service>:<region>:<account>:...` ARNs, load balancer DNS
names under `elb.amazonaws.com`, ECR repository URLs under `dkr.ecr`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
ALB_HOSTED_ZONE_ID = "Z35SXDOTRQ7X7K"  # us-east-1 ALB zone (Elastic Load Balancing endpoints)
AVAILABILITY_ZONES = (
    "us-east-1a",
    "us-east-1b",
    "us-east-1c",
    "us-east-1d",
    "us-east-1e",
    "us-east-1f",
)
# Elastic Load Balancing's log-delivery account per region (ELB user guide, "Enable access logs for
# your Application Load Balancer"); what `aws.elb.get_service_account` returns.
ELB_LOG_DELIVERY_ACCOUNTS = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-2": "797873946194",
}
AVAILABILITY_ZONE_IDS = ("use1-az1", "use1-az2", "use1-az4", "use1-az6", "use1-az3", "use1-az5")


def digest(seed: str, length: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


# Resource ids AWS gives with a fixed prefix and 17 hex characters.
_EC2_ID_PREFIX = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce",
    "aws:ec2/flowLog:FlowLog": "fl",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr",
}


@dataclass(frozen=True)
class MockedResource:
    """What the mock provider answers for one resource: its id and its full state."""

    id: str
    state: dict[str, Any]


def physical_name(typ: str, logical: str, inputs: dict[str, Any]) -> str:
    """The name AWS would see: the explicit one, else Pulumi's auto-name (logical + '-' + 7 hex)."""
    for key in ("name", "bucket", "family", "functionName"):
        if isinstance(inputs.get(key), str):
            return str(inputs[key])
    if isinstance(inputs.get("namePrefix"), str):
        return str(inputs["namePrefix"]) + digest(typ + logical, 26)
    return f"{logical}-{digest(typ + logical, 7)}"


def arn(service: str, resource: str, *, region: str = REGION, account: str = ACCOUNT_ID) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def _vpc_like(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
    resource_id = f"{_EC2_ID_PREFIX[typ]}-{digest(typ + logical, 17)}"
    kind = typ.split(":")[-1]
    state = {"arn": arn("ec2", f"{kind.lower()}/{resource_id}"), "ownerId": ACCOUNT_ID}
    if typ == "aws:ec2/eip:Eip":
        state["allocationId"] = resource_id
        state["publicIp"] = f"3.{int(digest(logical, 2), 16)}.{int(digest(logical + 'x', 2), 16)}.10"
    if typ == "aws:ec2/vpcEndpoint:VpcEndpoint" and inputs.get("vpcEndpointType") == "Gateway":
        # A gateway endpoint's AWS-managed prefix list (pl- and 8 hex digits, as `pl-63a5400a` for S3).
        state["prefixListId"] = f"pl-{digest(logical + 'pl', 8)}"
    if typ == "aws:ec2/vpc:Vpc":
        state["defaultSecurityGroupId"] = f"sg-{digest(logical + 'default', 17)}"
        state["mainRouteTableId"] = f"rtb-{digest(logical + 'main', 17)}"
    if typ in ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
               "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"):  # fmt: skip
        state["securityGroupRuleId"] = resource_id
    return MockedResource(resource_id, state)


def _kms_key(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
    h = digest(typ + logical, 32)
    key_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
    return MockedResource(key_id, {"arn": arn("kms", f"key/{key_id}"), "keyId": key_id})


def _kms_alias(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
    return MockedResource(name, {"arn": arn("kms", name), "name": name})


def _iam(kind: str) -> Callable[[str, str, dict[str, Any], str], MockedResource]:
    def build(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
        path = inputs.get("path") or "/"
        state = {
            "arn": f"arn:aws:iam::{ACCOUNT_ID}:{kind}{path}{name}",
            "name": name,
            "uniqueId": "AROA" + digest(logical, 17).upper(),
        }
        return MockedResource(name, state)

    return build


def _log_group(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
    return MockedResource(name, {"arn": arn("logs", f"log-group:{name}"), "name": name})


def _load_balancer(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
    suffix = f"app/{name}/{digest(typ + logical, 16)}"
    scheme = "internal-" if inputs.get("internal") else ""
    return MockedResource(
        arn("elasticloadbalancing", f"loadbalancer/{suffix}"),
        {
            "arn": arn("elasticloadbalancing", f"loadbalancer/{suffix}"),
            "arnSuffix": suffix,
            "dnsName": f"{scheme}{name}-{int(digest(logical, 8), 16) % 10**10}.{REGION}.elb.amazonaws.com",
            "zoneId": ALB_HOSTED_ZONE_ID,
            "name": name,
        },
    )


def _target_group(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
    suffix = f"targetgroup/{name}/{digest(typ + logical, 16)}"
    value = arn("elasticloadbalancing", suffix)
    return MockedResource(value, {"arn": value, "arnSuffix": suffix, "name": name})


def _listener(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
    # listener/app/<load balancer name>/<load balancer id>/<listener id>, under its load balancer's ARN.
    balancer = str(inputs.get("loadBalancerArn") or arn("elasticloadbalancing", "loadbalancer/app/alb/0"))
    value = balancer.replace(":loadbalancer/", ":listener/", 1) + f"/{digest(typ + logical, 16)}"
    return MockedResource(value, {"arn": value})


def _ecr(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
    return MockedResource(
        name,
        {
            "arn": arn("ecr", f"repository/{name}"),
            "name": name,
            "registryId": ACCOUNT_ID,
            "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/{name}",
        },
    )


def _secret(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
    value = arn("secretsmanager", f"secret:{name}-{digest(logical, 6)}")
    return MockedResource(value, {"arn": value, "name": name})


def _bucket(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
    return MockedResource(
        name,
        {
            "arn": f"arn:aws:s3:::{name}",
            "bucket": name,
            "bucketDomainName": f"{name}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{name}.s3.{REGION}.amazonaws.com",
        },
    )


def _ecs(kind: str) -> Callable[[str, str, dict[str, Any], str], MockedResource]:
    def build(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
        if kind == "task-definition":
            value = arn("ecs", f"task-definition/{name}:1")
            return MockedResource(name, {"arn": value, "revision": 1, "family": name})
        cluster = str(inputs.get("cluster", "")).rsplit("/", 1)[-1]
        path = f"service/{cluster}/{name}" if kind == "service" else f"{kind}/{name}"
        return MockedResource(arn("ecs", path), {"arn": arn("ecs", path), "name": name})

    return build


def _namespace(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
    ns_id = f"ns-{digest(typ + logical, 16)}"
    return MockedResource(
        ns_id,
        {
            "arn": arn("servicediscovery", f"namespace/{ns_id}"),
            "hostedZone": "Z" + digest(logical, 20).upper(),
            "name": name,
        },
    )


def _discovery_service(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
    sid = f"srv-{digest(typ + logical, 16)}"
    return MockedResource(sid, {"arn": arn("servicediscovery", f"service/{sid}"), "name": name})


def _lambda(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
    value = arn("lambda", f"function:{name}")
    invoke = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{value}/invocations"
    return MockedResource(
        name, {"arn": value, "invokeArn": invoke, "qualifiedArn": f"{value}:1", "version": "1"}
    )


def _codedeploy(kind: str) -> Callable[[str, str, dict[str, Any], str], MockedResource]:
    def build(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
        if kind == "application":
            return MockedResource(name, {"arn": arn("codedeploy", f"application:{name}"), "name": name})
        group = str(inputs.get("deploymentGroupName", name))
        app = str(inputs.get("appName", ""))
        value = arn("codedeploy", f"deploymentgroup:{app}/{group}")
        return MockedResource(f"{app}:{group}", {"arn": value, "deploymentGroupId": digest(logical, 32)})

    return build


def _random_password(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
    # Deterministic, so two plans agree; long enough to look like what random.RandomPassword makes.
    length = int(inputs.get("length", 32))
    value = (digest(logical, 64) * (length // 64 + 1))[:length]
    return MockedResource(
        f"{logical}-{digest(logical, 8)}", {"result": value, "bcryptHash": "$2a$10$offline"}
    )


def _sns_topic(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
    # SNS topic ARNs end in the bare name, and the ARN is the resource id.
    value = arn("sns", name)
    return MockedResource(value, {"arn": value, "name": name})


def _event_rule(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
    value = arn("events", f"rule/{name}")
    return MockedResource(name, {"arn": value, "name": name})


def _dashboard(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
    # Dashboards are global: no region in the ARN.
    value = f"arn:aws:cloudwatch::{ACCOUNT_ID}:dashboard/{inputs.get('dashboardName', name)}"
    return MockedResource(str(inputs.get("dashboardName", name)), {"dashboardArn": value})


def _rds_instance(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
    # The id is the DbiResourceId, "db-" plus 26 upper-case characters, not the identifier: the provider
    # sets it from CreateDBInstance's answer and reads by it (terraform-provider-aws,
    # internal/service/rds/instance.go, resourceInstanceCreate: d.SetId(resourceID)). The endpoint is
    # <identifier>.<12 characters>.<region>.rds.amazonaws.com, and the RDS-managed master secret is
    # named "rds!db-<uuid>" (RDS user guide, "Password management with Amazon RDS and AWS Secrets Manager").
    identifier = str(inputs.get("identifier") or name)
    resource_id = "db-" + digest(typ + logical, 26).upper()
    address = f"{identifier}.c{digest(logical, 11)}.{REGION}.rds.amazonaws.com"
    port = int(inputs.get("port") or 5432)
    version = str(inputs.get("engineVersion") or "16")
    h = digest(typ + logical + "secret", 32)
    secret_name = f"rds!db-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
    secret_arn = arn("secretsmanager", f"secret:{secret_name}-{digest(logical, 6)}")
    return MockedResource(
        resource_id,
        {
            "arn": arn("rds", f"db:{identifier}"),
            "identifier": identifier,
            "address": address,
            "endpoint": f"{address}:{port}",
            "port": port,
            "hostedZoneId": "Z2R2ITUGPM61AM",  # RDS endpoints in us-east-1
            "resourceId": resource_id,
            "engineVersionActual": version if "." in version else f"{version}.8",
            "status": "available",
            "masterUserSecrets": [
                {
                    "secretArn": secret_arn,
                    "kmsKeyId": inputs.get("masterUserSecretKmsKeyId"),
                    "secretStatus": "active",
                }
            ],
        },
    )


def _rds_named(kind: str) -> Callable[[str, str, dict[str, Any], str], MockedResource]:
    # Subnet and parameter groups: the name is the id; ARNs arn:aws:rds:<region>:<account>:subgrp:<name>
    # and ...:pg:<name> (RDS user guide, "Amazon Resource Names (ARNs) in Amazon RDS").
    def build(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
        return MockedResource(name, {"arn": arn("rds", f"{kind}:{name}"), "name": name})

    return build


def _invocation(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
    # The provider's id is <function>,<qualifier>,<md5 of the payload>; result is the response payload.
    function = str(inputs.get("functionName", name))
    return MockedResource(
        f"{function},$LATEST,{digest(str(inputs.get('input')), 32)}",
        {"qualifier": "$LATEST", "result": '{"status": "ok", "created": []}'},
    )


def _firehose_stream(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
    # The provider's id is the stream's ARN: arn:aws:firehose:<region>:<account>:deliverystream/<name>.
    stream_arn = arn("firehose", f"deliverystream/{name}")
    return MockedResource(stream_arn, {"arn": stream_arn})


def _backup_vault(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
    # The id is the vault's name; arn:aws:backup:<region>:<account>:backup-vault:<name>.
    return MockedResource(name, {"arn": arn("backup", f"backup-vault:{name}")})


def _backup_plan(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
    h = digest(typ + logical, 32)  # a UUID-shaped plan id
    plan_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
    return MockedResource(plan_id, {"arn": arn("backup", f"backup-plan:{plan_id}")})


def _generic(typ: str, logical: str, inputs: dict[str, Any], name: str) -> MockedResource:
    module = typ.split(":")[1].split("/")[0]
    kind = typ.split(":")[-1]
    resource_id = f"{logical}-{digest(typ + logical, 8)}"
    if "arn" in inputs:
        # `arn` is an argument here (an event target's target), not the resource's own ARN.
        return MockedResource(resource_id, {})
    return MockedResource(resource_id, {"arn": arn(module, f"{kind.lower()}/{name}")})


_BUILDERS: dict[str, Callable[[str, str, dict[str, Any], str], MockedResource]] = {
    **dict.fromkeys(_EC2_ID_PREFIX, _vpc_like),
    "aws:kms/key:Key": _kms_key,
    "aws:kms/alias:Alias": _kms_alias,
    "aws:iam/role:Role": _iam("role"),
    "aws:iam/policy:Policy": _iam("policy"),
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:lb/targetGroup:TargetGroup": _target_group,
    "aws:lb/listener:Listener": _listener,
    "aws:ecr/repository:Repository": _ecr,
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketV2:BucketV2": _bucket,
    "aws:ecs/cluster:Cluster": _ecs("cluster"),
    "aws:ecs/service:Service": _ecs("service"),
    "aws:ecs/taskDefinition:TaskDefinition": _ecs("task-definition"),
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": _namespace,
    "aws:servicediscovery/service:Service": _discovery_service,
    "aws:lambda/function:Function": _lambda,
    "aws:codedeploy/application:Application": _codedeploy("application"),
    "aws:codedeploy/deploymentGroup:DeploymentGroup": _codedeploy("group"),
    "random:index/randomPassword:RandomPassword": _random_password,
    "aws:sns/topic:Topic": _sns_topic,
    "aws:cloudwatch/eventRule:EventRule": _event_rule,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:rds/instance:Instance": _rds_instance,
    "aws:rds/subnetGroup:SubnetGroup": _rds_named("subgrp"),
    "aws:rds/parameterGroup:ParameterGroup": _rds_named("pg"),
    "aws:lambda/invocation:Invocation": _invocation,
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": _firehose_stream,
    "aws:backup/vault:Vault": _backup_vault,
    "aws:backup/plan:Plan": _backup_plan,
}


def mock_resource(typ: str, logical: str, inputs: dict[str, Any]) -> MockedResource:
    """The id and state the mock provider returns: inputs, then the computed attributes."""
    name = physical_name(typ, logical, inputs)
    built = _BUILDERS.get(typ, _generic)(typ, logical, inputs, name)
    return MockedResource(built.id, {**inputs, **built.state})


def described_task_definition(state: Mapping[str, Any], arn: str) -> dict[str, Any]:
    """The `getTaskDefinition` data source's result for a task definition's provider state.

    As DescribeTaskDefinition does, container definitions come back with what ECS fills in (a host port
    equal to the container port under awsvpc, `cpu: 0`, empty lists), so a comparison that is not
    reduced first sees drift that is not there.
    """
    containers = json.loads(state.get("containerDefinitions") or "[]")
    for container in containers:
        container.setdefault("cpu", 0)
        container.setdefault("volumesFrom", [])
        container.setdefault("systemControls", [])
        for mapping in container.get("portMappings") or []:
            mapping.setdefault("hostPort", mapping.get("containerPort"))
    revision = int(arn.rsplit(":", 1)[-1]) if arn.rsplit(":", 1)[-1].isdigit() else 1
    return {
        "id": arn,
        "arn": arn,
        "arnWithoutRevision": arn.rsplit(":", 1)[0],
        "taskDefinition": arn,
        "family": state.get("family"),
        "revision": revision,
        "status": "ACTIVE",
        "cpu": state.get("cpu"),
        "memory": state.get("memory"),
        "networkMode": state.get("networkMode"),
        "requiresCompatibilities": state.get("requiresCompatibilities") or [],
        "runtimePlatforms": [state["runtimePlatform"]] if state.get("runtimePlatform") else [],
        "taskRoleArn": state.get("taskRoleArn"),
        "executionRoleArn": state.get("executionRoleArn"),
        "volumes": state.get("volumes") or [],
        "containerDefinitions": json.dumps(containers),
        "ephemeralStorages": [],
        "placementConstraints": [],
        "proxyConfigurations": [],
        "region": REGION,
    }
