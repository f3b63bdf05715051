"""Preflight's account checks, all reported at once: quotas through Service Quotas (moto, with the
quota values moto does not model set in its backend), releases in progress before destroy (moto's
CodeDeploy), an AWS that cannot be reached (a real botocore client against a closed port), and every
other problem of the run in the same list."""

from __future__ import annotations

import socket

import boto3
import pytest
from botocore.stub import Stubber
from moto.servicequotas.models import ServiceQuotasBackend

from deploy import cli
from deploy.account import AccountScope, check_account, no_account_problems
from deploy.preflight import PreflightError, _config_values, _run_loader, check_aws, check_stack_config
from deploy.quotas import (
    ALBS_PER_STACK,
    APPLICATION_LOAD_BALANCERS,
    ELASTIC_IPS,
    LAMBDA_CONCURRENCY,
    VPCS,
    Needs,
    needs_of,
    quota_problems,
)
from deploy.runner import Deployer
from shared.config.reader import ConfigReader
from tests.aws_fakes import REGION, codedeploy_group, create_deployment, set_deployment_status
from tests.deploy.conftest import OFFLINE_AWS, FakeBackend, aws_ok, write_stack

# (service code, quota code) -> the applied value; moto's Service Quotas knows only the VPC defaults.
APPLIED: dict[tuple[str, str], float] = {}


@pytest.fixture
def quotas(aws, monkeypatch):
    """A new account as AWS sets it up: Lambda concurrency 10, 5 Elastic IPs, 5 VPCs, 50 ALBs."""
    APPLIED.clear()
    APPLIED.update(
        {
            (LAMBDA_CONCURRENCY.service_code, LAMBDA_CONCURRENCY.quota_code): 10.0,
            (ELASTIC_IPS.service_code, ELASTIC_IPS.quota_code): 5.0,
            (APPLICATION_LOAD_BALANCERS.service_code, APPLICATION_LOAD_BALANCERS.quota_code): 50.0,
        }
    )
    original = ServiceQuotasBackend.get_service_quota

    def get_service_quota(self, service_code, quota_code):
        if (service_code, quota_code) in APPLIED:
            return {
                "ServiceCode": service_code,
                "QuotaCode": quota_code,
                "Value": APPLIED[service_code, quota_code],
            }
        return original(self, service_code, quota_code)

    monkeypatch.setattr(ServiceQuotasBackend, "get_service_quota", get_service_quota)
    return APPLIED


def clients(service: str):
    return boto3.client(service, region_name=REGION)


def configs(layer_overrides: dict[str, dict[str, object]] | None = None) -> tuple[object, ...]:
    """The example stack's typed configs, with some keys changed."""
    loaded = []
    for layer in ("network", "platform", "services"):
        values, secret_keys, _ = _config_values(layer, "dev")
        values.update((layer_overrides or {}).get(layer, {}))
        loaded.append(_run_loader(layer, ConfigReader.from_mapping(values, secret_keys)))
    return tuple(loaded)


def evaluated_needs(*evaluations) -> Needs:
    resources = [r for e in evaluations for r in e.resources]
    return Needs(
        vpcs=sum(r.type == "aws:ec2/vpc:Vpc" for r in resources),
        elastic_ips=sum(r.type == "aws:ec2/eip:Eip" for r in resources),
        application_load_balancers=sum(
            r.type == "aws:lb/loadBalancer:LoadBalancer" and r.inputs.get("loadBalancerType") == "application"
            for r in resources
        ),
        reserved_concurrency=sum(
            int(r.inputs.get("reservedConcurrentExecutions") or 0)
            for r in resources
            if r.type == "aws:lambda/function:Function"
        ),
    )


def test_the_needs_read_from_config_are_what_the_layers_create(network, platform, services, network_ha):
    assert needs_of(configs()) == evaluated_needs(network, platform, services)
    ha = needs_of(
        configs(
            {"network": {"natGateways": "perAz", "environmentSuffix": "qa-7", "interfaceEndpoints": True}}
        )
    )
    assert ha.elastic_ips == evaluated_needs(network_ha).elastic_ips == 3
    assert needs_of(configs()).reserved_concurrency == 7  # the figure: 3 + 2 x 2
    assert evaluated_needs(platform).application_load_balancers == ALBS_PER_STACK


