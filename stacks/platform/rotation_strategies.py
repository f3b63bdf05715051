"""What the rotation function needs to rotate API keys honestly: each key's strategy, and the topic.

The function learns each secret's strategy from its environment, `ROTATION_STRATEGIES`: a JSON object
keyed by secret name (`{"<name>": {"strategy": "http-key-api", "keyApiUrl": "https://..."}}`), written
here from stack config. The environment, not a tag on the secret: the key API receives the current
key, so where it points may only change through a deployment (tags can be changed by anyone allowed
secretsmanager:TagResource). `notify` publishes to the environment's alarm topic, which is encrypted
with its own KMS key: a publisher needs kms:GenerateDataKey and kms:Decrypt on it (SNS developer
guide, "Configuring AWS KMS permissions",
https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from shared import policies
from shared.config.platform import ApiKeyRotationConfig

STRATEGIES_VARIABLE = "ROTATION_STRATEGIES"
TOPIC_VARIABLE = "ALARM_TOPIC_ARN"


def strategy_table(
    secrets: Mapping[str, aws.secretsmanager.Secret], rotations: Mapping[str, ApiKeyRotationConfig]
) -> pulumi.Output[str]:
    """ROTATION_STRATEGIES for the API-key secrets among `secrets` (by purpose)."""
    purposes = [purpose for purpose in rotations if purpose in secrets]

    def table(names: list[str]) -> str:
        entries = {}
        for name, purpose in zip(names, purposes, strict=True):
            rotation = rotations[purpose]
            url = {"keyApiUrl": rotation.key_api_url} if rotation.key_api_url else {}
            entries[name] = {"strategy": rotation.strategy, **url}
        return json.dumps(entries, sort_keys=True)

    names: pulumi.Output[list[str]] = pulumi.Output.all(*(secrets[p].name for p in purposes))
    return names.apply(table)


def notification_statements(
    topic_arn: pulumi.Input[str], topic_key_arn: pulumi.Input[str], region: str
) -> list[policies.Statement]:
    return [
        {
            "sid": "NotifyOperatorsThroughTheAlarmTopic",
            "effect": "Allow",
            "actions": ["sns:Publish"],
            "resources": [topic_arn],
        },
        {
            "sid": "EncryptForTheAlarmTopicThroughSns",
            "effect": "Allow",
            "actions": ["kms:GenerateDataKey", "kms:Decrypt"],
            "resources": [topic_key_arn],
            "conditions": [
                {
                    "test": "StringEquals",
                    "variable": "kms:ViaService",
                    "values": [f"sns.{region}.amazonaws.com"],
                }
            ],
        },
    ]
