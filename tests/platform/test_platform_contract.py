"""Names, tags, provider, options and exports of the platform layer: what other layers rely on."""

from __future__ import annotations

import pytest

from offline.layer_projects import Layer
from shared.config import ConfigReader, PlatformConfig
from shared.contracts import PlatformExports, SecretPurposes
from tests.helpers import ancestors, is_taggable, physical_names

LAYERS = [("platform", "dev"), ("platform_alt", "qa-7")]


@pytest.mark.parametrize(("fixture", "suffix"), LAYERS)
def test_every_aws_name_ends_with_the_suffix(request, fixture, suffix):
    evaluation = request.getfixturevalue(fixture)
    for resource in evaluation.aws_resources():
        assert f"-{suffix}" in resource.name, resource.name
        for name in physical_names(resource):
            if resource.type == "aws:rds/parameterGroup:ParameterGroup" and name == resource.inputs["family"]:
                continue  # "family" is the engine's parameter family (postgres16), not a name
            if name.startswith("/aws/rds/instance/"):
                # AWS's path for an RDS instance's logs: /aws/rds/instance/<identifier>/<log type>.
                assert name.split("/")[4].endswith(f"-{suffix}"), (resource.type, name)
                continue
            # A DNS namespace carries the suffix in its first label: payments-dev.local.
            assert name.split(".")[0].endswith(f"-{suffix}"), (resource.type, name)


@pytest.mark.parametrize(("fixture", "suffix"), LAYERS)
def test_every_taggable_resource_carries_the_service_tag_and_its_name(request, fixture, suffix):
    evaluation = request.getfixturevalue(fixture)
    taggable = [r for r in evaluation.aws_resources() if is_taggable(r.type)]
    assert len(taggable) > 15
    for resource in taggable:
        tags = resource.inputs.get("tags", {})
        assert tags.get("Service") == "platform", resource.name
        assert tags.get("Name", "").endswith(suffix) or suffix in tags.get("Name", ""), resource.name


@pytest.mark.parametrize(("fixture", "suffix"), LAYERS)
def test_the_provider_adds_environment_and_cost_center_to_everything(request, fixture, suffix):
    evaluation = request.getfixturevalue(fixture)
    provider = evaluation.one("pulumi:providers:aws")
    default_tags = provider.inputs["defaultTags"].replace(" ", "")
    assert f'"Environment":"{suffix}"' in default_tags
    assert '"CostCenter":"payments"' in default_tags
    for resource in evaluation.aws_resources():
        assert resource.provider_urn == provider.urn, resource.name


@pytest.mark.parametrize("fixture", ["platform", "platform_alt"])
def test_every_invoke_goes_through_the_stack_provider(request, fixture):
    evaluation = request.getfixturevalue(fixture)
    assert evaluation.invokes
    for invoke in evaluation.invokes:
        assert invoke.provider.startswith("urn:pulumi:"), invoke.token
        assert "pulumi:providers:aws::aws-" in invoke.provider, invoke.token


@pytest.mark.parametrize("fixture", ["platform", "platform_alt"])
def test_nothing_is_protected_or_retained(request, fixture):
    evaluation = request.getfixturevalue(fixture)
    for resource in evaluation.resources:
        assert not resource.protect, resource.name
        assert not resource.retain_on_delete, resource.name


def test_every_resource_belongs_to_one_of_the_layers_components(platform):
    components = {r.type for r in platform.resources if r.is_component}
    assert components == {
        "payments:platform:PlatformKey",
        "payments:platform:EcsCluster",
        "payments:platform:AccessLogsBucket",
        "payments:platform:LoadBalancer",
        "payments:platform:PlatformSecrets",
        "payments:platform:ManagedDatabase",
        "payments:platform:SecretRotation",
        "payments:platform:WebApplicationFirewall",
        "payments:platform:PlatformAlarms",
        "payments:platform:DatabaseAlarms",
        "payments:shared:EventNotification",
    }
    loose = [
        r.name for r in platform.aws_resources() if not any(a.is_component for a in ancestors(platform, r))
    ]
    # The namespace, and the database's group (it exists with an external database too; clients add
    # their rules on it): two resources need no component.
    assert sorted(loose) == ["payments-dev.local", "security-group-database-dev"]