def test_a_new_accounts_lambda_concurrency_is_reported_with_the_quota_to_ask_for(quotas):
    [problem] = quota_problems(clients, Needs(reserved_concurrency=7), "qa", REGION)
    assert problem.startswith("Lambda concurrent executions: the quota is 10, and reserving 7")
    assert "--service-code lambda --quota-code L-B99A9384 --desired-value 1000" in problem
    quotas[LAMBDA_CONCURRENCY.service_code, LAMBDA_CONCURRENCY.quota_code] = 1000.0
    assert quota_problems(clients, Needs(reserved_concurrency=7), "qa", REGION) == []


def test_a_second_per_az_stack_runs_out_of_elastic_ips_but_its_own_addresses_are_not_counted(quotas):
    ec2 = boto3.client("ec2", region_name=REGION)
    for zone in ("us-east-1a", "us-east-1b", "us-east-1c"):  # the first stack, suffix dev, perAz
        allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
        ec2.create_tags(Resources=[allocation], Tags=[{"Key": "Name", "Value": f"eip-nat-{zone}-dev"}])
    [problem] = quota_problems(clients, Needs(elastic_ips=3), "qa", REGION)
    assert problem.startswith("EC2-VPC Elastic IPs: this stack needs 3, 3 are in use elsewhere in us-east-1")
    assert "set `natGateways single`" in problem
    assert "--quota-code L-0263D0A3 --desired-value 6" in problem
    assert quota_problems(clients, Needs(elastic_ips=3), "dev", REGION) == []  # a second `up` of dev


def test_vpcs_count_the_default_vpc_and_the_quota_comes_from_service_quotas(quotas):
    ec2 = boto3.client("ec2", region_name=REGION)
    for index in range(4):  # moto's default VPC is the fifth
        vpc = ec2.create_vpc(CidrBlock=f"10.{index}.0.0/16")["Vpc"]["VpcId"]
        ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": f"vpc-team{index}"}])
    [problem] = quota_problems(clients, Needs(vpcs=1), "qa", REGION)
    assert problem.startswith(f"{VPCS.name}: this stack needs 1, 5 are in use elsewhere")


def test_application_load_balancers_over_the_quota_are_reported(quotas):
    quotas[APPLICATION_LOAD_BALANCERS.service_code, APPLICATION_LOAD_BALANCERS.quota_code] = 2.0
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"][
            "SubnetId"
        ]
        for i, z in enumerate("ab")
    ]
    boto3.client("elbv2", region_name=REGION).create_load_balancer(Name="someone-elses", Subnets=subnets)
    [problem] = quota_problems(clients, Needs(application_load_balancers=2), "qa", REGION)
    assert problem.startswith("Application Load Balancers per Region: this stack needs 2, 1 are in use")


def test_an_unreadable_quota_is_a_warning_not_a_refusal(aws):
    denied = boto3.client("service-quotas", region_name=REGION)
    stub = Stubber(denied)
    stub.add_client_error(
        "get_service_quota", service_error_code="AccessDeniedException", http_status_code=403
    )
    stub.activate()
    warnings: list[str] = []
    problems = quota_problems(
        lambda service: denied if service == "service-quotas" else clients(service),
        Needs(reserved_concurrency=7),
        "qa",
        REGION,
        warnings.append,
    )
    assert problems == []
    [warning] = warnings
    assert warning.startswith(
        "warning: Lambda concurrent executions could not be read (An error occurred (AccessDenied"
    )


