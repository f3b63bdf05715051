"""The deployer's least-privilege policies (deploy/iam/deployer-*.json): their shape and size, every action
a real API operation (botocore's service models), and every name the layers give inside the ARN patterns
the policies scope to. What each resource type needs is checked call by call in test_deployer_calls.py,
and the documents are linted against the Service Authorization Reference in tests/policy/test_iam_lint.py."""

from __future__ import annotations

import fnmatch
import json
import re

import botocore.session
import pytest

from offline.layer_projects import REPO_ROOT

POLICY_DIR = REPO_ROOT / "deploy" / "iam"
MANAGED_POLICY_LIMIT = 6144  # characters, whitespace not counted (IAM quotas)
BOTOCORE_SERVICE = {
    "elasticloadbalancing": "elbv2",
    "tag": "resourcegroupstaggingapi",
    "servicequotas": "service-quotas",
}
# IAM action names that are not their API operation's name (Service Authorization Reference), mapped to
# the operation they authorize, which must still exist. PassRole authorizes no operation of its own.
ACTION_OPERATION = {
    "iam:PassRole": None,
    # Permission-only, of a prefix with no API: AWS Backup checks it when a vault is created (AWS Backup
    # developer guide, "Identity-based policies": backup-storage:MountCapsule with CreateBackupVault).
    "backup-storage:MountCapsule": None,
    # Permission-only: WAF checks them when it associates an ALB and switches logging on to CloudWatch
    # Logs (WAF developer guide, "Permissions to associate" and "CloudWatch Logs log group").
    "elasticloadbalancing:SetWebAcl": None,
    "logs:CreateLogDelivery": None,
    "logs:DeleteLogDelivery": None,
    "logs:GetLogDelivery": None,
    "logs:ListLogDeliveries": None,
    "lambda:InvokeFunction": "Invoke",
    "s3:ListBucket": "ListObjectsV2",
    "s3:ListBucketVersions": "ListObjectVersions",
    "s3:DeleteObjectVersion": "DeleteObject",
    "s3:GetBucketPublicAccessBlock": "GetPublicAccessBlock",
    "s3:PutBucketPublicAccessBlock": "PutPublicAccessBlock",
    "s3:GetEncryptionConfiguration": "GetBucketEncryption",
    "s3:PutEncryptionConfiguration": "PutBucketEncryption",
    "s3:GetLifecycleConfiguration": "GetBucketLifecycleConfiguration",
    "s3:PutLifecycleConfiguration": "PutBucketLifecycleConfiguration",
    "s3:GetBucketCORS": "GetBucketCors",
    "s3:GetAccelerateConfiguration": "GetBucketAccelerateConfiguration",
    "s3:GetReplicationConfiguration": "GetBucketReplication",
    "s3:GetBucketObjectLockConfiguration": "GetObjectLockConfiguration",
    "s3:PutBucketObjectLockConfiguration": "PutObjectLockConfiguration",
}


def documents() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in sorted(POLICY_DIR.glob("deployer-*.json"))}


def statements() -> list[dict]:
    return [s for doc in documents().values() for s in doc["Statement"]]


def as_list(value):
    return [value] if isinstance(value, str) else list(value)


def granted(action: str) -> list[dict]:
    """The Allow statements whose actions (wildcards included) cover `action`."""
    return [
        s
        for s in statements()
        if s["Effect"] == "Allow" and any(fnmatch.fnmatchcase(action, a) for a in as_list(s["Action"]))
    ]


