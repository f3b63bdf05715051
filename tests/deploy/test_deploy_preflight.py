"""Preflight refuses, with the fix, before anything changes: the CLI, the login, the stack config,
the secrets passphrase, AWS credentials and region. The CLI checks run the real `AutomationBackend`
against a fake `pulumi` executable; the AWS checks run against moto and botocore's Stubber."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from deploy.account import no_account_problems
from deploy.backend import AutomationBackend, Identity
from deploy.preflight import (
    PreflightError,
    StackConfigFile,
    check_aws,
    check_cli,
    check_login,
    check_secrets_provider,
    check_stack_config,
    check_stack_configs,
    required_keys,
)
from deploy.runner import Deployer
from deploy.stacks import StackId
from offline.layer_projects import REPO_ROOT
from tests.deploy.conftest import FakeBackend, aws_ok, write_stack

FAKE_CLI = Path(__file__).with_name("fake_pulumi.py")


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """A `pulumi` on PATH that is the fake CLI; returns the state file that `stack export` reads."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "pulumi"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_CLI}" "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    state = tmp_path / "state.json"
    state.write_text("{}")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_PULUMI_STATE", str(state))
    return state


def test_a_missing_cli_is_refused_with_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PreflightError, match=r"the Pulumi CLI is not on PATH: install version 3\.200\.0"):
        check_cli(AutomationBackend())


def test_an_old_cli_is_refused_with_its_version(cli, monkeypatch):
    monkeypatch.setenv("FAKE_PULUMI_VERSION", "3.150.2")
    with pytest.raises(PreflightError, match=r"the Pulumi CLI is 3\.150\.2, older than 3\.200\.0"):
        check_cli(AutomationBackend())


def test_a_current_cli_passes(cli, monkeypatch):
    monkeypatch.setenv("FAKE_PULUMI_VERSION", "3.272.0")
    assert check_cli(AutomationBackend()) == "3.272.0"


def test_no_backend_logged_in_suggests_local_for_trying_and_s3_for_teams(cli, monkeypatch):
    monkeypatch.setenv("FAKE_PULUMI_LOGGED_IN", "0")
    with pytest.raises(PreflightError) as error:
        check_login(AutomationBackend())
    message = str(error.value)
    assert "no Pulumi backend is logged in (error: PULUMI_ACCESS_TOKEN must be set" in message
    assert "`pulumi login --local`" in message
    assert "pulumi login 's3://<bucket>?region=us-east-1'" in message


def test_a_self_managed_login_is_read_from_whoami(cli):
    backend = AutomationBackend()
    identity = check_login(backend)
    assert identity == Identity("ops", "file:///home/ops/.pulumi", ())
    assert identity.self_managed
    assert backend.default_organization(identity) == "organization"


def test_resource_count_reads_the_state_without_decrypting_it(cli, tmp_path, monkeypatch):
    cli.write_text(
        json.dumps({"organization/payments-network/dev": 41, "organization/payments-network/old": 0})
    )
    log = tmp_path / "calls.log"
    monkeypatch.setenv("FAKE_PULUMI_LOG", str(log))
    backend = AutomationBackend()
    assert backend.resource_count(StackId("organization", "payments-network", "dev")) == 41
    assert backend.resource_count(StackId("organization", "payments-network", "old")) == 0
    assert backend.resource_count(StackId("organization", "payments-network", "qa")) is None
    exports = [json.loads(line) for line in log.read_text().splitlines()]
    assert exports
    assert all("--show-secrets" not in call for call in exports)


# Stack config


def test_every_layer_requires_exactly_the_suffix():
    assert {layer: required_keys(layer) for layer in ("network", "platform", "services")} == {
        "network": ["environmentSuffix"],
        "platform": ["environmentSuffix"],
        "services": ["environmentSuffix"],
    }