def test_a_release_in_progress_is_reported_before_destroy_with_the_stop_command(aws):
    codedeploy_group("codedeploy-payments-qa", "deployment-group-payment-processor-qa")
    running = create_deployment("codedeploy-payments-qa", "deployment-group-payment-processor-qa", "{}")
    set_deployment_status(running, "Baking")  # green took the traffic; blue waits to be terminated
    scope = AccountScope("destroy", ("services", "platform", "network"), REGION, "qa")
    [problem] = check_account(scope, lambda region: clients)
    assert problem.startswith(f"deployment {running} of payment-processor is still in progress")
    assert f"aws deploy stop-deployment --deployment-id {running} --auto-rollback-enabled" in problem
    set_deployment_status(running, "Succeeded")
    assert check_account(scope, lambda region: clients) == []
    # Destroying only the network or platform layer does not touch the services.
    set_deployment_status(running, "InProgress")
    assert check_account(AccountScope("destroy", ("network",), REGION, "qa"), lambda region: clients) == []


def closed_port() -> int:
    with socket.socket() as probe:  # a free port, closed again: connections to it are refused
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_aws_is_a_refusal_not_a_traceback(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    with pytest.raises(PreflightError) as error:
        check_aws(REGION)
    assert str(error.value).startswith("AWS could not be reached (Could not connect to the endpoint URL")
    assert "HTTPS_PROXY" in str(error.value)


@pytest.mark.usefixtures("repo", "passphrase")
def test_up_with_aws_unreachable_ends_in_one_refusal_exit_2(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    lines: list[str] = []
    backend = FakeBackend()
    code = cli.main(["up", "dev"], backend=backend, out=lines.append)  # the real check_aws and check_account
    assert code == cli.REFUSED
    assert lines[-1].startswith("up refused: AWS could not be reached (")
    assert not any("Traceback" in line for line in lines)
    assert backend.calls == []


@pytest.mark.usefixtures("repo", "passphrase")
def test_every_problem_of_a_run_is_reported_in_one_list(repo):
    write_stack(repo, "network", "qa", environmentSuffix="qa")
    write_stack(repo, "platform", "qa", environmentSuffix="qa", region="us-west-2")
    write_stack(repo, "services", "qa", environmentSuffix="qa", taskCpu=1024, taskMemory=512)

    def account(scope: AccountScope) -> list[str]:
        return ["Lambda concurrent executions: the quota is 10 ..."]

    lines: list[str] = []
    backend = FakeBackend(version="3.150.2")
    code = cli.main(["up", "qa"], backend=backend, out=lines.append, aws_check=aws_ok, account_check=account)
    assert code == cli.REFUSED
    assert lines[-4:] == [
        "up refused: 3 problems, nothing was changed:",
        lines[-3],
        lines[-2],
        "  3. Lambda concurrent executions: the quota is 10 ...",
    ]
    assert lines[-3].startswith("  1. the Pulumi CLI is 3.150.2, older than 3.200.0")
    assert lines[-2].startswith("  2. stacks/services/Pulumi.qa.yaml: taskMemory")
    # The services file did not validate, so whether the layers agree is left for the next run.
    assert not any("disagree" in line for line in lines)
    assert backend.calls == []


@pytest.mark.usefixtures("repo", "passphrase")
def test_layers_that_disagree_are_one_problem_among_the_others(repo):
    write_stack(repo, "network", "qa", environmentSuffix="qa")
    write_stack(repo, "platform", "qa", environmentSuffix="qa", region="us-west-2")
    write_stack(repo, "services", "qa", environmentSuffix="qa", allowPlaintextHttp=True)
    with pytest.raises(PreflightError) as error:
        Deployer(FakeBackend(logged_in=False), out=[].append, **OFFLINE_AWS).run("up", "qa")
    assert len(error.value.problems) == 2
    assert error.value.problems[0].startswith("no Pulumi backend is logged in")
    assert "disagree on region" in error.value.problems[1]


def test_a_quota_problem_stops_up_before_any_layer(quotas, monkeypatch, repo, passphrase):
    backend = FakeBackend()
    with pytest.raises(PreflightError) as error:
        Deployer(backend, out=[].append, aws_check=aws_ok).run("up", "dev")  # the real account check
    assert [p.split(":")[0] for p in error.value.problems] == ["Lambda concurrent executions"]
    assert backend.calls == []
    assert check_stack_config("network", "dev").config is not None
    assert no_account_problems(AccountScope("up", (), REGION, "dev")) == []
