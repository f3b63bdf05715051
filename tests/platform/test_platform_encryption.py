"""The platform key: rotation, deletion window, and a key policy that admits exactly its users."""

from __future__ import annotations

from fnmatch import fnmatch

import pytest

from tests.helpers import as_list, statements

KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ACCOUNT = "123456789012"


def key_statements(evaluation):
    return {s["Sid"]: s for s in statements(evaluation.one(KEY).inputs["policy"])}


@pytest.mark.parametrize(("fixture", "window"), [("platform", 7), ("platform_alt", 10)])
def test_the_key_rotates_and_has_the_configured_deletion_window(request, fixture, window):
    key = request.getfixturevalue(fixture).one(KEY)
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == window


def test_the_alias_names_the_key(platform):
    alias = platform.one("aws:kms/alias:Alias")
    assert alias.inputs["name"] == "alias/kms-platform-dev"
    assert alias.inputs["targetKeyId"] == platform.one(KEY).state["keyId"]


def test_the_account_administers_the_key(platform):
    admin = key_statements(platform)["AccountAdministratorsManageTheKey"]
    assert admin["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert admin["Action"] == "kms:*"


def test_cloudwatch_logs_may_use_the_key_only_for_this_stacks_ecs_lambda_waf_and_database_groups(platform):
    logs = key_statements(platform)["CloudWatchLogsEncryptTheseLogGroups"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert set(as_list(logs["Action"])) == {
        "kms:Encrypt*",
        "kms:Decrypt*",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
    }
    condition = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert set(as_list(condition)) == {
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/ecs/*-dev",
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/lambda-*-dev",
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:aws-waf-logs-*-dev",
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/rds/instance/rds-*-dev/*",
    }


@pytest.mark.parametrize("fixture", ["platform", "platform_alt"])
def test_every_log_group_of_the_layer_is_encrypted_with_the_key_its_policy_admits(request, fixture):
    evaluation = request.getfixturevalue(fixture)
    key = evaluation.one(KEY)
    logs = key_statements(evaluation)["CloudWatchLogsEncryptTheseLogGroups"]
    patterns = [arn.split(":log-group:")[1] for arn in as_list(logs["Condition"]["ArnLike"].popitem()[1])]
    groups = evaluation.all(LOG_GROUP)
    assert groups
    for group in groups:
        assert group.inputs["kmsKeyId"] == key.state["arn"], group.name
        assert any(fnmatch(group.inputs["name"], pattern) for pattern in patterns), group.name


def test_secrets_manager_may_use_the_key_for_this_account_only(platform):
    via = key_statements(platform)["UseThroughSecretsManagerOnly"]
    assert via["Condition"]["StringEquals"] == {
        "kms:CallerAccount": ACCOUNT,
        "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com",
    }
    assert "kms:Decrypt" in as_list(via["Action"])
    assert not any(a in ("kms:*", "*") for a in as_list(via["Action"]))


def test_the_key_policy_has_exactly_these_three_statements(platform):
    assert set(key_statements(platform)) == {
        "AccountAdministratorsManageTheKey",
        "CloudWatchLogsEncryptTheseLogGroups",
        "UseThroughSecretsManagerOnly",
    }
