"""Each service's execution and task roles: least privilege for that service and no other."""

from __future__ import annotations

import json

import pytest

from shared.catalogue import CATALOGUE
from stacks.services.iam import SSM_MESSAGES_ACTIONS
from tests.helpers import actions_of, resources_of, statements
from tests.services.conftest import SPECS, STACKS, one_owned

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE = "aws:iam/role:Role"


def policy_of(evaluation, spec, purpose):
    return statements(one_owned(evaluation, spec, ROLE_POLICY, f"-{purpose}-").inputs["policy"])


def by_sid(document):
    return {s["Sid"]: s for s in document}


def arns_of_other_services(evaluation, spec, type_, attribute="arn"):
    return {
        r.state[attribute]
        for other in CATALOGUE
        if other.name != spec.name
        for r in evaluation.all(type_)
        if other.name in r.name
    }


@pytest.mark.parametrize(("fixture", "suffix"), STACKS)
@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("purpose", ["execution", "task"])
def test_roles_are_per_service_and_trust_only_ecs_tasks_of_this_account(
    request, fixture, suffix, spec, purpose
):
    evaluation = request.getfixturevalue(fixture)
    role = one_owned(evaluation, spec, ROLE, f"-{purpose}-")
    assert role.inputs["name"] == f"role-{spec.name}-{purpose}-{suffix}"
    [trust] = statements(role.inputs["assumeRolePolicy"])
    assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert trust["Condition"]["ArnLike"] == {"aws:SourceArn": "arn:aws:ecs:us-east-1:123456789012:*"}


@pytest.mark.parametrize(("fixture", "suffix"), STACKS)
@pytest.mark.parametrize("spec", SPECS)
def test_no_policy_grants_a_wildcard_action_or_another_service_resources(request, fixture, suffix, spec):
    evaluation = request.getfixturevalue(fixture)
    foreign = (
        arns_of_other_services(evaluation, spec, "aws:ecr/repository:Repository")
        | arns_of_other_services(evaluation, spec, "aws:cloudwatch/logGroup:LogGroup")
        | {
            arn
            for purpose, arn in evaluation_secret_arns(request, fixture).items()
            if purpose not in spec.secrets.values()
        }
    )
    for purpose in ("execution", "task"):
        for statement in policy_of(evaluation, spec, purpose):
            for action in actions_of(statement):
                assert (action != "*" and not action.endswith(":*")) or statement["Effect"] == "Deny", action
            for resource in resources_of(statement):
                assert not any(resource.startswith(arn) for arn in foreign), (purpose, resource)
                if resource == "*":
                    assert (
                        actions_of(statement) in (["ecr:GetAuthorizationToken"], ["logs:DescribeLogGroups"])
                        or set(actions_of(statement)) == set(SSM_MESSAGES_ACTIONS)
                        or statement["Effect"] == "Deny"
                    )


def evaluation_secret_arns(request, fixture):
    platform = request.getfixturevalue("platform" if fixture == "services" else "platform_alt")
    return platform.exports["secretArns"]


@pytest.mark.parametrize("spec", SPECS)
def test_the_execution_role_pulls_its_repository_and_writes_its_logs_only(services, spec):
    policy = by_sid(policy_of(services, spec, "execution"))
    repository = one_owned(services, spec, "aws:ecr/repository:Repository")
    log_group = one_owned(services, spec, "aws:cloudwatch/logGroup:LogGroup")
    assert policy["AuthenticateToEcr"]["Resource"] == "*"
    assert sorted(actions_of(policy["PullThisServiceImages"])) == [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ]
    assert resources_of(policy["PullThisServiceImages"]) == [repository.state["arn"]]
    assert sorted(actions_of(policy["WriteThisServiceLogs"])) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert resources_of(policy["WriteThisServiceLogs"]) == [f"{log_group.state['arn']}:log-stream:*"]
    # ECS injects no secret any more: the code reads them with the task role.
    assert set(policy) == {"AuthenticateToEcr", "PullThisServiceImages", "WriteThisServiceLogs"}


@pytest.mark.parametrize("spec", SPECS)
def test_the_task_role_reads_and_decrypts_exactly_its_secrets_and_denies_iam(services, platform, spec):
    policy = by_sid(policy_of(services, spec, "task"))
    deny = policy.pop("NeverManageIam")
    assert (deny["Effect"], deny["Action"], deny["Resource"]) == ("Deny", "iam:*", "*")
    if not spec.secrets:
        assert policy == {}
        return
    expected = sorted(platform.exports["secretArns"][purpose] for purpose in spec.secrets.values())
    read = policy.pop("ReadThisServiceSecrets")
    assert sorted(actions_of(read)) == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    assert sorted(resources_of(read)) == expected
    decrypt = policy.pop("DecryptThisServiceSecrets")
    assert actions_of(decrypt) == ["kms:Decrypt"]
    assert resources_of(decrypt) == [platform.exports["kmsKeyArn"]]
    conditions = decrypt["Condition"]["StringEquals"]
    assert conditions["kms:ViaService"] == "secretsmanager.us-east-1.amazonaws.com"
    context = conditions["kms:EncryptionContext:SecretARN"]
    assert sorted([context] if isinstance(context, str) else context) == expected
    assert policy == {}


def test_each_service_has_its_own_task_role(services):
    definitions = services.all("aws:ecs/taskDefinition:TaskDefinition")
    task_roles = {d.inputs["taskRoleArn"] for d in definitions}
    execution_roles = {d.inputs["executionRoleArn"] for d in definitions}
    assert len(task_roles) == len(execution_roles) == len(CATALOGUE)
    assert not task_roles & execution_roles


def test_policies_are_rendered_by_get_policy_document(services):
    rendered = [i for i in services.invokes if i.token == "aws:iam/getPolicyDocument:getPolicyDocument"]
    policies = [r.inputs["policy"] for r in services.all(ROLE_POLICY)]
    trusts = [r.inputs["assumeRolePolicy"] for r in services.all(ROLE)]
    assert len(rendered) >= len(policies) + 1
    for document in policies + trusts:
        assert json.loads(document)["Version"] == "2012-10-17"
