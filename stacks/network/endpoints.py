"""VPC endpoints: the free S3 gateway always, the priced interface endpoints when enabled."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.network_constants import HTTPS_PORT
from shared.tags import ServiceTags

# What Fargate tasks call at start and run time: image manifests (ecr.api, ecr.dkr), logs, secrets, KMS.
INTERFACE_SERVICES = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "kms")
# complianceProfile pci: no AWS API through NAT, so every other API a task or function in the VPC calls:
# SNS (rotation notices), CloudWatch metrics (monitoring), STS, ECS and CodeDeploy (the release hooks).
# Service names: `aws ec2 describe-vpc-endpoint-services` (PrivateLink guide, "AWS services that
# integrate with AWS PrivateLink").
PCI_INTERFACE_SERVICES = (
    *INTERFACE_SERVICES,
    "sns",
    "monitoring",
    "sts",
    "ecs",
    "codedeploy",
)
# ECS Exec runs over Session Manager, whose agent in the task opens its channels with ssmmessages
# (ECS developer guide, "Amazon ECS interface VPC endpoints": the Session Manager endpoints for ECS
# Exec). Only with `ecsExecEndpoint`: the network layer cannot see the platform's `ecsExec`, so the
# platform refuses ECS Exec under pci without it (shared/contracts.py).
ECS_EXEC_SERVICE = "ssmmessages"


def interface_services(*, pci: bool, interface_endpoints: bool, ecs_exec_endpoint: bool) -> tuple[str, ...]:
    """The interface endpoints' services: pci's, or the base set with `interfaceEndpoints`, or none;
    and ssmmessages with `ecsExecEndpoint`."""
    base = PCI_INTERFACE_SERVICES if pci else INTERFACE_SERVICES if interface_endpoints else ()
    return (*base, *((ECS_EXEC_SERVICE,) if ecs_exec_endpoint else ()))


@dataclass(frozen=True, kw_only=True)
class EndpointsArgs:
    """What the VPC endpoints are made from. No field has a default.

    Fields:
        namer: names every resource with the stack's suffix.
        tags: the Service tag (and the rest) for each resource.
        region: the endpoints' service names are `com.amazonaws.<region>.<service>`.
        vpc_id: the VPC.
        vpc_cidr: the only source the interface endpoints' security group admits on 443.
        private_subnet_ids: one interface endpoint network interface per subnet.
        private_route_table_ids: the S3 gateway endpoint's routes.
        services: the interface endpoints' services (`interface_services`); none, no interface
            endpoint and no security group for them. The S3 gateway endpoint is always created.
    """

    namer: naming.Namer
    tags: ServiceTags
    region: str
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    private_subnet_ids: list[pulumi.Input[str]]
    private_route_table_ids: list[pulumi.Input[str]]
    services: tuple[str, ...]


class Endpoints(pulumi.ComponentResource):
    """Keeps AWS API traffic of the private subnets off the NAT gateways."""

    def __init__(self, name: str, args: EndpointsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("payments:network:Endpoints", name, None, opts)
        names = args.namer
        child = pulumi.ResourceOptions(parent=self)

        # ECR stores image layers in S3: a gateway endpoint carries those pulls for free.
        s3_name = names.name(naming.VPC_ENDPOINT, "s3")
        self.s3 = aws.ec2.VpcEndpoint(
            s3_name,
            vpc_id=args.vpc_id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=args.private_route_table_ids,
            tags=args.tags.for_resource(s3_name),
            opts=child,
        )

        self.interface: dict[str, aws.ec2.VpcEndpoint] = {}
        self.security_group: aws.ec2.SecurityGroup | None = None
        if args.services:
            self._interface_endpoints(args)
        # What a pci security group names instead of 0.0.0.0/0 ("" when there are no interface endpoints).
        self.s3_prefix_list_id = self.s3.prefix_list_id
        self.ecs_exec_endpoint = ECS_EXEC_SERVICE in self.interface
        self.security_group_id: pulumi.Output[str] = (
            self.security_group.id if self.security_group is not None else pulumi.Output.from_input("")
        )
        self.register_outputs(
            {
                "s3EndpointId": self.s3.id,
                "interfaceEndpointIds": {k: v.id for k, v in self.interface.items()},
            }
        )

    def _interface_endpoints(self, args: EndpointsArgs) -> None:
        names = args.namer
        sg_name = names.name(naming.SECURITY_GROUP_NAME, "vpc-endpoints")
        self.security_group = aws.ec2.SecurityGroup(
            sg_name,
            name=sg_name,
            description="HTTPS from inside the VPC to the interface endpoints",
            vpc_id=args.vpc_id,
            tags=args.tags.for_resource(sg_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.vpc.SecurityGroupIngressRule(
            names.name(naming.SECURITY_GROUP_NAME, "vpc-endpoints", "https"),
            security_group_id=self.security_group.id,
            description="HTTPS from the VPC",
            ip_protocol="tcp",
            from_port=HTTPS_PORT,
            to_port=HTTPS_PORT,
            cidr_ipv4=args.vpc_cidr,
            tags=args.tags.for_resource(),
            opts=pulumi.ResourceOptions(parent=self.security_group),
        )
        for service in args.services:
            name = names.name(naming.VPC_ENDPOINT, service.replace(".", "-"))
            self.interface[service] = aws.ec2.VpcEndpoint(
                name,
                vpc_id=args.vpc_id,
                service_name=f"com.amazonaws.{args.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=args.private_subnet_ids,
                security_group_ids=[self.security_group.id],
                tags=args.tags.for_resource(name),
                opts=pulumi.ResourceOptions(parent=self),
            )
