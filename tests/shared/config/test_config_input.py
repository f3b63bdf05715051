"""Config input: unknown keys refused with the closest key, one suffix for all layers, missing stacks."""

from __future__ import annotations

import contextlib
import io

import pytest

from offline.layer_projects import evaluate_layer
from planning import plan
from shared.config import NetworkConfig, PlatformConfig, ServicesConfig
from shared.config.declared import declared_keys
from shared.config.reader import ConfigReader
from shared.errors import ConfigError


def run_plan(*argv: str, tmp_path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = plan.main([*argv, "--out", str(tmp_path / "plan.json")])
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("loader", "typo", "meant"),
    [
        (ServicesConfig.load, "maxCapacty", "maxCapacity"),
        (NetworkConfig.load, "natGateway", "natGateways"),
        (PlatformConfig.load, "containerInsight", "containerInsights"),
    ],
)
def test_a_misspelled_key_is_refused_with_the_key_it_resembles(loader, typo, meant):
    reader = ConfigReader.from_mapping({"environmentSuffix": "dev", typo: "3"})
    with pytest.raises(
        ConfigError, match=rf"^{typo}: is not a config key of the \w+ layer \(did you mean {meant}\)"
    ):
        loader(reader)


def test_a_misspelled_credential_is_refused_without_showing_it():
    reader = ConfigReader.from_mapping(
        {"environmentSuffix": "dev", "paymentProviderApiKy": "sk_live_leaked"},
        secret_keys=["paymentProviderApiKy"],
    )
    with pytest.raises(ConfigError) as error:
        PlatformConfig.load(reader)
    assert "(did you mean paymentProviderApiKey)" in str(error.value)
    assert "sk_live_leaked" not in str(error.value)


def test_a_key_unlike_any_lists_the_known_keys():
    reader = ConfigReader.from_mapping({"environmentSuffix": "dev", "zzz": "1"})
    with pytest.raises(
        ConfigError,
        match=r"\(known keys: alarmEmails, alarmHeartbeatSchedule, alarmHttpsEndpoints, availabilityZones",
    ):
        NetworkConfig.load(reader)


def test_the_images_map_and_other_packages_keys_are_accepted():
    assert "images" in declared_keys("services")
    reader = ConfigReader.from_mapping(
        {
            "environmentSuffix": "dev",
            "images.api-gateway": "v2",
            "aws:region": "us-east-1",
            "allowPlaintextHttp": "true",
        }
    )
    assert ServicesConfig.load(reader).common.environment_suffix == "dev"


def test_every_key_a_layer_declares_is_one_it_accepts():
    for layer, loader in (("network", NetworkConfig.load), ("platform", PlatformConfig.load)):
        assert "environmentSuffix" in declared_keys(layer)
        loader(ConfigReader.from_mapping({"environmentSuffix": "dev"}))


def test_the_pulumi_program_itself_refuses_an_unknown_key():
    """A plain `pulumi up` runs the same check: the program reads every key the stack sets."""
    with pytest.raises(ConfigError, match=r"^natGateway: .*\(did you mean natGateways\)"):
        evaluate_layer("network", config={"natGateway": "single"})


def test_plan_refuses_an_unknown_key_with_exit_2(tmp_path):
    code, _, err = run_plan("--config", "services:maxCapacty=3", tmp_path=tmp_path)
    assert code == 2
    assert "maxCapacty: is not a config key of the services layer (did you mean maxCapacity)" in err


def test_plan_refuses_layers_with_different_suffixes(tmp_path):
    code, _, err = run_plan("--config", "network:environmentSuffix=qa", tmp_path=tmp_path)
    assert code == 2
    assert "suffixes differ (network=qa, platform=dev, services=dev)" in err
    assert "--suffix" in err


def test_plan_refuses_a_stack_without_a_stack_file_and_names_the_known_ones(tmp_path):
    code, _, err = run_plan("--stack", "qa", tmp_path=tmp_path)
    assert code == 2
    assert "no such stack 'qa'" in err
    assert "known: dev" in err
    assert "python3 dev.py init -- qa --suffix <suffix>" in err


