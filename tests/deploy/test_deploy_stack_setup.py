"""`init` gives a new stack the example config with its own suffix, and stores credentials only as
Pulumi secrets: from the environment, or moved out of a plaintext stack file."""

from __future__ import annotations

import pytest
import yaml

from deploy import cli
from deploy.preflight import check_stack_configs
from deploy.stack_setup import (
    SetupError,
    credential_variable,
    plaintext_credentials,
    set_credentials,
    write_stack_config,
)
from tests.deploy.conftest import FakeBackend, FakeStack, full, write_stack

LAYERS = ("network", "platform", "services")


def config_of(repo, layer, stack):
    return yaml.safe_load((repo / "stacks" / layer / f"Pulumi.{stack}.yaml").read_text())["config"]


def test_a_new_stack_gets_the_example_config_with_its_own_suffix(repo):
    assert write_stack_config("network", "qa", "qa-1") is True
    assert config_of(repo, "network", "qa") == {
        "payments-network:environmentSuffix": "qa-1",
        "payments-network:natGateways": "single",  # from Pulumi.dev.yaml
    }
    assert check_stack_configs(("network",), "qa")[0].suffix == "qa-1"


def test_an_existing_stack_file_is_kept(repo):
    path = write_stack(repo, "network", "qa", environmentSuffix="qa", natGateways="perAz")
    before = path.read_text()
    assert write_stack_config("network", "qa", "qa") is False
    assert path.read_text() == before


def test_an_existing_stack_file_with_another_suffix_is_refused(repo):
    write_stack(repo, "network", "qa", environmentSuffix="qa")
    with pytest.raises(
        SetupError, match="already sets environmentSuffix to 'qa', not 'qa2': use --suffix qa"
    ):
        write_stack_config("network", "qa", "qa2")


@pytest.mark.parametrize(
    ("suffix", "rule"),
    [("Prod", "lowercase"), ("toolongsfx", "at most 8"), ("p-abcdef", "6-character segment")],
)
def test_an_invalid_suffix_is_refused_before_any_file_is_written(repo, suffix, rule):
    with pytest.raises(SetupError, match=rule):
        write_stack_config("network", "qa", suffix)
    assert not (repo / "stacks" / "network" / "Pulumi.qa.yaml").exists()


def test_credential_variables_are_named_after_their_keys():
    assert credential_variable("paymentProviderApiKey") == "PAYMENTS_PAYMENT_PROVIDER_API_KEY"
    assert credential_variable("databasePassword") == "PAYMENTS_DATABASE_PASSWORD"


def test_credentials_from_the_environment_are_stored_as_secrets(repo):
    write_stack_config("platform", "qa", "qa")
    backend = FakeBackend()
    stored = set_credentials(
        "platform",
        "qa",
        FakeStack(backend, "platform", "qa"),
        env={"PAYMENTS_PAYMENT_PROVIDER_API_KEY": "sk_live_1", "PAYMENTS_UNRELATED": "x"},
    )
    assert stored == ["paymentProviderApiKey"]
    assert backend.secrets == {("platform", "qa", "paymentProviderApiKey"): "sk_live_1"}


def test_a_plaintext_credential_in_the_file_is_moved_into_a_secret(repo):
    write_stack(repo, "platform", "qa", environmentSuffix="qa", fraudScoringApiKey="fraud-plain")
    assert plaintext_credentials("platform", "qa") == {"fraudScoringApiKey": "fraud-plain"}
    backend = FakeBackend()
    set_credentials("platform", "qa", FakeStack(backend, "platform", "qa"), env={})
    assert backend.secrets == {("platform", "qa", "fraudScoringApiKey"): "fraud-plain"}


def test_layers_without_credentials_store_none(repo):
    backend = FakeBackend()
    env = {"PAYMENTS_PAYMENT_PROVIDER_API_KEY": "sk"}
    assert set_credentials("services", "dev", FakeStack(backend, "services", "dev"), env=env) == []
    assert backend.secrets == {}


def test_init_creates_every_layers_stack_and_says_what_to_run_next(repo, passphrase, monkeypatch):
    monkeypatch.setenv("PAYMENTS_FRAUD_SCORING_API_KEY", "fraud-from-env")
    backend = FakeBackend()
    lines: list[str] = []
    assert cli.main(["init", "qa", "--suffix", "qa"], backend=backend, out=lines.append) == 0
    assert all((repo / "stacks" / layer / "Pulumi.qa.yaml").exists() for layer in LAYERS)
    assert [call for call in backend.calls if call[0] == "create"] == [
        ("create", layer, "qa") for layer in LAYERS
    ]
    assert backend.secrets == {("platform", "qa", "fraudScoringApiKey"): "fraud-from-env"}
    assert (
        "platform: stack qa ready, stacks/platform/Pulumi.qa.yaml written from Pulumi.dev.yaml; secrets set: "
        "fraudScoringApiKey" in lines
    )
    assert lines[-1].startswith("next: python3 dev.py preview -- qa")
    assert "fraud-from-env" not in "\n".join(lines)
    assert full("services", "qa") in backend.resources


def test_init_on_a_self_managed_backend_without_a_passphrase_creates_nothing(repo, monkeypatch):
    for name in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"):
        monkeypatch.delenv(name, raising=False)
    backend = FakeBackend()
    lines: list[str] = []
    assert cli.main(["init", "qa"], backend=backend, out=lines.append) == 2
    assert "export PULUMI_CONFIG_PASSPHRASE" in lines[-1]
    assert backend.calls == []