def test_a_missing_stack_file_names_the_keys_it_needs_and_the_init_command(repo):
    with pytest.raises(PreflightError) as error:
        check_stack_config("platform", "qa")
    assert str(error.value) == (
        "stacks/platform/Pulumi.qa.yaml does not exist; a stack of this layer must set environmentSuffix. "
        "Create it from the example with `python3 dev.py init -- qa --suffix <suffix>` (or "
        "`pulumi stack init qa` and `pulumi config set environmentSuffix <value>` in stacks/platform)"
    )


def test_a_stack_file_without_the_suffix_says_how_to_set_it(repo):
    write_stack(repo, "network", "qa", natGateways="single")
    with pytest.raises(PreflightError, match=r"does not set environmentSuffix: `pulumi config set"):
        check_stack_config("network", "qa")


def test_an_invalid_value_is_reported_with_the_layers_own_message(repo):
    write_stack(repo, "services", "qa", environmentSuffix="qa", minCapacity=5, maxCapacity=3)
    with pytest.raises(
        PreflightError,
        match=r"^stacks/services/Pulumi\.qa\.yaml: maxCapacity: must be at least minCapacity \(5\)",
    ):
        check_stack_config("services", "qa")


def test_an_invalid_services_config_stops_up_before_the_network_is_touched(repo, passphrase):
    for layer in ("network", "platform"):
        write_stack(repo, layer, "qa", environmentSuffix="qa")
    write_stack(repo, "services", "qa", environmentSuffix="qa", taskCpu=1024, taskMemory=512)
    backend = FakeBackend()
    with pytest.raises(PreflightError, match=r"stacks/services/Pulumi\.qa\.yaml: taskMemory"):
        Deployer(backend, out=[].append, aws_check=aws_ok, account_check=no_account_problems).run("up", "qa")
    assert backend.calls == []


def test_a_misspelled_key_in_a_stack_file_is_refused_with_the_key_it_resembles(repo):
    write_stack(repo, "services", "qa", environmentSuffix="qa", maxCapacty=3)
    with pytest.raises(
        PreflightError,
        match=r"^stacks/services/Pulumi\.qa\.yaml: maxCapacty: is not a config key of the services layer "
        r"\(did you mean maxCapacity\)",
    ):
        check_stack_config("services", "qa")


def test_a_plaintext_credential_is_refused_without_echoing_it(repo):
    write_stack(repo, "platform", "qa", environmentSuffix="qa", paymentProviderApiKey="sk_live_leaked")
    with pytest.raises(PreflightError) as error:
        check_stack_config("platform", "qa")
    assert "paymentProviderApiKey: holds a credential" in str(error.value)
    assert "sk_live_leaked" not in str(error.value)


def test_an_encrypted_credential_passes(repo):
    write_stack(repo, "platform", "qa", environmentSuffix="qa", paymentProviderApiKey={"secure": "v1:abc"})
    assert check_stack_config("platform", "qa").suffix == "qa"


def test_layers_with_different_suffixes_are_refused(repo):
    write_stack(repo, "network", "qa", environmentSuffix="qa")
    write_stack(repo, "platform", "qa", environmentSuffix="qa2")
    with pytest.raises(
        PreflightError, match=r"disagree on environmentSuffix \(network has 'qa', platform has 'qa2'\)"
    ):
        check_stack_configs(("network", "platform"), "qa")


def test_layers_in_different_regions_are_refused(repo):
    write_stack(repo, "network", "qa", environmentSuffix="qa", region="us-west-2")
    write_stack(repo, "platform", "qa", environmentSuffix="qa")
    with pytest.raises(PreflightError, match="disagree on region"):
        check_stack_configs(("network", "platform"), "qa")


def test_destroy_needs_the_stack_file_but_not_a_config_that_still_validates(repo):
    write_stack(repo, "services", "qa", environmentSuffix="qa", minCapacity=5, maxCapacity=3)
    assert check_stack_config("services", "qa", validate=False).suffix == "qa"


# Secrets passphrase

SETTINGS = [StackConfigFile("network", "dev", "dev", "us-east-1", None)]


def test_a_self_managed_backend_without_a_passphrase_is_refused():
    with pytest.raises(PreflightError, match="export PULUMI_CONFIG_PASSPHRASE"):
        check_secrets_provider(Identity("ops", "s3://state-bucket"), SETTINGS, env={})


