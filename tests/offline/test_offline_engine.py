"""The offline engine on small programs written here: what it captures, resolves and refuses."""

from __future__ import annotations

import json
import time

import pulumi
import pulumi_aws as aws
import pytest

from offline import OfflineTimeoutError, evaluate
from offline.fake_aws import ACCOUNT_ID
from offline.mocks import OfflineInvokeError, UnknownStackReferenceError
from shared import contracts


def test_a_vpc_is_captured_with_its_inputs_and_realistic_outputs():
    def program():
        vpc = aws.ec2.Vpc("vpc-dev", cidr_block="10.1.0.0/16", enable_dns_hostnames=True)
        pulumi.export("vpcId", vpc.id)
        pulumi.export("vpcArn", vpc.arn)

    result = evaluate(program, project="demo")
    vpc = result.one("aws:ec2/vpc:Vpc", "vpc-dev")
    assert vpc.inputs == {"cidrBlock": "10.1.0.0/16", "enableDnsHostnames": True}
    assert vpc.id.startswith("vpc-")
    assert len(vpc.id) == len("vpc-") + 17
    assert result.exports["vpcId"] == vpc.id
    assert result.exports["vpcArn"] == f"arn:aws:ec2:us-east-1:{ACCOUNT_ID}:vpc/{vpc.id}"


def test_config_is_read_under_the_project_namespace():
    def program():
        config = pulumi.Config()
        pulumi.export("size", config.require_int("size"))
        pulumi.export("zones", config.require_object("zones"))
        pulumi.export("region", pulumi.Config("aws").get("region"))

    result = evaluate(
        program,
        project="demo",
        config={"size": 3, "zones": ["a", "b"], "aws:region": "us-east-1"},
    )
    assert result.exports == {"size": 3, "zones": ["a", "b"], "region": "us-east-1"}


def test_a_stack_reference_resolves_from_the_given_upstream_outputs():
    def program():
        ref = pulumi.StackReference("organization/payments-network/dev")
        pulumi.export("vpc", ref.require_output(contracts.NetworkExports.VPC_ID))
        pulumi.export("subnets", ref.require_output(contracts.NetworkExports.PRIVATE_SUBNET_IDS))

    upstream = {"vpcId": "vpc-123", "privateSubnetIds": ["subnet-a", "subnet-b", "subnet-c"]}
    result = evaluate(program, project="demo", upstream={"organization/payments-network/dev": upstream})
    assert result.exports == {"vpc": "vpc-123", "subnets": ["subnet-a", "subnet-b", "subnet-c"]}
    reference = result.one("pulumi:pulumi:StackReference")
    assert reference.inputs["name"] == "organization/payments-network/dev"


def test_an_unknown_stack_reference_fails_loudly():
    def program():
        pulumi.StackReference("organization/payments-network/prod").get_output("vpcId")

    with pytest.raises(UnknownStackReferenceError, match=r"payments-network/prod.*known: none"):
        evaluate(program, project="demo")


def test_a_policy_document_invoke_renders_real_iam_json():
    def program():
        bucket = aws.s3.Bucket("s3-logs-dev", bucket="s3-logs-dev")
        document = aws.iam.get_policy_document_output(
            statements=[
                {
                    "sid": "ReadLogs",
                    "actions": ["s3:GetObject", "s3:ListBucket"],
                    "resources": [bucket.arn, bucket.arn.apply(lambda a: f"{a}/*")],
                    "principals": [{"type": "Service", "identifiers": ["logs.amazonaws.com"]}],
                    "conditions": [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["true"]}],
                },
                {"effect": "Deny", "actions": ["iam:*"], "resources": ["*"]},
            ]
        )
        pulumi.export("policy", document.json)

    exported = json.loads(evaluate(program, project="demo").exports["policy"])
    assert exported == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadLogs",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": ["arn:aws:s3:::s3-logs-dev", "arn:aws:s3:::s3-logs-dev/*"],
                "Principal": {"Service": "logs.amazonaws.com"},
                "Condition": {"Bool": {"aws:SecureTransport": "true"}},
            },
            {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
        ],
    }


