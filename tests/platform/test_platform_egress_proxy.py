"""The egress proxy of `complianceProfile: pci`: built with pci only, the one way out on 443, reached by
DNS on 3128 from exactly its clients, configured from the allowlist, and refused on bad config."""

from __future__ import annotations

import json

import pytest

from offline.engine import Evaluation
from offline.layer_projects import Layer, evaluate_layer
from shared.config.platform import PlatformConfig
from shared.config.reader import ConfigReader
from shared.contracts import PlatformExports
from shared.errors import ConfigError
from stacks.platform.squid_config import CONFIG_VARIABLE, render
from tests.helpers import statements

SERVICE = "aws:ecs/service:Service"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
DISCOVERY = "aws:servicediscovery/service:Service"
GROUP = "aws:ec2/securityGroup:SecurityGroup"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SUBSCRIPTION = "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
FUNCTION = "aws:lambda/function:Function"
PROXY_TYPES = (SERVICE, TASK, DISCOVERY, GROUP, LOG_GROUP)
KEY_API = "https://keys.provider.example/v1"
PCI_WITH_KEY_API = {
    "complianceProfile": "pci",
    "paymentProviderApiKeyRotation": "http-key-api",
    "paymentProviderKeyApiUrl": KEY_API,
    "egressAllowedHosts": ["api.provider.example"],
}


@pytest.fixture(scope="module")
def platform_key_api(network_pci: Evaluation) -> Evaluation:
    """The pci platform rotating the payment provider's key at its key API, with one more allowed host."""
    return evaluate_layer(
        "platform",
        config=PCI_WITH_KEY_API,
        upstream={Layer("network").stack_name("dev"): network_pci.exports},
    )


def _proxy(plan: Evaluation) -> list[str]:
    return [r.name for r in plan.resources if r.type in PROXY_TYPES and "egress-proxy" in r.name]


def _container(plan: Evaluation) -> dict:
    [container] = json.loads(plan.one(TASK, "task-egress-proxy-dev").inputs["containerDefinitions"])
    return container


def test_the_baseline_platform_has_no_proxy_and_exports_none(platform):
    assert _proxy(platform) == []
    assert platform.exports[PlatformExports.EGRESS_PROXY_URL] == ""
    assert platform.exports[PlatformExports.EGRESS_PROXY_SECURITY_GROUP_ID] == ""
    rotation = platform.one(FUNCTION).inputs["environment"]["variables"]
    assert "HTTPS_PROXY" not in rotation


def test_the_baseline_services_get_no_proxy_variables_and_no_3128_rule(services):
    for task in services.all(TASK):
        [container] = json.loads(task.inputs["containerDefinitions"])
        assert not {e["name"] for e in container["environment"]} & {"HTTPS_PROXY", "NO_PROXY"}
    assert [
        r.name for r in [*services.all(EGRESS), *services.all(INGRESS)] if r.inputs["fromPort"] == 3128
    ] == []


def test_the_pci_proxy_runs_two_fargate_tasks_in_the_private_subnets_named_in_the_namespace(
    platform_pci, network_pci
):
    service = platform_pci.one(SERVICE, "ecs-service-egress-proxy-dev")
    assert service.inputs["desiredCount"] == 2
    assert service.inputs["launchType"] == "FARGATE"
    network = service.inputs["networkConfiguration"]
    assert network["subnets"] == network_pci.exports["privateSubnetIds"]
    assert network["assignPublicIp"] is False
    assert network["securityGroups"] == [platform_pci.exports[PlatformExports.EGRESS_PROXY_SECURITY_GROUP_ID]]
    assert service.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    discovery = platform_pci.one(DISCOVERY, "cloudmap-egress-proxy-dev")
    assert service.inputs["serviceRegistries"]["registryArn"] == discovery.state["arn"]
    assert discovery.inputs["name"] == "egress-proxy"
    assert discovery.inputs["dnsConfig"]["routingPolicy"] == "MULTIVALUE"
    assert [r["type"] for r in discovery.inputs["dnsConfig"]["dnsRecords"]] == ["A"]
    # An explicit threshold: the provider drops an empty block, and would replace the service each update.
    assert discovery.inputs["healthCheckCustomConfig"] == {"failureThreshold": 1}
    assert not [w for w in platform_pci.warnings if "deprecated" in w]  # no warning in every pci plan
    namespace = platform_pci.one("aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace")
    assert discovery.inputs["namespaceId"] == namespace.id
    assert (
        platform_pci.exports[PlatformExports.EGRESS_PROXY_URL]
        == "http://egress-proxy.payments-dev.local:3128"
    )


