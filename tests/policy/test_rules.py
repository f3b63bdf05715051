"""The compliance rules: the project passes every mandatory one, and each rule catches a bad resource."""

from __future__ import annotations

import json

import pytest

from offline.layer_projects import Layer
from planning.docs import RULES_BEGIN, RULES_END, rules_table
from policy.model import ADVISORY, MANDATORY, Context, Resource
from policy.offline_check import check
from policy.rules import RULES
from shared.config.render import replace_between

DEV = Context(suffix="dev")
RULES_BY_NAME = {rule.name: rule for rule in RULES}


@pytest.fixture(scope="module")
def results(network, platform, services):
    return check({"network": network, "platform": platform, "services": services}, "dev")


def test_the_example_stacks_have_no_mandatory_violation(results):
    failing = {r.rule.name: r.violations for r in results if r.rule.enforcement == MANDATORY and not r.passed}
    assert failing == {}


def test_the_example_stacks_have_no_advisory_finding_either(results):
    advisory = [v for r in results if r.rule.enforcement == ADVISORY for v in r.violations]
    # Every secret rotates, the database connection included (the managed database is the default).
    assert advisory == []


SIZING_RULES = {"task-size-1vcpu-2gb", "scaling-2-10-at-70", "log-retention-30-days"}


def test_rules_that_restate_sizing_numbers_are_advisory_and_the_rest_mandatory():
    advisory = {rule.name for rule in RULES if rule.enforcement == ADVISORY}
    # A deliberate config change (a bigger task, 90-day logs) must not block a deployment, and a stack
    # may opt out of WAF on purpose (waf: false). Every stack rotates every secret: that is mandatory.
    # A final snapshot under the stack's own key is a reviewed choice once the operator copies it.
    assert advisory == SIZING_RULES | {"public-alb-behind-waf", "final-snapshot-restorable"}


def test_every_rule_names_its_source_and_has_a_unique_name():
    assert len(RULES_BY_NAME) == len(RULES)
    for rule in RULES:
        assert rule.source.startswith(("platform", "FSBP", "Security Hub", "PCI DSS")), rule.name
        assert rule.resource_check or rule.stack_check


def container(**overrides):
    base = {"name": "app", "readonlyRootFilesystem": True, "environment": [], "secrets": []}
    return json.dumps([{**base, **overrides}])


def task(name="task-api-dev", **props):
    base = {"family": name, "cpu": "1024", "memory": "2048", "containerDefinitions": container(),
            "taskRoleArn": f"arn:role/{name}-task", "executionRoleArn": f"arn:role/{name}-exec",
            "tags": {"Service": "api-gateway"}}  # fmt: skip
    return Resource("aws:ecs/taskDefinition:TaskDefinition", name, {**base, **props})


