"""The shared security-group rule helpers refuse a rule without exactly one peer."""

from __future__ import annotations

import pulumi
import pytest

from shared.security_rules import tcp_egress, tcp_ingress
from shared.tags import ServiceTags

COMMON = {"group_id": "sg-1", "port": 443, "description": "x", "tags": ServiceTags("services"),
          "opts": pulumi.ResourceOptions()}  # fmt: skip


def test_an_ingress_rule_without_a_source_is_refused_before_any_resource():
    with pytest.raises(ValueError, match="security group rule in-443 needs exactly one peer"):
        tcp_ingress("in-443", **COMMON)


def test_an_ingress_rule_with_two_sources_is_refused():
    with pytest.raises(ValueError, match="needs exactly one peer"):
        tcp_ingress("in-443", from_group="sg-2", from_cidr="10.0.0.0/16", **COMMON)


def test_an_egress_rule_with_two_destinations_is_refused():
    with pytest.raises(ValueError, match="security group rule out-443 needs exactly one peer"):
        tcp_egress("out-443", to_group="sg-2", to_cidr="0.0.0.0/0", **COMMON)