def test_the_invokes_the_layers_use_are_answered():
    def program():
        identity = aws.get_caller_identity()
        region = aws.get_region()
        partition = aws.get_partition()
        zones = aws.get_availability_zones(state="available")
        pulumi.export("account", identity.account_id)
        pulumi.export("region", region.region)
        pulumi.export("partition", partition.partition)
        pulumi.export("zones", zones.names)

    result = evaluate(program, project="demo", availability_zones=("us-east-1a", "us-east-1b"))
    assert result.exports == {
        "account": ACCOUNT_ID,
        "region": "us-east-1",
        "partition": "aws",
        "zones": ["us-east-1a", "us-east-1b"],
    }
    tokens = [invoke.token for invoke in result.invokes]
    assert "aws:index/getAvailabilityZones:getAvailabilityZones" in tokens


def test_an_unknown_invoke_fails_loudly():
    def program():
        aws.ec2.get_vpc(default=True)

    with pytest.raises(OfflineInvokeError, match=r"does not answer invoke 'aws:ec2/getVpc:getVpc'"):
        evaluate(program, project="demo")


class Pair(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("demo:index:Pair", name, None, opts)
        self.first = aws.sqs.Queue(f"{name}-first", opts=pulumi.ResourceOptions(parent=self))
        self.second = aws.sqs.Queue(
            f"{name}-second",
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.first],
                ignore_changes=["tags"],
                delete_before_replace=True,
            ),
        )
        self.register_outputs({"first": self.first.arn})


def test_a_component_with_children_records_parents_and_resource_options():
    result = evaluate(lambda: Pair("pair"), project="demo")
    component = result.one("demo:index:Pair", "pair")
    first = result.one("aws:sqs/queue:Queue", "pair-first")
    second = result.one("aws:sqs/queue:Queue", "pair-second")
    assert component.is_component
    assert first.parent == component.urn
    assert second.parent == component.urn
    assert [r.name for r in result.all(parent=component.urn)] == ["pair-first", "pair-second"]
    assert second.dependencies == (first.urn,)
    assert second.ignore_changes == ("tags",)
    assert second.delete_before_replace is True
    assert first.protect is False
    assert first.retain_on_delete is False


def test_protect_and_retain_are_visible_so_tests_can_forbid_them():
    def program():
        aws.sqs.Queue("kept", opts=pulumi.ResourceOptions(protect=True, retain_on_delete=True))

    queue = evaluate(program, project="demo").one("aws:sqs/queue:Queue", "kept")
    assert queue.protect is True
    assert queue.retain_on_delete is True


def test_auto_named_resources_get_pulumi_style_physical_names():
    def program():
        aws.lb.TargetGroup("tg-api-blue-dev", port=8080, protocol="HTTP", target_type="ip")

    group = evaluate(program, project="demo").one("aws:lb/targetGroup:TargetGroup")
    name = group.state["name"]
    assert name.startswith("tg-api-blue-dev-")
    assert len(name) == len("tg-api-blue-dev") + 8
    assert group.id.startswith("arn:aws:elasticloadbalancing:us-east-1:")


def test_a_program_that_raises_reports_its_exception():
    class BoomError(RuntimeError):
        pass

    def program():
        aws.sqs.Queue("before")
        raise BoomError("config is wrong: fix it")

    with pytest.raises(BoomError, match="config is wrong: fix it") as caught:
        evaluate(program, project="demo")
    assert any("evaluating demo/dev offline" in note for note in caught.value.__notes__)


def test_a_program_that_never_finishes_times_out_instead_of_hanging():
    def program():
        time.sleep(5)

    started = time.perf_counter()
    with pytest.raises(OfflineTimeoutError, match="did not finish within 0s"):
        evaluate(program, project="demo", timeout=0.3)
    assert time.perf_counter() - started < 2


def test_evaluations_are_isolated_from_each_other():
    def program():
        aws.sqs.Queue("only-one")

    first = evaluate(program, project="demo")
    second = evaluate(program, project="other", stack="prod")
    assert [r.name for r in first.resources] == ["only-one"]
    assert [r.name for r in second.resources] == ["only-one"]
    assert second.resources[0].urn.startswith("urn:pulumi:prod::other::")


def test_layer_contract_default_stack_names_follow_org_and_stack():
    def program():
        pulumi.export(
            "network",
            contracts.upstream_stack_name("networkStack", None, contracts.NETWORK_PROJECT),
        )

    result = evaluate(program, project="payments-platform", stack="qa", organization="acme")
    assert result.exports["network"] == "acme/payments-network/qa"