@pytest.fixture(scope="module")
def layers(
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
    """Every layer in the example stacks, the alternative ones (HA network with endpoints) and the
    `complianceProfile: pci` ones (Firehose, CloudWatch Logs and AWS Backup roles)."""
    return [
        network,
        platform,
        services,
        network_ha,
        platform_alt,
        services_alt,
        network_pci,
        platform_pci,
        services_pci,
    ]


@pytest.fixture(scope="module")
def operations() -> dict[str, set[str]]:
    session = botocore.session.get_session()
    prefixes = {a.split(":")[0] for s in statements() for a in as_list(s["Action"])}
    no_api = {a.split(":")[0] for a, operation in ACTION_OPERATION.items() if operation is None} - {
        a.split(":")[0] for s in statements() for a in as_list(s["Action"]) if a not in ACTION_OPERATION
    }
    return {
        p: set(session.get_service_model(BOTOCORE_SERVICE.get(p, p)).operation_names)
        for p in prefixes - no_api
    }


def test_there_are_seven_documents_and_the_boundary_each_within_the_managed_policy_size_limit():
    names = [*documents(), "role-boundary.json"]
    sizes = {name: len(re.sub(r"\s", "", (POLICY_DIR / name).read_text())) for name in names}
    assert set(sizes) == {
        "deployer-compliance.json",
        "deployer-database.json",
        "deployer-foundation.json",
        "deployer-platform.json",
        "deployer-roles.json",
        "deployer-services.json",
        "deployer-waf-and-alerting.json",
        "role-boundary.json",
    }
    assert all(size <= MANAGED_POLICY_LIMIT for size in sizes.values()), sizes


# The guardrails (docs/deployer-iam.md): explicit Denies hold whatever other policy the deployer is given.
DENIES = {
    "NeverARoleOutsideTheBoundary",
    "NeverRemoveABoundary",
    "NeverChangeTheDeployerOrBoundaryPolicies",
    "NeverAssumeTheLayersRoles",
    "NeverBypassTheKeyPolicyLockoutCheck",
}


def test_every_statement_is_an_allow_but_the_guardrails_with_a_unique_sid_and_no_service_wildcard():
    sids = [s["Sid"] for s in statements()]
    assert len(sids) == len(set(sids))
    for doc in documents().values():
        assert doc["Version"] == "2012-10-17"
    assert {
        s["Sid"] for s in documents()["deployer-roles.json"]["Statement"] if s["Effect"] == "Deny"
    } == DENIES
    for statement in statements():
        assert statement["Effect"] == ("Deny" if statement["Sid"] in DENIES else "Allow")
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource", "Condition"}
        for action in as_list(statement["Action"]):
            assert action != "*"
            assert not action.endswith(":*"), action
            verb = action.split(":")[1]
            # Only read-only families may be wildcards.
            assert "*" not in verb or verb.startswith(("Describe", "Get", "List")), action


def test_every_action_is_a_real_api_operation(operations):
    for statement in statements():
        for action in as_list(statement["Action"]):
            prefix, verb = action.split(":")
            if "*" in verb:
                assert fnmatch.filter(operations[prefix], verb), f"{action} matches no operation"
            elif action in ACTION_OPERATION:
                operation = ACTION_OPERATION[action]
                assert operation is None or operation in operations[prefix], action
            else:
                assert verb in operations[prefix], f"{action} is not an operation of {prefix}"


def resource_patterns(action: str) -> list[str]:
    return [r for s in granted(action) for r in as_list(s["Resource"])]


def arn_allowed(arn: str, action: str) -> bool:
    return any(
        fnmatch.fnmatchcase(arn, pattern.replace(":*:", ":123456789012:"))
        for pattern in resource_patterns(action)
    )


NAMED = {
    # type: (name input, action, ARN from name)
    "aws:iam/role:Role": ("name", "iam:CreateRole", "arn:aws:iam::123456789012:role/{}"),
    "aws:cloudwatch/logGroup:LogGroup": (
        "name",
        "logs:CreateLogGroup",
        "arn:aws:logs:us-east-1:123456789012:log-group:{}",
    ),
    "aws:lambda/function:Function": (
        "name",
        "lambda:CreateFunction",
        "arn:aws:lambda:us-east-1:123456789012:function:{}",
    ),
    "aws:secretsmanager/secret:Secret": (
        "name",
        "secretsmanager:CreateSecret",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:{}-AbCdEf",
    ),
    "aws:ecr/repository:Repository": (
        "name",
        "ecr:CreateRepository",
        "arn:aws:ecr:us-east-1:123456789012:repository/{}",
    ),
    "aws:s3/bucket:Bucket": ("bucket", "s3:CreateBucket", "arn:aws:s3:::{}"),
    "aws:kms/alias:Alias": ("name", "kms:CreateAlias", "arn:aws:kms:us-east-1:123456789012:{}"),
    "aws:ecs/cluster:Cluster": ("name", "ecs:CreateCluster", "arn:aws:ecs:us-east-1:123456789012:cluster/{}"),
    "aws:sns/topic:Topic": ("name", "sns:CreateTopic", "arn:aws:sns:us-east-1:123456789012:{}"),
    "aws:cloudwatch/eventRule:EventRule": (
        "name",
        "events:PutRule",
        "arn:aws:events:us-east-1:123456789012:rule/{}",
    ),
    "aws:cloudwatch/dashboard:Dashboard": (
        "dashboardName",
        "cloudwatch:PutDashboard",
        "arn:aws:cloudwatch::123456789012:dashboard/{}",
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": (
        "name",
        "cloudwatch:PutMetricAlarm",
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:{}",
    ),
    "aws:wafv2/webAcl:WebAcl": (
        "name",
        "wafv2:CreateWebACL",
        "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/{}/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
    ),
    "aws:lb/loadBalancer:LoadBalancer": (
        "name",
        "elasticloadbalancing:CreateLoadBalancer",
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/{}/50dc6c495c0c9188",
    ),
}


def test_every_name_the_layers_give_is_inside_the_policies_resource_patterns(layers):
    checked = 0
    for evaluation in layers:
        for resource in evaluation.resources:
            if resource.type not in NAMED:
                continue
            key, action, template = NAMED[resource.type]
            arn = template.format(resource.inputs[key])
            assert arn_allowed(arn, action), f"{action} on {arn} is not allowed"
            checked += 1
    assert checked > 30


def test_target_groups_are_auto_named_inside_the_tg_pattern(layers):
    groups = [r for e in layers for r in e.resources if r.type == "aws:lb/targetGroup:TargetGroup"]
    assert groups
    for group in groups:
        # Pulumi auto-names from the logical name plus 8 characters (docs/architecture.md, naming).
        arn = (
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:"
            f"targetgroup/{group.name}abcd1234/73e2d6bc24d8a067"
        )
        assert arn_allowed(arn, "elasticloadbalancing:CreateTargetGroup"), arn


def test_roles_are_passed_only_to_the_services_that_trust_them(layers):
    (statement,) = granted("iam:PassRole")
    allowed = set(statement["Condition"]["StringEquals"]["iam:PassedToService"])
    trusted = set()
    for evaluation in layers:
        for role in evaluation.all("aws:iam/role:Role"):
            for trust in json.loads(role.inputs["assumeRolePolicy"])["Statement"]:
                trusted.update(as_list(trust["Principal"]["Service"]))
    # The logs role trusts CloudWatch Logs' global principal, as the CloudWatch Logs user guide's trust
    # policy has it ("Subscription filters with Amazon Data Firehose"); which form
    # PutSubscriptionFilter's PassRole carries in iam:PassedToService is not documented, so the deployer
    # also allows the regional one, and nothing else.
    logs = {t for t in trusted if t.startswith("logs.")}
    assert logs == {"logs.amazonaws.com"}
    assert allowed == trusted | {"logs.us-east-1.amazonaws.com"}


def test_only_the_codedeploy_and_backup_managed_policies_can_be_attached(layers):
    (statement,) = granted("iam:AttachRolePolicy")
    condition = statement["Condition"]["ArnEquals"]["iam:PolicyARN"]
    attached = {
        r.inputs["policyArn"]
        for e in layers
        for r in e.all("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    }
    assert attached == set(as_list(condition))
    assert len(attached) == 2


def test_regional_statements_pin_the_deploy_region():
    for statement in statements():
        resources = as_list(statement["Resource"])
        # A Deny on "*" pins nothing: it must hold in every region.
        if (
            resources == ["*"]
            and statement["Effect"] == "Allow"
            and "iam:" not in json.dumps(statement["Action"])
        ):
            assert statement["Condition"]["StringEquals"]["aws:RequestedRegion"] == "us-east-1", statement[
                "Sid"
            ]
        for resource in resources:
            parts = resource.split(":")
            # A trail's ARN names its home Region, which an organization's multi-Region trail need not
            # share with the deploy Region: preflight reads it there, so the request is pinned instead.
            if resource.startswith("arn:aws:cloudtrail:*:*:trail/"):
                assert statement["Condition"]["StringEquals"]["aws:RequestedRegion"] == "us-east-1"
                continue
            # Global ARNs: IAM, S3 buckets, Route 53 hosted zones and CloudWatch dashboards.
            if resource != "*" and parts[2] not in ("iam", "s3", "route53") and ":dashboard/" not in resource:
                assert parts[3] == "us-east-1", resource


# Issue 28: the role writes the deployer may make only under the boundary.
BOUNDARY_CONDITIONED = {
    "iam:CreateRole",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePermissionsBoundary",
}


def test_the_boundary_conditions_are_on_actions_whose_sar_entry_has_the_key():
    from policy.iam_reference import lookup

    conditioned = {
        action
        for s in statements()
        if s["Effect"] == "Allow"
        and any("iam:PermissionsBoundary" in block for block in (s.get("Condition") or {}).values())
        for action in as_list(s["Action"])
    }
    assert conditioned == BOUNDARY_CONDITIONED
    for action in conditioned:
        entry = lookup(action)
        assert entry is not None
        assert entry.supports_condition_key("iam:PermissionsBoundary"), action
    # The check can fail: TagRole, allowed without the condition, has no such key in the SAR.
    tag_role = lookup("iam:TagRole")
    assert tag_role is not None
    assert not tag_role.supports_condition_key("iam:PermissionsBoundary")
    # Every Allow on the layers' roles that can write a policy or a trust carries the condition.
    verbs = ("Put", "Attach", "Detach", "Create", "UpdateAssume", "DeleteRolePolicy")
    allowed = {a for s in statements() if s["Effect"] == "Allow" for a in as_list(s["Action"])}
    writes = {a for a in allowed if a.startswith("iam:") and a.split(":")[1].startswith(verbs)}
    assert writes - {"iam:CreateServiceLinkedRole"} == BOUNDARY_CONDITIONED