def test_plan_takes_one_suffix_for_every_layer(tmp_path):
    code, printed, _ = run_plan("--suffix", "qa", tmp_path=tmp_path)
    assert code == 0
    assert "vpc-qa" in printed or "ecs-cluster-qa" in printed
    assert '-dev"' not in printed


def test_plan_reads_an_encrypted_stack_value_as_a_secret_and_never_shows_it(tmp_path, monkeypatch):
    """`init` stores credentials with --secret; plan cannot decrypt them, and must not refuse them."""
    import offline.layer_projects

    for layer in ("network", "platform", "services"):
        source = offline.layer_projects.REPO_ROOT / "stacks" / layer
        target = tmp_path / "stacks" / layer
        target.mkdir(parents=True)
        for name in ("Pulumi.yaml", "__main__.py"):
            (target / name).write_text((source / name).read_text())
        text = (source / "Pulumi.dev.yaml").read_text().replace(": dev", ": qa")
        if layer == "platform":
            text += "  payments-platform:paymentProviderApiKey:\n    secure: v1:c2VjcmV0Y2lwaGVydGV4dA==\n"
            text += "  payments-platform:fraudScoringApiKy:\n    secure: v1:bXlzdGVyeWNpcGhlcg==\n"
        (target / "Pulumi.qa.yaml").write_text(text)
    monkeypatch.setattr(offline.layer_projects, "REPO_ROOT", tmp_path)
    code, _, err = run_plan("--stack", "qa", tmp_path=tmp_path)
    assert code == 2
    assert "fraudScoringApiKy: is not a config key of the platform layer" in err  # the typo, refused
    assert "<hidden>" in err
    assert "bXlzdGVyeWNpcGhlcg" not in err
    assert "c2VjcmV0Y2lwaGVydGV4dA" not in err
    platform_stack = tmp_path / "stacks" / "platform" / "Pulumi.qa.yaml"
    platform_stack.write_text(platform_stack.read_text().split("  payments-platform:fraudScoringApiKy")[0])
    code, printed, _ = run_plan("--stack", "qa", tmp_path=tmp_path)
    assert code == 0  # the encrypted credential is read as a secret, not refused as plaintext
    assert "c2VjcmV0Y2lwaGVydGV4dA" not in printed


def test_a_misspelled_namespace_is_refused_and_the_providers_namespace_is_not():
    with pytest.raises(ConfigError, match=r"\(did you mean payments-network:natGateways\)"):
        evaluate_layer("network", config={"payments-netwrk:natGateways": "single"})
    assert evaluate_layer("network", config={"aws:skipMetadataApiCheck": "true"}).exports["vpcCidr"]


def test_an_array_key_stored_as_a_string_is_refused_before_pulumi_up_refuses_it(tmp_path, monkeypatch):
    import offline.layer_projects
    from deploy.preflight import PreflightError, check_stack_config

    target = tmp_path / "stacks" / "platform"
    target.mkdir(parents=True)
    source = offline.layer_projects.REPO_ROOT / "stacks" / "platform"
    (target / "Pulumi.yaml").write_text((source / "Pulumi.yaml").read_text())
    (target / "Pulumi.qa.yaml").write_text(
        "config:\n  payments-platform:environmentSuffix: qa\n"
        "  payments-platform:allowedIngressCidrs: '[\"10.0.0.0/8\"]'\n"
    )
    monkeypatch.setattr(offline.layer_projects, "REPO_ROOT", tmp_path)
    with pytest.raises(PreflightError, match=r"allowedIngressCidrs: must be stored as a list.*--path"):
        check_stack_config("platform", "qa")
    with pytest.raises(ConfigError, match=r"allowedIngressCidrs: must be stored as a list"):
        evaluate_layer("platform", stack="qa")