def policy_document(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


BAD = {
    "names-carry-the-suffix": [Resource("aws:ecr/repository:Repository", "ecr-api-dev", {"name": "ecr-api"})],
    "compliance-tags": [
        Resource(
            "aws:ecr/repository:Repository",
            "ecr-api-dev",
            {"tags": {"Service": "api"}},
            provider_default_tags={"Environment": "dev"},
        )
    ],
    "tasks-private-no-public-ip": [
        Resource("aws:ecs/service:Service", "svc-dev", {"networkConfiguration": {"assignPublicIp": True}})
    ],
    "task-size-1vcpu-2gb": [task(cpu="2048", memory="4096")],
    "scaling-2-10-at-70": [
        Resource(
            "aws:appautoscaling/target:Target",
            "t-dev",
            {"minCapacity": 1, "maxCapacity": 10, "resourceId": "r"},
        ),
    ],
    "log-groups-encrypted": [
        Resource(
            "aws:cloudwatch/logGroup:LogGroup", "/ecs/a-dev", {"name": "/ecs/a-dev", "retentionInDays": 30}
        )
    ],
    "destroyable": [
        Resource("aws:lb/loadBalancer:LoadBalancer", "alb-dev", {"enableDeletionProtection": True})
    ],
    "ecr-scan-and-lifecycle": [
        Resource(
            "aws:ecr/repository:Repository",
            "ecr-a-dev",
            {
                "name": "ecr-a-dev",
                "imageTagMutability": "IMMUTABLE",
                "imageScanningConfiguration": {"scanOnPush": True},
            },
        )
    ],
    "container-insights": [
        Resource(
            "aws:ecs/cluster:Cluster",
            "c-dev",
            {"settings": [{"name": "containerInsights", "value": "disabled"}]},
        )
    ],
    "own-task-role": [
        task("task-a-dev", taskRoleArn="arn:shared"),
        task("task-b-dev", taskRoleArn="arn:shared"),
    ],
    "blue-green-with-rollback": [
        Resource(
            "aws:ecs/service:Service", "svc-dev", {"name": "svc-dev", "deploymentController": {"type": "ECS"}}
        )
    ],
    "read-only-root-filesystem": [task(containerDefinitions=container(readonlyRootFilesystem=False))],
    "secrets-not-in-environment": [
        task(containerDefinitions=container(environment=[{"name": "DB_PASSWORD", "value": "hunter2"}]))
    ],
    "ecr-immutable-tags": [
        Resource("aws:ecr/repository:Repository", "ecr-dev", {"imageTagMutability": "MUTABLE"})
    ],
    "alb-hardening": [
        Resource(
            "aws:lb/loadBalancer:LoadBalancer",
            "alb-dev",
            {
                "dropInvalidHeaderFields": False,
                "accessLogs": {"enabled": True},
                "enableDeletionProtection": False,
            },
        )
    ],
    "http-redirects-to-https": [
        Resource("aws:lb/listener:Listener", "l-https-dev", {"loadBalancerArn": "alb", "protocol": "HTTPS"}),
        Resource(
            "aws:lb/listener:Listener",
            "l-http-dev",
            {
                "loadBalancerArn": "alb",
                "protocol": "HTTP",
                "defaultActions": [{"type": "forward", "targetGroupArn": "tg"}],
            },
        ),
    ],
    "log-retention-30-days": [
        Resource("aws:cloudwatch/logGroup:LogGroup", "/ecs/a-dev", {"name": "/ecs/a-dev", "kmsKeyId": "k"})
    ],
    "scaling-tracks-cpu-and-memory": [
        Resource("aws:appautoscaling/target:Target", "t-dev", {"resourceId": "service/c/s"}),
        Resource(
            "aws:appautoscaling/policy:Policy",
            "p-dev",
            {
                "resourceId": "service/c/s",
                "targetTrackingScalingPolicyConfiguration": {
                    "predefinedMetricSpecification": {
                        "predefinedMetricType": "ECSServiceAverageCPUUtilization"
                    }
                },
            },
        ),
    ],
    "https-tls-1-2-or-later": [
        Resource(
            "aws:lb/listener:Listener",
            "l-dev",
            {"protocol": "HTTPS", "sslPolicy": "ELBSecurityPolicy-2016-08", "certificateArn": "arn:cert"},
        ),
        Resource("aws:lb/listener:Listener", "l2-dev", {"protocol": "HTTPS"}),
    ],
    "public-alb-behind-waf": [
        Resource("aws:lb/loadBalancer:LoadBalancer", "alb-dev", {"internal": False}, arn="arn:alb")
    ],
    "lambda-environment-encrypted": [
        Resource("aws:lambda/function:Function", "f-dev", {"environment": {"variables": {"A": "1"}}})
    ],
    "kms-rotation": [Resource("aws:kms/key:Key", "kms-dev", {"enableKeyRotation": False})],
    "secrets-rotation": [Resource("aws:secretsmanager/secret:Secret", "secret-dev", {}, arn="arn:secret")],
    "final-snapshot-restorable": [
        Resource("aws:kms/key:Key", "kms-dev", {}, arn="arn:key"),
        Resource("aws:rds/instance:Instance", "rds-dev", {"skipFinalSnapshot": False, "kmsKeyId": "arn:key"}),
    ],
    "default-security-group-closed": [
        Resource(
            "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
            "sg-default-dev",
            {"ingress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True}]},
        )
    ],
    "vpc-flow-logs": [Resource("aws:ec2/vpc:Vpc", "vpc-dev", {"cidrBlock": "10.0.0.0/16"})],
    "iam-no-wildcard-actions": [
        Resource(
            "aws:iam/rolePolicy:RolePolicy",
            "p-dev",
            {"policy": policy_document({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b"})},
        )
    ],
    "iam-star-resource-only-where-required": [
        Resource(
            "aws:iam/rolePolicy:RolePolicy",
            "p-dev",
            {"policy": policy_document({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"})},
        )
    ],
    # The flow-log role as it was: DescribeLogGroups has no resource type, so a log-group ARN never matches.
    "iam-honoured-by-aws": [
        Resource(
            "aws:iam/rolePolicy:RolePolicy",
            "p-dev",
            {
                "policy": policy_document(
                    {
                        "Effect": "Allow",
                        "Action": "logs:DescribeLogGroups",
                        "Resource": "arn:aws:logs:us-east-1:123456789012:log-group:*",
                    }
                )
            },
        )
    ],
}


@pytest.mark.parametrize("name", sorted(RULES_BY_NAME))
def test_each_rule_catches_a_bad_resource(name):
    assert name in BAD, f"add a bad example for {name}"
    violations = RULES_BY_NAME[name].violations(BAD[name], DEV)
    assert violations, name


def test_a_secret_named_by_arn_passes_and_a_value_under_such_a_name_does_not():
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:secret-databaseConnection-dev-AbCdEf"
    reference = task(containerDefinitions=container(environment=[{"name": "DB_SECRET_ARN", "value": arn}]))
    disguised = task(
        containerDefinitions=container(environment=[{"name": "API_KEY_SECRET_ARN", "value": "sk_live_1"}])
    )
    ttl = task(
        containerDefinitions=container(environment=[{"name": "SECRET_CACHE_TTL_SECONDS", "value": "120"}])
    )
    ttl_holding_a_key = task(
        containerDefinitions=container(environment=[{"name": "SECRET_CACHE_TTL_SECONDS", "value": "sk_1"}])
    )
    rule = RULES_BY_NAME["secrets-not-in-environment"]
    assert rule.violations([reference], DEV) == []
    assert rule.violations([ttl], DEV) == []
    assert rule.violations([ttl_holding_a_key], DEV)
    assert rule.violations([disguised], DEV)


def test_the_allowed_star_resources_and_denies_pass():
    allowed = Resource("aws:iam/rolePolicy:RolePolicy", "p-dev", {"policy": policy_document(
        {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
    )})  # fmt: skip
    for name in ("iam-no-wildcard-actions", "iam-star-resource-only-where-required", "iam-honoured-by-aws"):
        assert RULES_BY_NAME[name].violations([allowed], DEV) == []


def test_the_platform_rules_flag_a_stack_off_its_requirements(network_ha, platform_alt, services_alt):
    results = {r.rule.name: r for r in check([network_ha, platform_alt, services_alt], "qa-7")}
    assert not results["task-size-1vcpu-2gb"].passed  # 2048/5120 in the alternative stack
    assert not results["scaling-2-10-at-70"].passed  # 3-6 tasks at 60/80 %
    assert not results["log-retention-30-days"].passed  # 90-day retention
    assert results["log-groups-encrypted"].passed
    assert results["http-redirects-to-https"].passed  # with a certificate, 80 redirects
    assert results["iam-no-wildcard-actions"].passed
    assert results["iam-star-resource-only-where-required"].passed  # ECS Exec's channels included


def test_the_pack_reads_the_same_rules():
    source = (Layer("network").directory.parents[1] / "policy" / "__main__.py").read_text()
    assert "from policy.rules import RULES" in source


def test_the_naming_rule_refuses_to_pass_without_a_configured_suffix():
    repository = Resource("aws:ecr/repository:Repository", "ecr-api-dev", {"name": "ecr-api-dev"})
    assert RULES_BY_NAME["names-carry-the-suffix"].violations([repository], Context(suffix="")) == [
        "ecr-api-dev: the environmentSuffix policy config is not set (see policy/config.dev.json)"
    ]


def test_the_docs_rules_table_is_generated_from_the_rules():
    text = (Layer("network").directory.parents[1] / "docs" / "policy.md").read_text()
    assert text == replace_between(text, RULES_BEGIN, RULES_END, rules_table()), (
        "docs/policy.md's rules table is stale: run `python3 dev.py docs`"
    )
    for rule in RULES:
        assert f"| `{rule.name}` | {rule.source} | {rule.description} | {rule.enforcement} |" in text


def test_docs_explain_every_advisory_rule():
    docs = (Layer("network").directory.parents[1] / "docs" / "policy.md").read_text()
    for rule in RULES:
        if rule.enforcement == ADVISORY:
            assert f"| `{rule.name}` | advisory |" in docs, rule.name


def test_a_final_snapshot_is_flagged_only_under_a_key_the_stack_deletes():
    rule = RULES_BY_NAME["final-snapshot-restorable"]
    key = Resource("aws:kms/key:Key", "kms-dev", {}, arn="arn:key")

    def instance(**props):
        return Resource("aws:rds/instance:Instance", "rds-dev", props)

    assert rule.violations([key, instance(skipFinalSnapshot=True, kmsKeyId="arn:key")], DEV) == []
    assert rule.violations([key, instance(skipFinalSnapshot=False, kmsKeyId="arn:other")], DEV) == []
    [kept] = rule.violations([key, instance(skipFinalSnapshot=False, kmsKeyId="arn:key")], DEV)
    assert "point-in-time recovery" in kept
    # A preview does not know a new key's ARN: a stack that creates a key is flagged.
    assert rule.violations(
        [Resource("aws:kms/key:Key", "kms-dev", {}), instance(skipFinalSnapshot=False)], DEV
    )
    without_backups = rule.violations(
        [key, instance(skipFinalSnapshot=False, kmsKeyId="arn:key", deleteAutomatedBackups=False)], DEV
    )
    assert "point-in-time" not in without_backups[0]


def _service(tags, **props):
    return Resource(
        "aws:ecs/service:Service", "ecs-service-x-dev", {"name": "ecs-service-x-dev", "tags": tags, **props}
    )


def test_a_catalogue_service_must_be_blue_green_and_a_platform_service_must_roll_back_by_itself():
    from policy.rules import blue_green_with_rollback

    rolling = {"deploymentController": {"type": "ECS"}}
    breaker = {**rolling, "deploymentCircuitBreaker": {"enable": True, "rollback": True}}
    # payment-processor under ECS's rolling update, even with the circuit breaker: not allowed.
    assert blue_green_with_rollback([_service({"Service": "payment-processor"}, **breaker)], DEV)
    # The egress proxy: ECS's rolling update with the circuit breaker's rollback is its release path ...
    assert blue_green_with_rollback([_service({"Service": "egress-proxy"}, **breaker)], DEV) == []
    # ... and without the rollback it is flagged.
    assert blue_green_with_rollback([_service({"Service": "egress-proxy"}, **rolling)], DEV) == [
        "ecs-service-x-dev: a platform service needs the circuit breaker with rollback"
    ]


def test_the_task_size_rule_sizes_the_services_not_the_egress_proxy():
    from policy.rules import task_size_is_one_vcpu_two_gb

    proxy = task("task-egress-proxy-dev", cpu="256", memory="512", tags={"Service": "egress-proxy"})
    assert task_size_is_one_vcpu_two_gb(proxy, DEV) == []
    assert task_size_is_one_vcpu_two_gb(task(cpu="256", memory="512"), DEV)