def test_the_proxy_container_is_non_root_read_only_without_capabilities_and_logs_encrypted(platform_pci):
    container = _container(platform_pci)
    assert container["user"] == "13:13"
    assert container["readonlyRootFilesystem"] is True
    assert container["linuxParameters"]["capabilities"] == {"drop": ["ALL"]}
    assert "privileged" not in container
    assert "mountPoints" not in container  # Squid writes nothing: no volume at all
    assert container["image"] == "public.ecr.aws/ubuntu/squid:6.6-24.04_beta"
    group = platform_pci.one(LOG_GROUP, "/ecs/egress-proxy-dev")
    assert container["logConfiguration"]["options"]["awslogs-group"] == "/ecs/egress-proxy-dev"
    assert group.inputs["kmsKeyId"] == platform_pci.one("aws:kms/key:Key").state["arn"]
    assert group.inputs["retentionInDays"] == 30
    [subscription] = [
        s for s in platform_pci.all(SUBSCRIPTION) if s.inputs["logGroup"] == "/ecs/egress-proxy-dev"
    ]
    assert subscription.inputs["destinationArn"] == platform_pci.exports[PlatformExports.AUDIT_STREAM_ARN]


def test_the_proxy_config_is_the_rendered_allowlist_for_the_vpc(platform_pci, platform_key_api, network_pci):
    env = {e["name"]: e["value"] for e in _container(platform_pci)["environment"]}
    vpc = [network_pci.exports["vpcCidr"]]
    # No key API and no listed host: a proxy that refuses everything, ready for a host to be added.
    assert env[CONFIG_VARIABLE] == render((), client_cidrs=vpc)
    env = {e["name"]: e["value"] for e in _container(platform_key_api)["environment"]}
    assert env[CONFIG_VARIABLE] == render(("api.provider.example", "keys.provider.example"), client_cidrs=vpc)


def test_only_the_proxy_sends_443_anywhere_and_it_sends_nothing_else(platform_pci, services_pci):
    proxy_group = platform_pci.exports[PlatformExports.EGRESS_PROXY_SECURITY_GROUP_ID]
    anywhere = [
        r.name
        for plan in (platform_pci, services_pci)
        for r in plan.all(EGRESS)
        if r.inputs["fromPort"] == 443 and r.inputs.get("cidrIpv4") == "0.0.0.0/0"
    ]
    assert anywhere == ["security-group-egress-proxy-out-443-anywhere-dev"]
    proxy_egress = [r for r in platform_pci.all(EGRESS) if r.inputs["securityGroupId"] == proxy_group]
    assert [(r.inputs["fromPort"], r.inputs["toPort"]) for r in proxy_egress] == [(443, 443)]


def test_the_proxy_admits_3128_only_from_the_rotation_function_and_the_third_party_clients(
    platform_pci, services_pci
):
    proxy_group = platform_pci.exports[PlatformExports.EGRESS_PROXY_SECURITY_GROUP_ID]
    groups = {
        "secret-rotation": platform_pci.exports[PlatformExports.ROTATION_SECURITY_GROUP_ID],
        **{
            name: services_pci.one(GROUP, f"security-group-{name}-dev").id
            for name in ("payment-processor", "fraud-detector", "api-gateway")
        },
    }
    ingress = [
        r
        for plan in (platform_pci, services_pci)
        for r in plan.all(INGRESS)
        if r.inputs["securityGroupId"] == proxy_group
    ]
    assert {(r.inputs["fromPort"], r.inputs["toPort"]) for r in ingress} == {(3128, 3128)}
    admitted = {r.inputs["referencedSecurityGroupId"] for r in ingress}
    assert admitted == {groups["secret-rotation"], groups["payment-processor"], groups["fraud-detector"]}
    # Each client sends 3128 to the proxy's group only; api-gateway holds no third-party key.
    to_proxy = {
        r.inputs["securityGroupId"]
        for plan in (platform_pci, services_pci)
        for r in plan.all(EGRESS)
        if r.inputs["fromPort"] == 3128
    }
    assert to_proxy == admitted
    assert {
        r.inputs.get("referencedSecurityGroupId")
        for plan in (platform_pci, services_pci)
        for r in plan.all(EGRESS)
        if r.inputs["fromPort"] == 3128
    } == {proxy_group}


def test_third_party_clients_get_https_proxy_and_no_proxy_for_aws_and_the_vpc(services_pci, platform_pci):
    url = platform_pci.exports[PlatformExports.EGRESS_PROXY_URL]
    internal_alb = platform_pci.exports[PlatformExports.INTERNAL_ALB_DNS_NAME]
    for name, proxied in (("payment-processor", True), ("fraud-detector", True), ("api-gateway", False)):
        [container] = json.loads(services_pci.one(TASK, f"task-{name}-dev").inputs["containerDefinitions"])
        env = {e["name"]: e["value"] for e in container["environment"]}
        if not proxied:
            assert "HTTPS_PROXY" not in env
            continue
        assert env["HTTPS_PROXY"] == url
        assert "HTTP_PROXY" not in env  # plain HTTP goes only to the internal ALB
        direct = env["NO_PROXY"].split(",")
        for host in (
            ".amazonaws.com",
            "169.254.170.2",
            "169.254.169.254",
            ".payments-dev.local",
            internal_alb,
        ):
            assert host in direct


def test_the_rotation_function_reaches_key_apis_through_the_proxy(platform_key_api):
    variables = platform_key_api.one(FUNCTION).inputs["environment"]["variables"]
    assert variables["HTTPS_PROXY"] == "http://egress-proxy.payments-dev.local:3128"
    assert ".payments-dev.local" in variables["NO_PROXY"].split(",")
    assert json.loads(variables["ROTATION_STRATEGIES"])  # http-key-api is no longer refused under pci
    assert KEY_API in variables["ROTATION_STRATEGIES"]


