"""The rules: the platform's own compliance requirements and the AWS Security Hub controls (FSBP, and
where a rule follows a control of another standard, that standard named) that apply to this platform,
each a plain function over resources.

Property names are the Pulumi input names (camelCase), which is what both `pulumi_policy` and the
offline engine see.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from offline.schema import is_taggable
from policy.iam_lint import DocumentKind, lint
from policy.iam_reference import STAR_ALLOWED, expand
from policy.model import ADVISORY, Context, Resource, Rule
from shared.catalogue import CATALOGUE, SECRET_ARN_SUFFIX
from shared.container_settings import CONTAINER_SETTINGS
from shared.tags import COST_CENTER, ENVIRONMENT, SERVICE

# Names AWS sees, by input; a resource without any of them is named only by its logical name.
NAME_INPUTS = ("name", "bucket", "family", "functionName", "deploymentGroupName")
# Which actions need `Resource: "*"` comes from AWS's Service Authorization Reference (policy.iam_reference):
# an action without a resource type matches only "*".
KEY_POLICY_TYPES = ("aws:kms/key:Key",)  # in a key policy, "*" means "this key"
POLICY_DOCUMENT_INPUTS = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
}
# Every IAM document a resource carries, by type: (input, kind of document).
IAM_DOCUMENTS: dict[str, tuple[tuple[str, DocumentKind], ...]] = {
    "aws:iam/rolePolicy:RolePolicy": (("policy", "identity"),),
    "aws:iam/policy:Policy": (("policy", "identity"),),
    "aws:iam/role:Role": (("assumeRolePolicy", "trust"),),
    "aws:kms/key:Key": (("policy", "key"),),
    "aws:s3/bucketPolicy:BucketPolicy": (("policy", "resource"),),
}


def _is(resource: Resource, *types: str) -> bool:
    return resource.type in types


APPLICATIONS = frozenset(spec.name for spec in CATALOGUE)


def _application(resource: Resource) -> bool:
    """One of the catalogue's services (its Service tag), not a platform component such as the egress
    proxy, which has no image of ours to release, no load balancer and a fixed size."""
    return (resource.props.get("tags") or {}).get(SERVICE) in APPLICATIONS


# --- the platform's requirements -------------------------------------------------------------------


def names_carry_the_suffix(resource: Resource, context: Context) -> list[str]:
    if not resource.type.startswith("aws:"):
        return []
    if not context.suffix:
        # "" is in every name: without the suffix the rule would pass everything.
        return ["the environmentSuffix policy config is not set (see policy/config.dev.json)"]
    problems = []
    if context.suffix not in resource.name:
        problems.append(f"logical name does not contain the environment suffix {context.suffix!r}")
    for key in NAME_INPUTS:
        name = resource.props.get(key)
        if (
            isinstance(name, str)
            and context.suffix not in name
            and not _is_dns_label(resource, key)
            and not _is_engine_family(resource, key)
        ):
            problems.append(f"{key} {name!r} does not contain the environment suffix {context.suffix!r}")
    return problems


def _is_engine_family(resource: Resource, key: str) -> bool:
    # An RDS parameter group's `family` is the engine's parameter family (postgres16), not a name.
    return resource.type == "aws:rds/parameterGroup:ParameterGroup" and key == "family"


def _is_dns_label(resource: Resource, key: str) -> bool:
    # A Cloud Map service's name is the bare DNS label; its namespace carries the suffix.
    return resource.type == "aws:servicediscovery/service:Service" and key == "name"


def compliance_tags(resource: Resource, context: Context) -> list[str]:
    if not resource.type.startswith("aws:") or not is_taggable(resource.type):
        return []
    tags = {**resource.provider_default_tags, **(resource.props.get("tags") or {})}
    return [f"missing the {tag} tag" for tag in (ENVIRONMENT, SERVICE, COST_CENTER) if not tags.get(tag)]


def tasks_private_without_public_ip(resource: Resource, context: Context) -> list[str]:
    if not _is(resource, "aws:ecs/service:Service"):
        return []
    if resource.get("networkConfiguration.assignPublicIp") is not False:
        return ["tasks must not get a public IP (networkConfiguration.assignPublicIp = false)"]
    return []


def task_size_is_one_vcpu_two_gb(resource: Resource, context: Context) -> list[str]:
    if not _is(resource, "aws:ecs/taskDefinition:TaskDefinition") or not _application(resource):
        return []
    size = (resource.props.get("cpu"), resource.props.get("memory"))
    return [] if size == ("1024", "2048") else [f"task size {size} is not 1 vCPU / 2 GB ('1024', '2048')"]


def scaling_two_to_ten_at_seventy(resource: Resource, context: Context) -> list[str]:
    if _is(resource, "aws:appautoscaling/target:Target"):
        bounds = (resource.props.get("minCapacity"), resource.props.get("maxCapacity"))
        return [] if bounds == (2, 10) else [f"capacity {bounds} is not min 2 / max 10"]
    if _is(resource, "aws:appautoscaling/policy:Policy"):
        config = resource.props.get("targetTrackingScalingPolicyConfiguration") or {}
        if config.get("targetValue") != 70:
            return [f"target tracking at {config.get('targetValue')} instead of 70 %"]
    return []


def scaling_tracks_cpu_and_memory(resources: Sequence[Resource], context: Context) -> list[str]:
    targets = [r for r in resources if _is(r, "aws:appautoscaling/target:Target")]
    problems = []
    for target in targets:
        metrics = {
            p.get(
                "targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType"
            )
            for p in resources
            if _is(p, "aws:appautoscaling/policy:Policy")
            and p.props.get("resourceId") == target.get("resourceId")
        }
        for needed in ("ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization"):
            if needed not in metrics:
                problems.append(f"{target.name}: no target-tracking policy on {needed}")
    return problems


def log_groups_encrypted(resource: Resource, context: Context) -> list[str]:
    if _is(resource, "aws:cloudwatch/logGroup:LogGroup") and not resource.props.get("kmsKeyId"):
        return ["log group is not encrypted with a KMS key (kmsKeyId)"]
    return []


def log_retention_thirty_days(resource: Resource, context: Context) -> list[str]:
    if not _is(resource, "aws:cloudwatch/logGroup:LogGroup"):
        return []
    days = resource.props.get("retentionInDays")
    if not days:
        return ["log group keeps its events forever (no retentionInDays)"]
    return [] if days == 30 else [f"retention is {days} days, not the requirements' 30"]


def destroyable(resource: Resource, context: Context) -> list[str]:
    problems = []
    if resource.protect:
        problems.append("protect is set: pulumi destroy would refuse")
    if resource.retain_on_delete:
        problems.append("retainOnDelete is set: the resource would outlive the stack")
    checks: dict[str, tuple[str, Any]] = {
        "aws:lb/loadBalancer:LoadBalancer": ("enableDeletionProtection", False),
        "aws:ecr/repository:Repository": ("forceDelete", True),
        "aws:secretsmanager/secret:Secret": ("recoveryWindowInDays", 0),
        "aws:s3/bucket:Bucket": ("forceDestroy", True),
        "aws:servicediscovery/service:Service": ("forceDestroy", True),
        "aws:ecs/service:Service": ("forceDelete", True),
    }
    if resource.type in checks:
        key, wanted = checks[resource.type]
        if resource.props.get(key, None if wanted else False) != wanted:
            problems.append(f"{key} must be {wanted!r} so the stack can be destroyed")
    return problems


def ecr_scanned_with_lifecycle(resources: Sequence[Resource], context: Context) -> list[str]:
    problems = []
    pruned = {
        r.props.get("repository") for r in resources if _is(r, "aws:ecr/lifecyclePolicy:LifecyclePolicy")
    }
    for repository in (r for r in resources if _is(r, "aws:ecr/repository:Repository")):
        if repository.get("imageScanningConfiguration.scanOnPush") is not True:
            problems.append(f"{repository.name}: images are not scanned on push")
        if repository.props.get("name") not in pruned:
            problems.append(f"{repository.name}: no lifecycle policy")
    return problems


def container_insights_on(resource: Resource, context: Context) -> list[str]:
    if not _is(resource, "aws:ecs/cluster:Cluster"):
        return []
    settings = {s.get("name"): s.get("value") for s in resource.props.get("settings") or []}
    if settings.get("containerInsights") not in ("enabled", "enhanced"):
        return ["Container Insights is not enabled"]
    return []


def own_task_roles(resources: Sequence[Resource], context: Context) -> list[str]:
    definitions = [r for r in resources if _is(r, "aws:ecs/taskDefinition:TaskDefinition")]
    problems = []
    seen: dict[str, str] = {}
    for definition in definitions:
        role = definition.props.get("taskRoleArn")
        if not role:
            problems.append(f"{definition.name}: no task role")
        elif role in seen:
            problems.append(f"{definition.name}: shares its task role with {seen[role]}")
        elif role == definition.props.get("executionRoleArn"):
            problems.append(f"{definition.name}: the task role is the execution role")
        else:
            seen[role] = definition.name
    return problems


def blue_green_with_rollback(resources: Sequence[Resource], context: Context) -> list[str]:
    problems = []
    groups = [r for r in resources if _is(r, "aws:codedeploy/deploymentGroup:DeploymentGroup")]
    covered = {g.get("ecsService.serviceName") for g in groups}
    for group in groups:
        if group.get("deploymentStyle.deploymentType") != "BLUE_GREEN":
            problems.append(f"{group.name}: not a BLUE_GREEN deployment")
        rollback = group.props.get("autoRollbackConfiguration") or {}
        if not rollback.get("enabled") or "DEPLOYMENT_FAILURE" not in (rollback.get("events") or []):
            problems.append(f"{group.name}: automatic rollback on DEPLOYMENT_FAILURE is off")
    for service in (r for r in resources if _is(r, "aws:ecs/service:Service")):
        if not _application(service):
            # A platform task (the egress proxy): ECS's rolling update, rolled back by the circuit breaker.
            breaker = service.props.get("deploymentCircuitBreaker") or {}
            if service.get("deploymentController.type") != "ECS" or not (
                breaker.get("enable") and breaker.get("rollback")
            ):
                problems.append(f"{service.name}: a platform service needs the circuit breaker with rollback")
            continue
        if service.get("deploymentController.type") != "CODE_DEPLOY":
            problems.append(f"{service.name}: not under the CODE_DEPLOY deployment controller")
        if service.props.get("name") not in covered:
            problems.append(f"{service.name}: no CodeDeploy deployment group")
    return problems


# --- AWS Foundational Security Best Practices ------------------------------------------------------


def _containers(resource: Resource) -> list[dict[str, Any]]:
    if not _is(resource, "aws:ecs/taskDefinition:TaskDefinition"):
        return []
    return list(resource.json("containerDefinitions") or [])


def read_only_root_filesystem(resource: Resource, context: Context) -> list[str]:
    return [
        f"container {c.get('name')} has a writable root filesystem"
        for c in _containers(resource)
        if c.get("readonlyRootFilesystem") is not True
    ]


_SETTING_ENVS = frozenset(setting.env for setting in CONTAINER_SETTINGS)
SECRET_WORDS = ("PASSWORD", "SECRET", "API_KEY", "APIKEY", "TOKEN", "CREDENTIAL", "AWS_ACCESS_KEY_ID")


def secrets_not_in_environment(resource: Resource, context: Context) -> list[str]:
    return [
        f"container {c.get('name')} passes {e.get('name')} as a plain environment variable; name the "
        f"secret by ARN in <NAME>{SECRET_ARN_SUFFIX} for the code to read, or use secrets"
        for c in _containers(resource)
        for e in c.get("environment") or []
        if any(word in str(e.get("name", "")).upper() for word in SECRET_WORDS) and not _names_a_secret(e)
    ]


def _names_a_secret(variable: Mapping[str, Any]) -> bool:
    """`<NAME>_SECRET_ARN` holding a Secrets Manager ARN: a reference the code reads, not a value; or
    a declared container setting (`shared/container_settings.py`, such as the secret cache's TTL)
    holding a whole number."""
    name, value = str(variable.get("name", "")), str(variable.get("value", ""))
    if name in _SETTING_ENVS:
        return value.isdigit()
    return name.endswith(SECRET_ARN_SUFFIX) and bool(
        re.fullmatch(
            r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[^\s]+", str(variable.get("value", ""))
        )
    )


def ecr_tags_immutable(resource: Resource, context: Context) -> list[str]:
    if (
        _is(resource, "aws:ecr/repository:Repository")
        and resource.props.get("imageTagMutability") != "IMMUTABLE"
    ):
        return ["image tags are mutable"]
    return []


def load_balancer_hardening(resource: Resource, context: Context) -> list[str]:
    if not _is(resource, "aws:lb/loadBalancer:LoadBalancer"):
        return []
    problems = []
    if resource.props.get("dropInvalidHeaderFields") is not True:
        problems.append("invalid HTTP header fields are not dropped")
    if resource.get("accessLogs.enabled") is not True:
        problems.append("access logging is off")
    return problems


def http_redirects_to_https(resources: Sequence[Resource], context: Context) -> list[str]:
    """Where a load balancer serves HTTPS, its plain-HTTP listeners must only redirect to HTTPS."""
    listeners = [r for r in resources if _is(r, "aws:lb/listener:Listener")]
    with_tls = {r.props.get("loadBalancerArn") for r in listeners if r.props.get("protocol") == "HTTPS"}
    problems = []
    for listener in listeners:
        if listener.props.get("protocol") == "HTTP" and listener.props.get("loadBalancerArn") in with_tls:
            actions = listener.props.get("defaultActions") or []
            if not actions or any(a.get("type") != "redirect" for a in actions):
                problems.append(f"{listener.name}: plain HTTP beside HTTPS must redirect to HTTPS")
    return problems


# The ELB policies that offer TLS 1.3, nothing older than TLS 1.2, and only forward-secret AEAD ciphers
# ("Security policies for your Application Load Balancer", ELB guide). A prefix would also admit the
# TLS13-1-2-Ext1/Ext2 variants, which add CBC and SHA-1 ciphers: hence an explicit list.
TLS_1_2_OR_LATER_POLICIES = frozenset(
    {
        "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "ELBSecurityPolicy-TLS13-1-3-2021-06",
    }
)


def https_listeners_tls_1_2_or_later(resource: Resource, context: Context) -> list[str]:
    if not _is(resource, "aws:lb/listener:Listener") or resource.props.get("protocol") != "HTTPS":
        return []
    policy = str(resource.props.get("sslPolicy") or "")
    if policy not in TLS_1_2_OR_LATER_POLICIES:
        shown = policy or "(ELB default ELBSecurityPolicy-2016-08)"
        return [f"ssl policy {shown} is not one of the TLS 1.2+ policies with forward-secret ciphers only"]
    return []


def lambda_environment_encrypted(resource: Resource, context: Context) -> list[str]:
    if not _is(resource, "aws:lambda/function:Function"):
        return []
    if resource.get("environment.variables") and not resource.props.get("kmsKeyArn"):
        return ["environment variables are encrypted only with the AWS managed key, not the platform key"]
    return []


def public_load_balancers_behind_waf(resources: Sequence[Resource], context: Context) -> list[str]:
    public = [
        r
        for r in resources
        if _is(r, "aws:lb/loadBalancer:LoadBalancer") and r.props.get("internal") is False
    ]
    associations = [r for r in resources if _is(r, "aws:wafv2/webAclAssociation:WebAclAssociation")]
    associated = {a.props.get("resourceArn") for a in associations}
    if all(lb.arn is not None for lb in public):
        return [f"{lb.name}: no AWS WAF web ACL is associated" for lb in public if lb.arn not in associated]
    # In a preview ARNs are unknown: count instead.
    if len(associations) < len(public):
        return [f"{len(public)} internet-facing load balancer(s) but {len(associations)} WAF association(s)"]
    return []


def kms_rotation(resource: Resource, context: Context) -> list[str]:
    if _is(resource, "aws:kms/key:Key") and resource.props.get("enableKeyRotation") is not True:
        return ["key rotation is off"]
    return []


def secrets_rotated(resources: Sequence[Resource], context: Context) -> list[str]:
    rotated = {
        r.props.get("secretId")
        for r in resources
        if _is(r, "aws:secretsmanager/secretRotation:SecretRotation")
    }
    return [
        f"{secret.name}: automatic rotation is not configured"
        for secret in resources
        if _is(secret, "aws:secretsmanager/secret:Secret")
        and (secret.arn is None or secret.arn not in rotated)
    ]


def final_snapshot_restorable(resources: Sequence[Resource], context: Context) -> list[str]:
    """A DB instance that keeps a final snapshot on destroy, encrypted with a key the same destroy
    schedules for deletion: the snapshot cannot be restored once the key is gone (docs/database.md)."""
    stack_keys = {r.arn for r in resources if _is(r, "aws:kms/key:Key") and r.arn}
    any_key = any(_is(r, "aws:kms/key:Key") for r in resources)
    found = []
    for instance in resources:
        if (
            not _is(instance, "aws:rds/instance:Instance")
            or instance.props.get("skipFinalSnapshot") is not False
        ):
            continue
        key = instance.props.get("kmsKeyId")
        # In a preview a new key's ARN is unknown: a stack that creates a key may be using it.
        if key in stack_keys or (not isinstance(key, str) and any_key):
            snapshot = instance.props.get("finalSnapshotIdentifier", "the final snapshot")
            backups = (
                "; its automated backups (point-in-time recovery) are deleted with it"
                if instance.props.get("deleteAutomatedBackups", True)
                else ""
            )
            found.append(
                f"{instance.name}: destroy keeps {snapshot}, encrypted with a KMS key this stack schedules "
                f"for deletion{backups}: copy it with `aws rds copy-db-snapshot --kms-key-id <a key that "
                "outlives the stack>` before the key's deletion date, or cancel the key deletion "
                "(docs/database.md)"
            )
    return found


def default_security_group_closed(resource: Resource, context: Context) -> list[str]:
    if not _is(resource, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"):
        return []
    if resource.props.get("ingress") or resource.props.get("egress"):
        return ["the VPC's default security group has rules"]
    return []


def vpc_flow_logs(resources: Sequence[Resource], context: Context) -> list[str]:
    logged = {r.props.get("vpcId") for r in resources if _is(r, "aws:ec2/flowLog:FlowLog")}
    vpcs = [r for r in resources if _is(r, "aws:ec2/vpc:Vpc")]
    if vpcs and not logged:
        return [f"{vpc.name}: no flow log" for vpc in vpcs]
    return []


def _statements(resource: Resource) -> list[dict[str, Any]]:
    key = POLICY_DOCUMENT_INPUTS.get(resource.type)
    document = resource.json(key) if key else None
    if not document:
        return []
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def iam_no_wildcard_actions(resource: Resource, context: Context) -> list[str]:
    return [
        f"allows the wildcard action {action!r}"
        for statement in _statements(resource)
        if statement.get("Effect") == "Allow"
        for action in _as_list(statement.get("Action"))
        if action == "*" or str(action).endswith(":*")
    ]


def iam_star_resource_only_where_required(resource: Resource, context: Context) -> list[str]:
    problems = []
    for statement in _statements(resource):
        if statement.get("Effect") != "Allow" or "*" not in _as_list(statement.get("Resource")):
            continue
        needless = sorted(
            str(pattern)
            for pattern in _as_list(statement.get("Action"))
            if not all(a.needs_star or a.qualified in STAR_ALLOWED for a in expand(str(pattern)))
        )
        if needless:
            problems.append(f'allows {needless} on Resource "*" although they support resource ARNs')
    return problems


def iam_honoured_by_aws(resource: Resource, context: Context) -> list[str]:
    """Every IAM document lints clean against the Service Authorization Reference (policy.iam_lint)."""
    problems: list[str] = []
    for key, kind in IAM_DOCUMENTS.get(resource.type, ()):
        document = resource.props.get(key)
        if isinstance(document, str | dict):  # unknown during a preview: checked on `up`
            problems.extend(f"{key}: {finding}" for finding in lint(document, kind))
    return problems


RULES: tuple[Rule, ...] = (
    Rule(
        "names-carry-the-suffix",
        "platform",
        "Every resource name contains the environment suffix.",
        resource_check=names_carry_the_suffix,
    ),
    Rule(
        "compliance-tags",
        "platform",
        "Environment, Service and CostCenter tags on every taggable resource.",
        resource_check=compliance_tags,
    ),
    Rule(
        "tasks-private-no-public-ip",
        "platform; FSBP ECS.2",
        "ECS services assign no public IP to their tasks.",
        resource_check=tasks_private_without_public_ip,
    ),
    Rule(
        "task-size-1vcpu-2gb",
        "platform",
        "The services' task definitions are 1 vCPU / 2 GB (sizing: a deliberate config change may depart "
        "from it; the egress proxy is a fixed 0.25 vCPU / 0.5 GB platform task).",
        resource_check=task_size_is_one_vcpu_two_gb,
        enforcement=ADVISORY,
    ),
    Rule(
        "scaling-2-10-at-70",
        "platform",
        "Scaling between 2 and 10 tasks at 70 % (sizing: a deliberate config change may depart from it).",
        resource_check=scaling_two_to_ten_at_seventy,
        enforcement=ADVISORY,
    ),
    Rule(
        "scaling-tracks-cpu-and-memory",
        "platform",
        "Every scalable service has target-tracking policies on CPU and on memory.",
        stack_check=scaling_tracks_cpu_and_memory,
    ),
    Rule(
        "log-groups-encrypted",
        "platform",
        "Log groups are encrypted with a customer-managed KMS key.",
        resource_check=log_groups_encrypted,
    ),
    Rule(
        "log-retention-30-days",
        "platform",
        # Not Security Hub CloudWatch.16 (NIST 800-53 only, 365 days by default), which 30 days fails:
        # the platform's requirements fix 30 days; complianceProfile pci keeps the year in the audit
        # archive instead.
        "Log groups keep 30 days (sizing: a deliberate config change may depart from it).",
        resource_check=log_retention_thirty_days,
        enforcement=ADVISORY,
    ),
    Rule(
        "destroyable",
        "platform",
        "No protect, no retain, no deletion protection; force-deletes where needed.",
        resource_check=destroyable,
    ),
    Rule(
        "ecr-scan-and-lifecycle",
        "platform; FSBP ECR.1, ECR.3",
        "ECR repositories scan on push and have a lifecycle policy.",
        stack_check=ecr_scanned_with_lifecycle,
    ),
    Rule(
        "container-insights",
        "platform; FSBP ECS.12",
        "The ECS cluster has Container Insights on.",
        resource_check=container_insights_on,
    ),
    Rule(
        "own-task-role",
        "platform",
        "Each task definition has its own task role, not the execution role.",
        stack_check=own_task_roles,
    ),
    Rule(
        "blue-green-with-rollback",
        "platform",
        "Every service of the catalogue is released blue/green by CodeDeploy with automatic rollback; a "
        "platform service (the egress proxy) by ECS's rolling update with the circuit breaker's rollback.",
        stack_check=blue_green_with_rollback,
    ),
    Rule(
        "read-only-root-filesystem",
        "FSBP ECS.5",
        "Containers have read-only root filesystems.",
        resource_check=read_only_root_filesystem,
    ),
    Rule(
        "secrets-not-in-environment",
        "FSBP ECS.8",
        "No credential in an env var: ECS injects it, or the code reads it by its ARN (<NAME>_SECRET_ARN).",
        resource_check=secrets_not_in_environment,
    ),
    Rule(
        "ecr-immutable-tags", "FSBP ECR.2", "ECR image tags are immutable.", resource_check=ecr_tags_immutable
    ),
    Rule(
        "alb-hardening",
        "FSBP ELB.4, ELB.5",
        "ALBs drop invalid headers and write access logs.",
        resource_check=load_balancer_hardening,
    ),
    Rule(
        "http-redirects-to-https",
        "FSBP ELB.1",
        "Where an ALB has a certificate, plain HTTP only redirects to HTTPS.",
        stack_check=http_redirects_to_https,
    ),
    Rule(
        "https-tls-1-2-or-later",
        "FSBP ELB.17 (spirit)",
        "HTTPS listeners use a TLS 1.3 policy that allows nothing older than TLS 1.2.",
        resource_check=https_listeners_tls_1_2_or_later,
    ),
    Rule(
        "public-alb-behind-waf",
        "PCI DSS 6.4.2; Security Hub ELB.16 (NIST 800-53, not FSBP)",
        "Every internet-facing load balancer is associated with an AWS WAF web ACL (advisory: waf: false "
        "is a deliberate opt-out).",
        stack_check=public_load_balancers_behind_waf,
        enforcement=ADVISORY,
    ),
    Rule(
        "lambda-environment-encrypted",
        "platform; FSBP Lambda (spirit)",
        "Lambda environment variables are encrypted with the platform's KMS key.",
        resource_check=lambda_environment_encrypted,
    ),
    Rule(
        "kms-rotation",
        "Security Hub KMS.4 (CIS, NIST 800-53, PCI DSS; not FSBP)",
        "Customer-managed KMS keys rotate.",
        resource_check=kms_rotation,
    ),
    Rule(
        "secrets-rotation",
        "FSBP SecretsManager.1",
        "Secrets rotate automatically.",
        stack_check=secrets_rotated,  # mandatory: every stack rotates every secret (docs/database.md)
    ),
    Rule(
        "final-snapshot-restorable",
        "platform",
        "A database that keeps a final snapshot on destroy does not encrypt it with a key the same destroy "
        "deletes (advisory: the operator copies the snapshot, docs/database.md).",
        stack_check=final_snapshot_restorable,
        enforcement=ADVISORY,
    ),
    Rule(
        "default-security-group-closed",
        "FSBP EC2.2",
        "The default security group has no rules.",
        resource_check=default_security_group_closed,
    ),
    Rule("vpc-flow-logs", "FSBP EC2.6", "The VPC has flow logs.", stack_check=vpc_flow_logs),
    Rule(
        "iam-no-wildcard-actions",
        "FSBP IAM.21",
        "IAM policies allow no wildcard actions.",
        resource_check=iam_no_wildcard_actions,
    ),
    Rule(
        "iam-star-resource-only-where-required",
        "FSBP IAM.1 (spirit)",
        'IAM policies use Resource "*" only for actions without resource-level permissions.',
        resource_check=iam_star_resource_only_where_required,
    ),
    Rule(
        "iam-honoured-by-aws",
        "FSBP IAM.1 (spirit); AWS Service Authorization Reference",
        "IAM, trust, key and bucket policies name real actions, supported condition keys and matching ARNs.",
        resource_check=iam_honoured_by_aws,
    ),
)
