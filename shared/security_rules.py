"""One TCP port in or out of a security group, as its own rule resource.

Rules are separate resources (`aws.vpc.SecurityGroupIngressRule`/`EgressRule`), never inline lists, so
rules added by another component or layer never fight each other (docs/architecture.md). Each rule
names exactly one peer: a security group, a prefix list or a CIDR.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared.naming import SECURITY_GROUP_NAME, Namer
from shared.network_constants import ANYWHERE, EGRESS_PROXY_PORT, HTTPS_PORT
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
    to_prefix_list: pulumi.Input[str] | None = None,
) -> aws.vpc.SecurityGroupEgressRule:
    _one_peer(name, to_group, to_cidr, to_prefix_list)
    return aws.vpc.SecurityGroupEgressRule(
        name,
        security_group_id=group_id,
        referenced_security_group_id=to_group,
        cidr_ipv4=to_cidr,
        prefix_list_id=to_prefix_list,
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


@dataclass(frozen=True, kw_only=True)
class DeclaredEgress:
    """Where `complianceProfile: pci` lets a group send HTTPS: the VPC's interface endpoints and S3.

    Fields:
        endpoint_security_group_id: the interface endpoints' group (network layer's export).
        s3_prefix_list_id: the S3 gateway endpoint's AWS-managed prefix list (pl-...), whose
            addresses a security group may name as a peer (VPC user guide, "Gateway endpoints":
            "the prefix list ID ... in the outbound rules of a security group").
    """

    endpoint_security_group_id: pulumi.Input[str]
    s3_prefix_list_id: pulumi.Input[str]


def https_to_aws_apis(
    namer: Namer,
    parts: tuple[str, ...],
    *,
    group_id: pulumi.Input[str],
    description: str,
    tags: ServiceTags,
    opts: pulumi.ResourceOptions,
    declared: DeclaredEgress | None,
) -> list[aws.vpc.SecurityGroupEgressRule]:
    """HTTPS out to AWS's APIs: anywhere through NAT (baseline), or only to the interface endpoints and
    the S3 prefix list (pci, PCI DSS 1.3.2). The baseline rule keeps the name and shape it always had."""
    if declared is None:
        return [
            tcp_egress(
                namer.name(SECURITY_GROUP_NAME, *parts),
                group_id=group_id,
                port=HTTPS_PORT,
                to_cidr=ANYWHERE,
                description=description,
                tags=tags,
                opts=opts,
            )
        ]
    return [
        tcp_egress(
            namer.name(SECURITY_GROUP_NAME, *parts, "endpoints"),
            group_id=group_id,
            port=HTTPS_PORT,
            to_group=declared.endpoint_security_group_id,
            description="AWS APIs through the VPC's interface endpoints only",
            tags=tags,
            opts=opts,
        ),
        tcp_egress(
            namer.name(SECURITY_GROUP_NAME, *parts, "s3"),
            group_id=group_id,
            port=HTTPS_PORT,
            to_prefix_list=declared.s3_prefix_list_id,
            description="S3 (ECR image layers) through the S3 gateway endpoint only",
            tags=tags,
            opts=opts,
        ),
    ]


@dataclass(frozen=True, kw_only=True)
class EgressProxyRoute:
    """Where a `complianceProfile: pci` client sends HTTPS for third-party hosts: the egress proxy.

    Fields:
        url: `http://egress-proxy.<namespace>:3128`, the client's HTTPS_PROXY.
        security_group_id: the proxy tasks' group; each client adds an ingress rule on it.
    """

    url: pulumi.Input[str]
    security_group_id: pulumi.Input[str]


PROXY_LABEL = "egress-proxy"  # in the names of the rules that reach it


def through_egress_proxy(
    namer: Namer,
    client: str,
    *,
    group_id: pulumi.Input[str],
    proxy: EgressProxyRoute,
    tags: ServiceTags,
    opts: pulumi.ResourceOptions,
) -> list[pulumi.Resource]:
    """`client`'s group may send 3128 to the proxy's group only, and the proxy's group admits it there."""
    return [
        tcp_egress(
            namer.name(SECURITY_GROUP_NAME, client, "out", str(EGRESS_PROXY_PORT), PROXY_LABEL),
            group_id=group_id,
            port=EGRESS_PROXY_PORT,
            to_group=proxy.security_group_id,
            description="Third-party hosts on 443, only through the egress proxy's allowlist",
            tags=tags,
            opts=opts,
        ),
        tcp_ingress(
            namer.name(SECURITY_GROUP_NAME, PROXY_LABEL, "in", str(EGRESS_PROXY_PORT), client),
            group_id=proxy.security_group_id,
            port=EGRESS_PROXY_PORT,
            from_group=group_id,
            description=f"{client} (HTTPS_PROXY)",
            tags=tags,
            opts=opts,
        ),
    ]
