"""The deployer can do the job: every call the AWS provider makes to create, refresh, update and destroy
every resource of every layer (deploy/iam/provider_calls.toml, from the provider's source) is allowed by
the deployer policies, evaluated with the resource's real ARN and the request's context."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from deploy.provider_calls import (
    PHASES,
    MissingCallsError,
    PlanIndex,
    Row,
    load_table,
    parse_call,
    planned_calls,
    provider_calls,
    requests,
)
from offline.layer_projects import REPO_ROOT, evaluate_layer
from policy.iam_eval import decide
from policy.iam_reference import lookup
from tests.helpers import parse_python

POLICIES = sorted((REPO_ROOT / "deploy" / "iam").glob("deployer-*.json"))


@pytest.fixture(scope="module")
def policies():
    return [json.loads(path.read_text()) for path in POLICIES]


@pytest.fixture(scope="module")
def calls(
    network,
    platform,
    services,
    network_ha,
    platform_alt,
    services_alt,
    network_pci,
    platform_pci,
    services_pci,
):
    """Every planned call of the example stacks, of the alternative ones (HA network, endpoints,
    a database to rotate, a certificate, every knob changed) and of the `complianceProfile: pci` ones
    (audit archive, Firehose, subscription filters, AWS Backup, more endpoints)."""
    table = load_table()
    found = provider_calls(table)
    for stacks in (
        (network, platform, services),
        (network_ha, platform_alt, services_alt),
        (network_pci, platform_pci, services_pci),
    ):
        plan = PlanIndex(stacks)
        for resource in plan.resources():
            found.extend(planned_calls(resource, plan, table))
    return found


def denied(calls, policies):
    return sorted({f"{c.describe()} is {decide(policies, c.request)}" for c in calls
                   if decide(policies, c.request) != "allowed"})  # fmt: skip


def test_every_planned_resource_type_has_a_row_with_its_source(
    network, platform, services, services_alt, platform_pci, services_pci
):
    table = load_table()
    stacks = (network, platform, services, services_alt, platform_pci, services_pci)
    declared = {r.type for e in stacks for r in e.aws_resources()}
    assert declared - set(table) == set()
    for row in table.values():
        assert row.source.strip(), row.resource_type


def test_every_call_of_every_resource_is_allowed(calls, policies):
    assert len(calls) > 1500
    assert {c.phase for c in calls} == set(PHASES)
    assert denied(calls, policies) == []


def test_every_action_of_the_table_is_an_iam_action_and_every_arn_one_of_its_resource_types(calls):
    wrong = set()
    for call in calls:
        action = lookup(call.request.action)
        assert action is not None, call.describe()
        if call.request.resource != "*" and not action.resource_types_matching(call.request.resource):
            wrong.add(f"{call.describe()}: not one of {[t.arn_format for t in action.resource_types]}")
    assert sorted(wrong) == []


def test_the_arns_are_real_ones_built_from_the_plan(calls):
    by_action = {(c.resource_name, c.request.action): c.request for c in calls}
    repository = by_action[("ecr-api-gateway-dev", "kms:CreateGrant")]
    assert repository.resource.startswith("arn:aws:kms:us-east-1:123456789012:key/")
    assert repository.context["kms:ViaService"] == "ecr.us-east-1.amazonaws.com"
    assert by_action[("ecr-api-gateway-dev", "ecr:CreateRepository")].context["aws:RequestTag/CostCenter"]
    listener = by_action[("listener-api-gateway-prod-dev", "elasticloadbalancing:DeleteListener")]
    assert listener.resource.startswith(
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/alb-public-dev/"
    )
    passed = by_action[("task-api-gateway-dev", "iam:PassRole")]
    assert passed.context["iam:PassedToService"] == "ecs-tasks.amazonaws.com"
    assert by_action[("kms-network-dev", "kms:CreateKey")].resource == "*"


# Each defect the issue names, as the action the deployer lacked; removing it again must fail the check
# with the call and the resource named.
DEFECTS = [
    ("kms:CreateKey", "create aws:kms/key:Key 'kms-network-dev': kms:CreateKey on *"),
    (
        "kms:CreateGrant",
        "create aws:ecr/repository:Repository 'ecr-api-gateway-dev': kms:CreateGrant on arn:aws:kms",
    ),
    ("kms:RetireGrant", "delete aws:ecr/repository:Repository 'ecr-api-gateway-dev': kms:RetireGrant"),
    ("lambda:InvokeFunction", "create aws:secretsmanager/secretRotation:SecretRotation"),
    ("s3:ListBucketVersions", "delete aws:s3/bucket:Bucket 's3-alb-logs-123456789012-us-east-1-dev'"),
    ("s3:DeleteObjectVersion", "delete aws:s3/bucket:Bucket 's3-alb-logs-123456789012-us-east-1-dev'"),
    ("ec2:DetachNetworkInterface", "delete aws:ec2/securityGroup:SecurityGroup"),
    ("ec2:DeleteNetworkInterface", "delete aws:ec2/subnet:Subnet"),
    ("secretsmanager:UpdateSecretVersionStage", "delete aws:secretsmanager/secretVersion:SecretVersion"),
    # Found in review: Cloud Map creates the namespace's hosted zone with the caller's permissions.
    ("route53:ListHostedZonesByName", "create aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace"),
    ("ec2:DescribeRegions", "create aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace"),
    # Found in review: the provider sets routing.http.response.server.enabled on every HTTP(S) listener.
    ("elasticloadbalancing:ModifyListenerAttributes", "create aws:lb/listener:Listener"),
    # Found in review: `release/` (run by the deployer) was never checked.
    ("codedeploy:GetDeploymentConfig", "release aws:codedeploy/deploymentGroup:DeploymentGroup"),
    ("codedeploy:RegisterApplicationRevision", "release aws:codedeploy/deploymentGroup:DeploymentGroup"),
    ("codedeploy:ListDeploymentTargets", "release aws:codedeploy/deploymentGroup:DeploymentGroup"),
    ("codedeploy:GetDeploymentTarget", "release aws:codedeploy/deploymentGroup:DeploymentGroup"),
    # The WAF and alarm-notification features came with permissions on ARNs that IAM never matches
    # (no resource type in the SAR) or without the calls AWS makes with the caller's permissions.
    ("elasticloadbalancing:SetWebAcl", "create aws:wafv2/webAclAssociation:WebAclAssociation"),
    ("logs:CreateLogDelivery", "create aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"),
    ("kms:Encrypt", "create aws:lambda/function:Function 'lambda-secret-rotation-dev': kms:Encrypt"),
    # Removing a stack's task-definition revisions after destroy (deploy/task_definitions.py).
    ("ecs:ListTaskDefinitions", "delete aws:ecs/taskDefinition:TaskDefinition"),
    ("ecs:DeleteTaskDefinitions", "delete aws:ecs/taskDefinition:TaskDefinition"),
    # Preflight's quota checks (deploy/quotas.py), each quota by its ARN.
    (
        "servicequotas:GetServiceQuota",
        "read preflight 'preflight': servicequotas:GetServiceQuota on "
        "arn:aws:servicequotas:us-east-1:123456789012:lambda/L-B99A9384",
    ),
    (
        "servicequotas:GetAWSDefaultServiceQuota",
        "read preflight 'preflight': servicequotas:GetAWSDefaultServiceQuota on *",
    ),
    # complianceProfile pci: a bucket created with Object Lock is authorized with the lock and versioning
    # actions too (S3 API reference, CreateBucket); a vault needs its storage mounted; Firehose creates
    # its grant on the platform key with the caller's permissions.
    (
        "s3:PutBucketObjectLockConfiguration",
        "create aws:s3/bucket:Bucket 's3-audit-123456789012-us-east-1-dev': "
        "s3:PutBucketObjectLockConfiguration",
    ),
    ("backup-storage:MountCapsule", "create aws:backup/vault:Vault 'backup-vault-ledger-dev'"),
    ("firehose:CreateDeliveryStream", "create aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"),
    ("logs:PutSubscriptionFilter", "create aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter"),
    ("backup:CreateBackupSelection", "create aws:backup/selection:Selection"),
]


def without(policies, action):
    stripped = copy.deepcopy(policies)
    for document in stripped:
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            statement["Action"] = [a for a in actions if a != action] or ["sts:GetCallerIdentity"]
    return stripped


@pytest.mark.parametrize(("action", "message"), DEFECTS, ids=[d[0] for d in DEFECTS])
def test_the_check_fails_on_each_defect_of_the_old_policies(calls, policies, action, message):
    relevant = [c for c in calls if c.request.action == action]
    failures = denied(relevant, without(policies, action))
    assert any(message in failure for failure in failures), failures[:3]


def test_create_key_scoped_to_key_arns_is_denied(calls, policies):
    scoped = copy.deepcopy(policies)
    for document in scoped:
        for statement in document["Statement"]:
            if statement["Resource"] == "*" and "kms:CreateKey" in statement["Action"]:
                statement["Resource"] = ["arn:aws:kms:us-east-1:*:key/*"]
    create_key = [c for c in calls if c.request.action == "kms:CreateKey"]
    assert denied(create_key, scoped)


def test_alarm_subscriptions_are_allowed_for_email_and_https_only(policies):
    network = evaluate_layer(
        "network",
        config={
            "alarmEmails": ["oncall@example.com"],
            "alarmHttpsEndpoints": ["https://pager.example.com/hook"],
        },
    )
    plan = PlanIndex([network])
    subscriptions = network.all("aws:sns/topicSubscription:TopicSubscription")
    assert len(subscriptions) == 2
    found = [c for r in subscriptions for c in planned_calls(r, plan, load_table())]
    assert {c.request.context.get("sns:Protocol") for c in found if c.request.action == "sns:Subscribe"} == {
        "email",
        "https",
    }
    assert denied(found, policies) == []
    sms = [
        replace(c, request=replace(c.request, context={**c.request.context, "sns:Protocol": "sms"}))
        for c in found
        if c.request.action == "sns:Subscribe"
    ]
    assert len(denied(sms, policies)) == 2


def test_waf_logs_may_go_to_waf_log_groups_only(calls, policies):
    logging = [c for c in calls if c.request.action == "wafv2:PutLoggingConfiguration"]
    assert logging
    assert denied(logging, policies) == []
    elsewhere = "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/api-gateway-dev"
    moved = [
        replace(
            c,
            request=replace(
                c.request, context={**c.request.context, "wafv2:LogDestinationResource": elsewhere}
            ),
        )
        for c in logging
    ]
    assert len(denied(moved, policies)) == len({c.describe() for c in logging})


def test_a_resource_type_without_a_row_fails_naming_the_type(network):
    resource = network.one("aws:ec2/vpc:Vpc")
    alien = type(resource)(**{**resource.__dict__, "type": "aws:cloudfront/distribution:Distribution"})
    with pytest.raises(
        MissingCallsError,
        match=r"aws:cloudfront/distribution:Distribution has no row in deploy/iam/provider_calls.toml",
    ):
        planned_calls(alien, PlanIndex([network]), load_table())


def test_adding_a_resource_type_is_one_row(network, tmp_path: Path):
    table = tmp_path / "calls.toml"
    table.write_text(
        '["aws:ec2/vpc:Vpc"]\nsource = "internal/service/ec2/vpc_.go"\narn = "{svc:ec2}:vpc/{id}"\n'
        'create = ["ec2:CreateVpc tagged"]\n'
    )
    load_table.cache_clear()
    try:
        rows = load_table(table)
        vpc = network.one("aws:ec2/vpc:Vpc")
        [call] = planned_calls(vpc, PlanIndex([network]), rows)
        assert call.request.resource == f"arn:aws:ec2:us-east-1:123456789012:vpc/{vpc.id}"
        table.write_text('["aws:ec2/vpc:Vpc"]\narn = "*"\ncreat = []\n')
        load_table.cache_clear()
        with pytest.raises(ValueError, match=r"row 'aws:ec2/vpc:Vpc' needs `source` and `arn`"):
            load_table(table)
    finally:
        load_table.cache_clear()


def test_the_call_grammar():
    assert parse_call("kms:CreateGrant on arn:a,arn:b with kms:ViaService=ecr.x tagged") == (
        "kms:CreateGrant", ["arn:a", "arn:b"], {"kms:ViaService": "ecr.x"}, True,
    )  # fmt: skip
    with pytest.raises(ValueError, match="unexpected 'onto'"):
        parse_call("kms:CreateGrant onto arn:a")
    row = Row("t", "s", "*", dict.fromkeys(PHASES, ()))
    with pytest.raises(ValueError, match="'ec2:CreateVpcs' is no IAM action"):
        requests("ec2:CreateVpcs", row, None, None)


def alternatives(name: str) -> str:
    """SAR resource types that are forms of one resource (listener/app, listener/net, ...) count once."""
    return name.split("/")[0]


def test_every_call_names_an_arn_of_each_resource_type_the_sar_requires(
    network_ha, platform_alt, services_alt
):
    table = load_table()
    plan = PlanIndex([network_ha, platform_alt, services_alt])
    missing = set()
    for resource in plan.resources():
        row = table[resource.type]
        for phase in PHASES:
            for call in row.calls[phase]:
                found = requests(call, row, resource, plan)
                action = lookup(found[0].action) if found else None
                if action is None or found[0].resource == "*":
                    continue
                covered = {
                    alternatives(t.name) for r in found for t in action.resource_types_matching(r.resource)
                }
                required = {alternatives(t.name) for t in action.resource_types if t.required}
                if required - covered:
                    missing.add(
                        f"{resource.type} {phase} {action.qualified}: no ARN of {sorted(required - covered)}"
                    )
    assert sorted(missing) == []


def database_document_before_review(policies):
    """The deployer documents as the managed-database work left them: DescribeDBInstances only on the
    `rds-*` names, and the platform key's Decrypt and GenerateDataKey only through Secrets Manager."""
    old = copy.deepcopy(policies)
    for document in old:
        statements = document["Statement"]
        by_sid = {s["Sid"]: s for s in statements}
        if "ReadInstancesByResourceIdAsTheProviderDoes" not in by_sid:
            continue
        statements.remove(by_sid["ReadInstancesByResourceIdAsTheProviderDoes"])
        by_sid["TheManagedDatabaseItsGroupsAndFinalSnapshot"]["Action"].append("rds:DescribeDBInstances")
        key_use = by_sid["RdsAndSecretsManagerUseThePlatformKey"]
        key_use["Action"] = ["kms:CreateGrant", "kms:DescribeKey"]
    return old