def test_the_proxy_roles_allow_writing_its_logs_and_nothing_else(platform_pci):
    execution = statements(
        platform_pci.one(ROLE_POLICY, "policy-egress-proxy-execution-dev").inputs["policy"]
    )
    assert [(s["Effect"], sorted(s["Action"])) for s in execution] == [
        ("Allow", ["logs:CreateLogStream", "logs:PutLogEvents"])
    ]
    task = statements(platform_pci.one(ROLE_POLICY, "policy-egress-proxy-task-dev").inputs["policy"])
    assert [s["Effect"] for s in task] == ["Deny"]


def _load(**values: object) -> PlatformConfig:
    return PlatformConfig.load(ConfigReader.from_mapping({"environmentSuffix": "dev", **values}))


@pytest.mark.parametrize(
    ("host", "suggested"),
    [
        ("https://api.provider.example/v1", "api.provider.example"),
        ("*.provider.example", "provider.example"),
        ("API.Provider.Example", "api.provider.example"),
        ("203.0.113.10", "api.provider.example"),
        ("localhost", "api.provider.example"),
        ("bad_host.example", "api.provider.example"),
    ],
)
def test_an_allowed_host_that_is_not_a_dns_name_is_refused_with_a_valid_fix(host, suggested):
    with pytest.raises(ConfigError) as caught:
        _load(complianceProfile="pci", egressAllowedHosts=[host])
    assert caught.value.key == "egressAllowedHosts"
    assert "must list DNS names" in str(caught.value)
    assert caught.value.example == json.dumps([suggested])
    assert _load(complianceProfile="pci", egressAllowedHosts=[suggested]).egress_proxy is not None


def test_a_host_listed_twice_is_refused():
    with pytest.raises(ConfigError, match="lists a host twice"):
        _load(complianceProfile="pci", egressAllowedHosts=["a.example", "a.example"])


@pytest.mark.parametrize("tasks", [0, 11])
def test_a_task_count_outside_1_to_10_is_refused_with_the_default_as_fix(tasks):
    with pytest.raises(ConfigError) as caught:
        _load(complianceProfile="pci", egressProxyTasks=tasks)
    assert caught.value.key == "egressProxyTasks"
    assert "at least 1 and at most 10" in str(caught.value)
    assert "pulumi config set egressProxyTasks 2" in str(caught.value)


@pytest.mark.parametrize(
    "image",
    ["public.ecr.aws/ubuntu/squid", "public.ecr.aws/ubuntu/squid:latest", "squid:6.6", "ubuntu/squid:6 6"],
)
def test_an_image_without_a_fixed_tag_is_refused(image):
    with pytest.raises(ConfigError) as caught:
        _load(complianceProfile="pci", egressProxyImage=image)
    assert caught.value.key == "egressProxyImage"
    assert "pulumi config set egressProxyImage public.ecr.aws/ubuntu/squid:6.6-24.04_beta" in str(
        caught.value
    )


def test_a_pinned_digest_is_accepted_and_the_key_api_hosts_join_the_allowlist():
    digest = "public.ecr.aws/ubuntu/squid:6.6-24.04_beta@sha256:" + "a" * 64
    proxy = _load(
        complianceProfile="pci",
        egressProxyImage=digest,
        fraudScoringApiKeyRotation="http-key-api",
        fraudScoringKeyApiUrl="https://keys.fraud.example:8443/rotate",
        egressAllowedHosts=["keys.fraud.example", "api.fraud.example"],
    ).egress_proxy
    assert proxy is not None
    assert proxy.image == digest
    assert proxy.allowed_hosts == ("api.fraud.example", "keys.fraud.example")


def test_baseline_builds_no_proxy_but_still_checks_its_keys():
    assert _load().egress_proxy is None
    with pytest.raises(ConfigError):
        _load(egressProxyTasks=0)


def test_the_proxy_task_definition_is_a_request_ecs_accepts(platform_pci):
    """RegisterTaskDefinition as botocore's ECS model has it (AWS's shape, not ours)."""
    import botocore.session
    from botocore.validate import ParamValidator

    task = platform_pci.one(TASK, "task-egress-proxy-dev").inputs
    request = {
        "family": task["family"],
        "taskRoleArn": task["taskRoleArn"],
        "executionRoleArn": task["executionRoleArn"],
        "networkMode": task["networkMode"],
        "containerDefinitions": json.loads(task["containerDefinitions"]),
        "requiresCompatibilities": task["requiresCompatibilities"],
        "cpu": task["cpu"],
        "memory": task["memory"],
        "runtimePlatform": task["runtimePlatform"],
    }
    shape = botocore.session.get_session().get_service_model("ecs").operation_model("RegisterTaskDefinition")
    report = ParamValidator().validate(request, shape.input_shape)
    assert not report.has_errors(), report.generate_report()
    [container] = request["containerDefinitions"]
    assert container["stopTimeout"] <= 120  # Fargate's ceiling (ECS API, ContainerDefinition.stopTimeout)
