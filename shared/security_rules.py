"""One TCP port in or out of a security group, as its own rule resource.

Rules are separate resources (`aws.vpc.SecurityGroupIngressRule`/`EgressRule`), never inline lists, so
rules added by another component or layer never fight each other (docs/architecture.md). Each rule
names exactly one peer: a security group, a prefix list or a CIDR.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from shared.tags import ServiceTags

TCP = "tcp"


def tcp_ingress(
    name: str,
    *,
    group_id: pulumi.Input[str],
    port: pulumi.Input[int],
    description: str,
    tags: ServiceTags,
    opts: pulumi.ResourceOptions,
    from_group: pulumi.Input[str] | None = None,
    from_prefix_list: pulumi.Input[str] | None = None,
    from_cidr: pulumi.Input[str] | None = None,
) -> aws.vpc.SecurityGroupIngressRule:
    _one_peer(name, from_group, from_prefix_list, from_cidr)
    return aws.vpc.SecurityGroupIngressRule(
        name,
        security_group_id=group_id,
        referenced_security_group_id=from_group,
        prefix_list_id=from_prefix_list,
        cidr_ipv4=from_cidr,
        ip_protocol=TCP,
        from_port=port,
        to_port=port,
        description=description,
        tags=tags.for_resource(name),
        opts=opts,
    )


def tcp_egress(
    name: str,
    *,
    group_id: pulumi.Input[str],
    port: pulumi.Input[int],
    description: str,
    tags: ServiceTags,
    opts: pulumi.ResourceOptions,
    to_group: pulumi.Input[str] | None = None,
    to_cidr: pulumi.Input[str] | None = None,
) -> aws.vpc.SecurityGroupEgressRule:
    _one_peer(name, to_group, to_cidr)
    return aws.vpc.SecurityGroupEgressRule(
        name,
        security_group_id=group_id,
        referenced_security_group_id=to_group,
        cidr_ipv4=to_cidr,
        ip_protocol=TCP,
        from_port=port,
        to_port=port,
        description=description,
        tags=tags.for_resource(name),
        opts=opts,
    )


def _one_peer(name: str, *peers: object) -> None:
    if sum(peer is not None for peer in peers) != 1:
        raise ValueError(f"security group rule {name} needs exactly one peer (group, prefix list or CIDR)")
