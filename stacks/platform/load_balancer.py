"""An Application Load Balancer and its security group, hardened; listeners belong to the services layer.

CodeDeploy rewrites the listeners' default actions during blue/green deployments, so the services
layer owns them (with `ignore_changes`). This component owns only what never changes with a release.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.tags import ServiceTags

LoadBalancerRole = Literal["public", "internal"]


@dataclass(frozen=True, kw_only=True)
class LoadBalancerArgs:
    """What one ALB is made from.

    Fields:
        namer: names every resource with the stack's suffix.
        tags: the Service tag (and the rest) for each resource.
        role: "public" or "internal": part of every name.
        internal: the scheme: internal (private subnets) or internet-facing (public subnets).
        vpc_id: the VPC of the ALB's security group.
        vpc_cidr: the only egress destination: targets and health checks live there.
        subnet_ids: one per AZ; an ALB needs at least two.
        access_logs_bucket: the bucket access logs go to.
        access_logs_ready: the bucket policy; CreateLoadBalancer checks that it can write logs.
        ingress_cidrs: IPv4 blocks allowed in on `ingress_ports`; default none.
        ingress_ports: ports open to `ingress_cidrs`; default none (the services layer adds rules).
    """

    namer: naming.Namer
    tags: ServiceTags
    role: LoadBalancerRole
    internal: bool
    vpc_id: pulumi.Input[str]
    vpc_cidr: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    access_logs_bucket: pulumi.Input[str]
    access_logs_ready: pulumi.Resource
    ingress_cidrs: tuple[str, ...] = ()
    ingress_ports: tuple[int, ...] = field(default=())


class LoadBalancer(pulumi.ComponentResource):
    """One ALB: invalid headers dropped, access logs on, deletion protection off."""

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("payments:platform:LoadBalancer", name, None, opts)
        names = args.namer
        child = pulumi.ResourceOptions(parent=self)
        sg_name = names.name(naming.SECURITY_GROUP_NAME, "alb", args.role)
        self.security_group = aws.ec2.SecurityGroup(
            sg_name,
            name=sg_name,
            description=f"{args.role} load balancer: listeners in, targets in the VPC out",
            vpc_id=args.vpc_id,
            tags=args.tags.for_resource(sg_name),
            opts=child,
        )
        in_group = pulumi.ResourceOptions(parent=self.security_group)
        # One rule resource per (CIDR, port): inline lists would fight the services layer's rules.
        for cidr in args.ingress_cidrs:
            for port in args.ingress_ports:
                cidr_label = cidr.replace(".", "-").replace("/", "-")
                rule_name = names.name(
                    naming.SECURITY_GROUP_NAME, "alb", args.role, "in", str(port), cidr_label
                )
                aws.vpc.SecurityGroupIngressRule(
                    rule_name,
                    security_group_id=self.security_group.id,
                    cidr_ipv4=cidr,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    description=f"HTTP(S) on {port} from an allowed client range",
                    tags=args.tags.for_resource(rule_name),
                    opts=in_group,
                )
        egress_name = names.name(naming.SECURITY_GROUP_NAME, "alb", args.role, "out", "vpc")
        aws.vpc.SecurityGroupEgressRule(
            egress_name,
            security_group_id=self.security_group.id,
            cidr_ipv4=args.vpc_cidr,
            ip_protocol="tcp",
            from_port=0,
            to_port=65535,
            description="To targets and their health checks, which are all inside the VPC",
            tags=args.tags.for_resource(egress_name),
            opts=in_group,
        )

        alb_name = names.name(naming.ALB, args.role)
        self.load_balancer = aws.lb.LoadBalancer(
            alb_name,
            name=alb_name,
            internal=args.internal,
            load_balancer_type="application",
            ip_address_type="ipv4",
            security_groups=[self.security_group.id],
            subnets=args.subnet_ids,
            drop_invalid_header_fields=True,
            enable_deletion_protection=False,
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(
                bucket=args.access_logs_bucket, prefix=alb_name, enabled=True
            ),
            tags=args.tags.for_resource(alb_name),
            # CreateLoadBalancer fails with "Access Denied for bucket" unless the policy is in place.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.access_logs_ready]),
        )

        self.arn = self.load_balancer.arn
        self.dns_name = self.load_balancer.dns_name
        self.zone_id = self.load_balancer.zone_id
        self.security_group_id = self.security_group.id
        self.register_outputs(
            {
                "arn": self.arn,
                "dnsName": self.dns_name,
                "zoneId": self.zone_id,
                "securityGroupId": self.security_group_id,
            }
        )