@pytest.mark.parametrize(
    ("identity", "settings", "env"),
    [
        (Identity("ops", "file:///x"), SETTINGS, {"PULUMI_CONFIG_PASSPHRASE_FILE": "/run/secrets/pp"}),
        (
            Identity("ops", "s3://state"),
            [StackConfigFile("network", "dev", "dev", "us-east-1", "awskms://x")],
            {},
        ),
        (Identity("ops", "https://api.pulumi.com"), SETTINGS, {}),
    ],
)
def test_a_passphrase_a_kms_provider_or_pulumi_cloud_is_enough(identity, settings, env):
    check_secrets_provider(identity, settings, env=env)


# AWS


def create_the_boundary() -> None:
    document = (REPO_ROOT / "deploy" / "iam" / "role-boundary.json").read_text()
    boto3.client("iam", region_name="us-east-1").create_policy(
        PolicyName="payments-role-boundary", PolicyDocument=document
    )


def test_aws_credentials_are_checked_with_sts(aws):
    create_the_boundary()
    identity = check_aws("us-east-1")
    assert identity.account == "123456789012"
    assert identity.arn.startswith("arn:aws:")


def test_a_missing_role_boundary_is_refused_with_the_command_that_creates_it(aws):
    with pytest.raises(
        PreflightError,
        match=r"the permissions boundary arn:aws:iam::123456789012:policy/payments-role-boundary does not "
        r"exist.*`aws iam create-policy --policy-name payments-role-boundary "
        r"--policy-document file://deploy/iam/role-boundary.json`",
    ):
        check_aws("us-east-1")


def test_a_deployer_that_cannot_read_the_boundary_is_told_which_document_to_attach(aws):
    session = boto3.Session(region_name="us-east-1")
    iam = session.client("iam", region_name="us-east-1")
    stubber = Stubber(iam)
    stubber.add_client_error("get_policy", service_error_code="AccessDenied", http_status_code=403)
    stubber.activate()

    class Session:
        region_name = "us-east-1"

        def client(self, service, region_name, **options):
            return iam if service == "iam" else session.client(service, region_name=region_name, **options)

    with pytest.raises(PreflightError, match=r"\(AccessDenied\): attach deploy/iam/deployer-roles\.json"):
        check_aws("us-east-1", session_factory=Session)


def test_the_deployer_may_read_the_boundary_and_nothing_else_of_iams_policies():
    from policy.iam_eval import Request, decide

    documents = [json.loads(p.read_text()) for p in (REPO_ROOT / "deploy" / "iam").glob("deployer-*.json")]
    context = {"aws:RequestedRegion": "us-east-1", "aws:PrincipalAccount": "123456789012"}
    boundary = "arn:aws:iam::123456789012:policy/payments-role-boundary"
    assert decide(documents, Request("iam:GetPolicy", boundary, context)) == "allowed"
    other = "arn:aws:iam::123456789012:policy/payments-deployer-roles"
    assert decide(documents, Request("iam:GetPolicy", other, context)) == "implicitly denied"


def test_no_aws_credentials_is_refused_with_how_to_get_them(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(PreflightError, match="no AWS credentials found: `aws sso login"):
        check_aws("us-east-1")


def test_an_environment_region_other_than_the_stacks_is_refused(aws, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with pytest.raises(PreflightError, match=r"points at region eu-west-1.*`export AWS_REGION=us-east-1`"):
        check_aws("us-east-1")


def test_expired_credentials_are_refused_with_the_code_sts_gave(aws):
    session = boto3.Session(region_name="us-east-1")
    client = session.client("sts", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_client_error("get_caller_identity", service_error_code="ExpiredToken", http_status_code=403)
    stubber.activate()

    class Session:
        region_name = "us-east-1"

        def client(self, service, region_name, config=None):
            return client

    with pytest.raises(PreflightError, match=r"AWS STS rejected the credentials \(ExpiredToken\)"):
        check_aws("us-east-1", session_factory=Session)