def test_the_network_is_read_only_through_its_stack_reference(platform):
    [reference] = platform.all("pulumi:pulumi:StackReference")
    assert reference.name == "organization/payments-network/dev"


def test_exports_are_exactly_the_contract(platform, network):
    exports = platform.exports
    assert set(exports) == set(PlatformExports.ALL)
    assert exports["clusterName"] == "ecs-cluster-dev"
    assert exports["namespaceName"] == "payments-dev.local"
    assert set(exports["secretArns"]) == set(SecretPurposes.ALL)
    assert exports["kmsKeyArn"] == platform.one("aws:kms/key:Key").state["arn"]
    albs = {r.inputs["name"]: r for r in platform.all("aws:lb/loadBalancer:LoadBalancer")}
    assert exports["publicAlbArn"] == albs["alb-public-dev"].state["arn"]
    assert exports["internalAlbDnsName"] == albs["alb-internal-dev"].state["dnsName"]
    groups = {r.inputs["name"]: r.id for r in platform.all("aws:ec2/securityGroup:SecurityGroup")}
    assert exports["publicAlbSecurityGroupId"] == groups["security-group-alb-public-dev"]
    assert exports["internalAlbSecurityGroupId"] == groups["security-group-alb-internal-dev"]
    assert exports["secretRotationSecurityGroupId"] == groups["security-group-secret-rotation-dev"]


def test_pulumi_yaml_defaults_match_the_typed_config_defaults():
    layer = Layer("platform")
    from_yaml = PlatformConfig.load(
        ConfigReader.from_mapping({**layer.defaults(), "environmentSuffix": "dev"})
    )
    from_code = PlatformConfig.load(ConfigReader.from_mapping({"environmentSuffix": "dev"}))
    assert from_yaml == from_code


def test_every_config_key_read_is_declared_in_pulumi_yaml():
    declared = set(Layer("platform").config_schema())
    read: list[str] = []

    def spy(key):
        read.append(key)
        return "dev" if key == "environmentSuffix" else None

    PlatformConfig.load(ConfigReader(spy))
    assert set(read) <= declared, set(read) - declared
    assert {"databasePassword", "paymentProviderApiKey", "fraudScoringApiKey"} <= set(read)


def test_only_the_suffix_is_required_and_no_key_is_a_defaulted_secret():
    layer = Layer("platform")
    schema = layer.config_schema()
    assert {k for k, spec in schema.items() if "default" not in spec} == {"environmentSuffix"}
    assert {"environmentSuffix"} <= set(layer.stack_config("dev"))
    # `secret: true` with a default fails `pulumi up` (pulumi/pulumi#21865); the program checks instead.
    assert not [k for k, spec in schema.items() if spec.get("secret") and "default" in spec]
    for credential in ("databasePassword", "paymentProviderApiKey", "fraudScoringApiKey"):
        assert schema[credential]["default"] == ""


def test_the_example_stack_holds_no_credentials():
    assert not {"databasePassword", "paymentProviderApiKey", "fraudScoringApiKey"} & set(
        Layer("platform").stack_config("dev")
    )


def test_the_services_layer_reader_sees_every_platform_export(platform):
    """PlatformOutputs (what the services layer will read) against the platform's real exports."""
    import pulumi

    from offline.engine import evaluate
    from shared.contracts import PlatformOutputs

    def program():
        outputs = PlatformOutputs.from_stack("organization/payments-platform/dev")
        pulumi.export("cluster", outputs.cluster_name)
        pulumi.export("internalSg", outputs.internal_alb.security_group_id)
        pulumi.export("publicDns", outputs.public_alb.dns_name)
        pulumi.export("secrets", outputs.secret_arns)

    result = evaluate(
        program,
        project="payments-services",
        upstream={"organization/payments-platform/dev": platform.exports},
    )
    assert result.exports == {
        "cluster": platform.exports["clusterName"],
        "internalSg": platform.exports["internalAlbSecurityGroupId"],
        "publicDns": platform.exports["publicAlbDnsName"],
        "secrets": platform.exports["secretArns"],
    }