def test_the_planned_db_instance_has_the_providers_id_a_dbi_resource_id(platform):
    # terraform-provider-aws, internal/service/rds/instance.go: d.SetId(DbiResourceId), not the identifier.
    instance = platform.one("aws:rds/instance:Instance")
    assert re.fullmatch(r"db-[0-9A-Z]{26}", instance.id), instance.id
    assert instance.id == instance.state["resourceId"] != instance.inputs["identifier"]


def test_instance_reads_by_resource_id_are_denied_by_the_old_database_document(calls, policies):
    reads = [
        c
        for c in calls
        if c.resource_type == "aws:rds/instance:Instance" and c.request.action == "rds:DescribeDBInstances"
    ]
    later = [c for c in reads if c.phase in ("read", "update", "delete")]
    assert later
    assert {c.request.resource for c in later} == {"arn:aws:rds:us-east-1:123456789012:db:*"}
    # The create's first wait names the identifier; its closing read filters by resource id.
    created = {c.request.resource for c in reads if c.phase == "create"}
    assert "arn:aws:rds:us-east-1:123456789012:db:*" in created
    assert all(
        r.startswith("arn:aws:rds:us-east-1:123456789012:db:rds-ledger-")
        for r in created - {"arn:aws:rds:us-east-1:123456789012:db:*"}
    )
    assert denied(reads, policies) == []
    failures = denied(reads, database_document_before_review(policies))
    assert len(failures) == len({c.describe() for c in reads if c.request.resource.endswith(":db:*")})
    assert all(":db:* is implicitly denied" in f for f in failures)
    assert any(f.startswith("read aws:rds/instance:Instance") for f in failures)


