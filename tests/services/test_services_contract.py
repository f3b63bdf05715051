"""Names, tags, provider, options and exports of the services layer: what other layers rely on."""

from __future__ import annotations

import pytest

from offline.layer_projects import Layer
from shared.catalogue import CATALOGUE
from shared.config import ConfigReader, ServicesConfig
from shared.contracts import ServicesExports
from tests.helpers import ancestors, is_taggable, physical_names
from tests.services.conftest import SPECS, STACKS

CLOUD_MAP_SERVICE = "aws:servicediscovery/service:Service"


@pytest.mark.parametrize(("fixture", "suffix"), STACKS)
def test_every_aws_name_carries_the_suffix(request, fixture, suffix):
    evaluation = request.getfixturevalue(fixture)
    for resource in evaluation.aws_resources():
        assert f"-{suffix}" in resource.name, resource.name
        for name in physical_names(resource):
            if resource.type == CLOUD_MAP_SERVICE and name == resource.inputs["name"]:
                continue  # the DNS label is the bare service name; the namespace carries the suffix
            assert name.endswith(f"-{suffix}"), (resource.type, name)


@pytest.mark.parametrize(("fixture", "suffix"), STACKS)
def test_every_taggable_resource_names_its_service(request, fixture, suffix):
    evaluation = request.getfixturevalue(fixture)
    owners = {spec.name for spec in CATALOGUE} | {"services"}
    taggable = [r for r in evaluation.aws_resources() if is_taggable(r.type)]
    assert len(taggable) >= 60
    for resource in taggable:
        tags = resource.inputs.get("tags", {})
        assert tags.get("Service") in owners, resource.name
        assert tags.get("Name", "").endswith(suffix), resource.name


@pytest.mark.parametrize("spec", SPECS)
def test_everything_a_fargate_service_owns_carries_its_service_tag(services, spec):
    component = services.one("payments:services:FargateService", spec.name)
    owned = [
        r for r in services.aws_resources() if component in ancestors(services, r) and is_taggable(r.type)
    ]
    assert len(owned) >= 15
    for resource in owned:
        assert resource.inputs["tags"]["Service"] == spec.name, resource.name


@pytest.mark.parametrize(("fixture", "suffix"), STACKS)
def test_the_provider_adds_environment_and_cost_center_to_everything(request, fixture, suffix):
    evaluation = request.getfixturevalue(fixture)
    provider = evaluation.one("pulumi:providers:aws")
    default_tags = provider.inputs["defaultTags"].replace(" ", "")
    assert f'"Environment":"{suffix}"' in default_tags
    assert '"CostCenter":"payments"' in default_tags
    for resource in evaluation.aws_resources():
        assert resource.provider_urn == provider.urn, resource.name
    for invoke in evaluation.invokes:
        assert "pulumi:providers:aws::aws-" in invoke.provider, invoke.token


@pytest.mark.parametrize(("fixture", "suffix"), STACKS)
def test_nothing_is_protected_or_retained(request, fixture, suffix):
    evaluation = request.getfixturevalue(fixture)
    for resource in evaluation.resources:
        assert not resource.protect, resource.name
        assert not resource.retain_on_delete, resource.name


def test_upstream_layers_are_read_only_through_stack_references(services):
    references = sorted(r.name for r in services.all("pulumi:pulumi:StackReference"))
    assert references == ["organization/payments-network/dev", "organization/payments-platform/dev"]


def test_exports_are_exactly_the_contract(services, platform):
    exports = services.exports
    assert set(exports) == set(ServicesExports.ALL)
    names = [spec.name for spec in CATALOGUE]
    repositories = {
        r.inputs["name"]: r.state["repositoryUrl"] for r in services.all("aws:ecr/repository:Repository")
    }
    assert exports["repositoryUrls"] == {n: repositories[f"ecr-{n}-dev"] for n in names}
    assert exports["serviceNames"] == {n: f"ecs-service-{n}-dev" for n in names}
    assert exports["codeDeployApplication"] == "codedeploy-payments-dev"
    assert exports["deploymentGroups"] == {n: f"deployment-group-{n}-dev" for n in names}
    assert exports["internalDnsNames"] == {
        "payment-processor": "payment-processor.payments-dev.local",
        "fraud-detector": "fraud-detector.payments-dev.local",
    }
    assert exports["publicUrl"] == f"http://{platform.exports['publicAlbDnsName']}"


def test_with_a_certificate_the_public_url_is_https(services_alt, platform_alt):
    assert services_alt.exports["publicUrl"] == f"https://{platform_alt.exports['publicAlbDnsName']}"
    assert services_alt.exports["internalDnsNames"]["fraud-detector"] == "fraud-detector.pay-qa-7.internal"


def test_pulumi_yaml_defaults_match_the_typed_config_defaults():
    layer = Layer("services")
    base = {
        "environmentSuffix": "dev",
        "networkStack": "o/p/s",
        "platformStack": "o/p/s",
        "allowPlaintextHttp": "true",
    }
    from_yaml = ServicesConfig.load(ConfigReader.from_mapping({**layer.defaults(), **base}))
    from_code = ServicesConfig.load(ConfigReader.from_mapping(base))
    assert from_yaml == from_code


def test_every_config_key_the_code_reads_is_declared_in_pulumi_yaml():
    read: set[str] = set()
    base = {
        "environmentSuffix": "dev",
        "networkStack": "o/p/s",
        "platformStack": "o/p/s",
        "allowPlaintextHttp": "true",
    }

    def spy(key: str) -> str | None:
        read.add(key)
        return base.get(key)

    ServicesConfig.load(ConfigReader(spy))
    declared = set(Layer("services").config_schema())
    # `images` is a map and desiredCount's default follows minCapacity: Pulumi.yaml can declare neither
    # (shared/config/render.py says why); both are in shared/config/keys.py and the README.
    assert read - declared == {"images", "desiredCount"}
