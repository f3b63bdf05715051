"""The VPC component: VPC, locked default security group, public and private subnets per AZ, routes."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.config.keys import NatGateways
from shared.config.network import NAT_SINGLE
from shared.network_constants import ANYWHERE
from shared.tags import ServiceTags
from stacks.network.subnet_plan import SubnetPlan


@dataclass(frozen=True, kw_only=True)
class VpcArgs:
    """What the VPC is made from. No field has a default.

    Fields:
        namer: names every resource with the stack's suffix.
        tags: the Service tag (and the rest) for each resource.
        cidr: `vpcCidr`, the VPC block, e.g. 10.0.0.0/16.
        zones: the availability zone names; public and private subnet i live in zones[i].
        subnets: the public and private blocks carved out of `cidr`, one of each per zone.
        nat_gateways: `natGateways`; "perAz" puts one NAT gateway in each zone (survives an AZ
            outage), "single" one in the first zone (cheaper).
    """

    namer: naming.Namer
    tags: ServiceTags
    cidr: str
    zones: tuple[str, ...]
    subnets: SubnetPlan
    nat_gateways: NatGateways


class Vpc(pulumi.ComponentResource):
    """A VPC whose private subnets reach the internet only through NAT gateways."""

    def __init__(self, name: str, args: VpcArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("payments:network:Vpc", name, None, opts)
        self._args = args
        child = pulumi.ResourceOptions(parent=self)
        names = args.namer

        vpc_name = names.name(naming.VPC)
        # Cloud Map private DNS namespaces need both DNS settings on.
        self.vpc = aws.ec2.Vpc(
            vpc_name,
            cidr_block=args.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=args.tags.for_resource(vpc_name),
            opts=child,
        )
        vpc_opts = pulumi.ResourceOptions(parent=self.vpc)

        # Adopting the default SG removes all its rules: nothing can use it by accident.
        default_sg_name = names.name(naming.SECURITY_GROUP_NAME, "default")
        self.default_security_group = aws.ec2.DefaultSecurityGroup(
            default_sg_name,
            vpc_id=self.vpc.id,
            ingress=[],
            egress=[],
            tags=args.tags.for_resource(default_sg_name),
            opts=vpc_opts,
        )

        igw_name = names.name(naming.INTERNET_GATEWAY)
        self.internet_gateway = aws.ec2.InternetGateway(
            igw_name, vpc_id=self.vpc.id, tags=args.tags.for_resource(igw_name), opts=vpc_opts
        )

        self.public_subnets = [self._subnet("public", i, str(c)) for i, c in enumerate(args.subnets.public)]
        self.private_subnets = [
            self._subnet("private", i, str(c)) for i, c in enumerate(args.subnets.private)
        ]

        public_rtb_name = names.name(naming.ROUTE_TABLE, "public")
        self.public_route_table = aws.ec2.RouteTable(
            public_rtb_name,
            vpc_id=self.vpc.id,
            tags=args.tags.for_resource(public_rtb_name),
            opts=vpc_opts,
        )
        aws.ec2.Route(
            names.name(naming.ROUTE_TABLE, "public", "internet"),
            route_table_id=self.public_route_table.id,
            destination_cidr_block=ANYWHERE,
            gateway_id=self.internet_gateway.id,
            opts=pulumi.ResourceOptions(parent=self.public_route_table),
        )
        for subnet, zone in zip(self.public_subnets, args.zones, strict=True):
            aws.ec2.RouteTableAssociation(
                names.name(naming.ROUTE_TABLE, "public", zone, "assoc"),
                subnet_id=subnet.id,
                route_table_id=self.public_route_table.id,
                opts=pulumi.ResourceOptions(parent=self.public_route_table),
            )

        self.nat_gateways = self._nat_gateways()
        self.private_route_tables = [self._private_route_table(i) for i in range(len(args.zones))]

        self.vpc_id = self.vpc.id
        self.vpc_cidr = self.vpc.cidr_block
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in self.public_subnets])
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in self.private_subnets])
        self.private_route_table_ids = pulumi.Output.all(*[t.id for t in self.private_route_tables])
        self.nat_public_ips = pulumi.Output.all(*[eip.public_ip for eip in self.nat_eips])
        # (zone, gateway id) of each NAT gateway: gateway i sits in zones[i].
        self.nat_gateways_by_zone = [(args.zones[i], nat.id) for i, nat in enumerate(self.nat_gateways)]
        self.nat_gateway_ids = pulumi.Output.all(*[nat.id for nat in self.nat_gateways])
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "vpcCidr": self.vpc_cidr,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
                "privateRouteTableIds": self.private_route_table_ids,
                "natPublicIps": self.nat_public_ips,
            }
        )

    def _subnet(self, tier: str, index: int, cidr: str) -> aws.ec2.Subnet:
        zone = self._args.zones[index]
        name = self._args.namer.name(naming.SUBNET, tier, zone)
        return aws.ec2.Subnet(
            name,
            vpc_id=self.vpc.id,
            cidr_block=cidr,
            availability_zone=zone,
            # Nothing here needs an auto-assigned public IP: the ALB and NAT gateways bring their own
            # (AWS Foundational Security Best Practices EC2.15).
            map_public_ip_on_launch=False,
            tags=self._args.tags.for_resource(name, Tier=tier),
            opts=pulumi.ResourceOptions(parent=self.vpc),
        )

    def _nat_gateways(self) -> list[aws.ec2.NatGateway]:
        names = self._args.namer
        count = 1 if self._args.nat_gateways == NAT_SINGLE else len(self._args.zones)
        gateways = []
        self.nat_eips: list[aws.ec2.Eip] = []
        for index in range(count):
            zone = self._args.zones[index]
            eip_name = names.name(naming.ELASTIC_IP, "nat", zone)
            eip = aws.ec2.Eip(
                eip_name,
                domain="vpc",
                tags=self._args.tags.for_resource(eip_name),
                opts=pulumi.ResourceOptions(parent=self.vpc),
            )
            self.nat_eips.append(eip)
            nat_name = names.name(naming.NAT_GATEWAY, zone)
            gateways.append(
                aws.ec2.NatGateway(
                    nat_name,
                    allocation_id=eip.allocation_id,
                    subnet_id=self.public_subnets[index].id,
                    connectivity_type="public",
                    tags=self._args.tags.for_resource(nat_name),
                    # A NAT gateway needs the IGW to come up, and must be gone before the IGW is
                    # detached, or destroy fails on mapped public addresses.
                    opts=pulumi.ResourceOptions(parent=self.vpc, depends_on=[self.internet_gateway]),
                )
            )
        return gateways

    def _private_route_table(self, index: int) -> aws.ec2.RouteTable:
        names = self._args.namer
        zone = self._args.zones[index]
        nat = self.nat_gateways[index] if len(self.nat_gateways) > 1 else self.nat_gateways[0]
        name = names.name(naming.ROUTE_TABLE, "private", zone)
        table = aws.ec2.RouteTable(
            name,
            vpc_id=self.vpc.id,
            tags=self._args.tags.for_resource(name),
            opts=pulumi.ResourceOptions(parent=self.vpc),
        )
        aws.ec2.Route(
            names.name(naming.ROUTE_TABLE, "private", zone, "nat"),
            route_table_id=table.id,
            destination_cidr_block=ANYWHERE,
            nat_gateway_id=nat.id,
            opts=pulumi.ResourceOptions(parent=table),
        )
        aws.ec2.RouteTableAssociation(
            names.name(naming.ROUTE_TABLE, "private", zone, "assoc"),
            subnet_id=self.private_subnets[index].id,
            route_table_id=table.id,
            opts=pulumi.ResourceOptions(parent=table),
        )
        return table
