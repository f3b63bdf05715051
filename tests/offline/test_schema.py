"""`is_taggable` reads the SDK's generated files as text; the classes themselves must agree."""

from __future__ import annotations

import pytest

from offline.schema import is_taggable, is_taggable_by_import

# Types whose answer is known from the AWS provider docs: tags on a VPC and a target group, none on a
# route, a listener rule has tags, a security group rule does not (aws_vpc_security_group_*_rule has).
KNOWN = {
    "aws:ec2/vpc:Vpc": True,
    "aws:ec2/route:Route": False,
    "aws:lb/targetGroup:TargetGroup": True,
    "aws:lb/listenerRule:ListenerRule": True,
    "aws:ec2/securityGroupRule:SecurityGroupRule": False,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": True,
    "aws:lambda/function:Function": True,
    "aws:iam/rolePolicy:RolePolicy": False,
}


@pytest.mark.parametrize(("type_token", "taggable"), sorted(KNOWN.items()))
def test_known_types(type_token, taggable):
    assert is_taggable(type_token) is taggable
    assert is_taggable_by_import(type_token) is taggable


def test_every_type_in_the_plans_reads_the_same_from_its_file_as_from_its_class(network, platform, services):
    types = {r.type for evaluation in (network, platform, services) for r in evaluation.aws_resources()}
    assert len(types) > 40
    disagreements = {t for t in types if is_taggable(t) != is_taggable_by_import(t)}
    assert not disagreements


def test_a_type_outside_aws_is_not_taggable():
    assert is_taggable("random:index/randomPassword:RandomPassword") is False