def test_rds_may_use_the_master_secret_key_through_rds_or_secrets_manager(calls, policies):
    key_use = [
        c
        for c in calls
        if c.resource_type == "aws:rds/instance:Instance"
        and c.request.action in ("kms:Decrypt", "kms:GenerateDataKey")
    ]
    through = {c.request.context["kms:ViaService"] for c in key_use}
    assert through == {"rds.us-east-1.amazonaws.com", "secretsmanager.us-east-1.amazonaws.com"}
    assert denied(key_use, policies) == []
    old = denied(key_use, database_document_before_review(policies))
    assert old
    assert all("rds.us-east-1.amazonaws.com" in f for f in old)
    direct = [
        replace(c, request=replace(c.request, context={"aws:RequestedRegion": "us-east-1"})) for c in key_use
    ]
    assert len(denied(direct, policies)) == len({c.describe() for c in direct})


# --- the integration test's reads (tests/integration/test_aws_deployment.py, deploy/verify.py) ----------

ACCOUNT = "123456789012"
CLUSTER = f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/ecs-cluster-qa"
INTEGRATION_READS = {
    # boto3 service and operation -> the IAM request it makes (the ARN the SAR's resource type gives it)
    ("ecs", "ListTasks"): ("*", {"ecs:cluster": CLUSTER}),
    ("ecs", "DescribeTasks"): (
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/ecs-cluster-qa/0123456789abcdef",
        {"ecs:cluster": CLUSTER},
    ),
    ("ecs", "ListTaskDefinitions"): ("*", {}),
    ("resourcegroupstaggingapi", "GetResources"): ("*", {}),
    ("iam", "ListRoles"): ("*", {}),
    ("ecr", "DescribeRepositories"): (f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/*", {}),
    ("ecr", "GetAuthorizationToken"): ("*", {}),
    ("logs", "DescribeLogGroups"): ("*", {}),
    ("kms", "DescribeKey"): (f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab", {}),
    ("servicediscovery", "ListServices"): ("*", {}),
}
IAM_PREFIX = {"resourcegroupstaggingapi": "tag"}


def integration_requests():
    from policy.iam_eval import Request

    return {
        (service, operation): Request(
            f"{IAM_PREFIX.get(service, service)}:{operation}", arn,
            {"aws:RequestedRegion": "us-east-1", "aws:PrincipalAccount": ACCOUNT, **context},
        )
        for (service, operation), (arn, context) in INTEGRATION_READS.items()
    }  # fmt: skip


def test_the_table_lists_every_aws_call_the_integration_test_makes():
    """Every boto3 call in the integration test and deploy/verify.py (a method named like an operation of
    one of the services they use, or a paginator) is one of INTEGRATION_READS, checked against botocore's
    service models so the list cannot fall behind the code."""
    import ast

    import botocore.session
    from botocore import xform_name

    session = botocore.session.get_session()
    by_snake: dict[str, set[tuple[str, str]]] = {}
    for service in {s for s, _ in INTEGRATION_READS}:
        for operation in session.get_service_model(service).operation_names:
            by_snake.setdefault(xform_name(operation), set()).add((service, operation))
    called = set()
    for path in (
        REPO_ROOT / "deploy" / "verify.py",
        REPO_ROOT / "tests" / "integration" / "test_aws_deployment.py",
    ):
        for node in ast.walk(parse_python(path)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr == "get_paginator" and isinstance(node.args[0], ast.Constant):
                    called.add(str(node.args[0].value))
                elif node.func.attr in by_snake:
                    called.add(node.func.attr)
    assert len(called) >= 9
    unlisted = sorted(name for name in called if not by_snake[name] & set(INTEGRATION_READS))
    assert unlisted == []


def test_the_integration_tests_reads_are_allowed_and_were_denied_before(policies):
    """Issue 28's review found the first five denied; servicediscovery:ListServices (the Cloud Map check)
    was denied too."""
    old = Path(__file__).parent / "deployer_iam_before_the_boundary"
    before_documents = [json.loads(p.read_text()) for p in sorted(old.glob("deployer-*.json"))]
    found = integration_requests()
    assert {key: decide(policies, r) for key, r in found.items() if decide(policies, r) != "allowed"} == {}
    before = {f"{r.action}" for r in found.values() if decide(before_documents, r) != "allowed"}
    assert before == {
        "ecs:ListTasks", "ecs:DescribeTasks", "tag:GetResources", "iam:ListRoles", "ecr:DescribeRepositories",
        "servicediscovery:ListServices",
    }  # fmt: skip
    other_cluster = replace(
        found[("ecs", "ListTasks")], context={"ecs:cluster": "arn:aws:ecs:us-east-1:1:cluster/x"}
    )
    assert decide(policies, other_cluster) == "implicitly denied"


# --- complianceProfile pci ---------------------------------------------------------------------------


def test_only_a_pci_stack_calls_on_the_compliance_document(calls, policies):
    """Without deployer-compliance.json every baseline call is still allowed, and the pci ones are not."""
    rest = [json.loads(p.read_text()) for p in POLICIES if p.name != "deployer-compliance.json"]
    pci_types = {
        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
        "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream",
        "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter",
        "aws:backup/vault:Vault",
        "aws:backup/plan:Plan",
        "aws:backup/selection:Selection",
    }
    archive = [c for c in calls if "s3-audit-" in c.request.resource or c.resource_type in pci_types]
    others = [c for c in calls if c not in archive]
    assert archive
    assert others
    assert denied(others, rest) == []
    needs = denied(archive, rest)
    assert needs
    assert all(" is implicitly denied" in f for f in needs)


def test_the_deployer_may_not_bypass_the_archives_governance_retention(platform_pci, policies):
    """Destroying a pci platform's archive needs s3:BypassGovernanceRetention (the provider empties a
    force_destroy bucket with BypassGovernanceRetention, internal/service/s3/delete.go): a break-glass
    step for another principal, never the deployer's (docs/deployer-iam.md, "What a destroy needs")."""
    from policy.iam_eval import Request

    bucket = next(r for r in platform_pci.all("aws:s3/bucket:Bucket") if r.inputs.get("objectLockEnabled"))
    obj = f"{bucket.state['arn']}/logs/2026/01/01/00/firehose-audit-1"
    context = {"aws:RequestedRegion": "us-east-1", "aws:PrincipalAccount": "123456789012"}
    bypass = Request("s3:BypassGovernanceRetention", obj, context)
    assert decide(policies, bypass) == "implicitly denied"
    break_glass = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:BypassGovernanceRetention", "Resource": "arn:aws:s3:::s3-audit-*/*",
    }]}  # fmt: skip
    assert decide([*policies, break_glass], bypass) == "allowed"
    # The deployer may delete versions (what the lock does not hold), never unlock them.
    delete_version = Request("s3:DeleteObjectVersion", obj, context)
    assert decide(policies, delete_version) == "allowed"
    for action in ("s3:PutObjectRetention", "s3:PutObjectLegalHold"):
        assert decide(policies, Request(action, obj, context)) == "implicitly denied", action
