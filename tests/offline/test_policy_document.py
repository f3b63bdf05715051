"""The offline rendering of `get_policy_document` matches the provider's JSON shape."""

from __future__ import annotations

import json

import pytest

from offline.policy_document import PolicyDocumentError, render_policy_document


def render(**args):
    return json.loads(render_policy_document(args))


def test_single_values_render_as_strings_and_sets_are_sorted():
    document = render(
        statements=[{"actions": ["s3:PutObject", "s3:GetObject", "s3:GetObject"], "resources": ["*"]}]
    )
    assert document["Statement"] == [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"}
    ]


def test_wildcard_principal_renders_as_a_star():
    document = render(
        statements=[{"actions": ["s3:GetObject"], "principals": [{"type": "*", "identifiers": ["*"]}]}]
    )
    assert document["Statement"][0]["Principal"] == "*"


def test_conditions_group_by_test_then_variable():
    document = render(
        statements=[
            {
                "actions": ["sts:AssumeRole"],
                "conditions": [
                    {"test": "StringEquals", "variable": "aws:SourceAccount", "values": ["1"]},
                    {"test": "ArnLike", "variable": "aws:SourceArn", "values": ["a", "b"]},
                ],
            }
        ]
    )
    assert document["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "1"},
        "ArnLike": {"aws:SourceArn": ["a", "b"]},
    }


def test_override_documents_replace_statements_with_the_same_sid():
    base = {"statements": [{"sid": "A", "actions": ["s3:GetObject"]}, {"actions": ["s3:List*"]}]}
    override = json.dumps({"Statement": [{"Sid": "A", "Effect": "Deny", "Action": "s3:*"}]})
    document = render(**base, overridePolicyDocuments=[override])
    assert document["Statement"][0] == {"Sid": "A", "Effect": "Deny", "Action": "s3:*"}
    assert len(document["Statement"]) == 2


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ({"effect": "Maybe", "actions": ["s3:GetObject"]}, "effect must be Allow or Deny"),
        ({"resources": ["*"]}, "needs actions or notActions"),
        ({"actions": ["a:b"], "notActions": ["c:d"]}, "actions and notActions are exclusive"),
        # A snake_case key in a plain dict is passed through untranslated and ignored by the provider.
        ({"actions": ["a:b"], "not_resources": ["x"]}, "unknown field\\(s\\) not_resources"),
    ],
)
def test_arguments_the_provider_rejects_are_rejected(statement, message):
    with pytest.raises(PolicyDocumentError, match=message):
        render(statements=[statement])
