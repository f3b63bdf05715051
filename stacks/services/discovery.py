"""One internal service's private DNS name: a Cloud Map service aliased to the internal ALB.

Callers resolve `<service>.<namespace>` to the internal ALB, whose listener for that service CodeDeploy
switches between blue and green. DNS never points at task IPs, so a release never leaves callers on
old tasks during the termination wait (aws/containers-roadmap#648).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.tags import ServiceTags

ALIAS_ATTRIBUTE = "AWS_ALIAS_DNS_NAME"
INSTANCE_ID = "internal-alb"
# Route 53 uses the ALB's own TTL for alias records; Cloud Map still requires a value.
ALIAS_RECORD_TTL_SECONDS = 60


@dataclass(frozen=True, kw_only=True)
class ServiceDnsNameArgs:
    """What one service's private DNS name is made from. No field has a default.

    Fields:
        namer: names every resource with the stack's suffix.
        tags: the Service tag (and the rest) for each resource.
        service: the catalogue name; it becomes the DNS label `<service>.<namespace>`.
        namespace_id: the platform's Cloud Map private DNS namespace.
        namespace_name: that namespace's name, for the exported DNS name.
        load_balancer_dns_name: the internal ALB the name aliases.
    """

    namer: naming.Namer
    tags: ServiceTags
    service: str
    namespace_id: pulumi.Input[str]
    namespace_name: pulumi.Input[str]
    load_balancer_dns_name: pulumi.Input[str]


class ServiceDnsName(pulumi.ComponentResource):
    """`<service>.<namespace>` -> internal ALB, as a Cloud Map service with one alias instance."""

    def __init__(
        self, name: str, args: ServiceDnsNameArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:services:ServiceDnsName", name, None, opts)
        label = naming.dns_label(args.service, key="service")
        logical = args.namer.name(naming.CLOUD_MAP_SERVICE, args.service)
        self.discovery_service = aws.servicediscovery.Service(
            logical,
            name=label,
            namespace_id=args.namespace_id,
            description=f"{args.service} through the internal load balancer",
            dns_config=aws.servicediscovery.ServiceDnsConfigArgs(
                namespace_id=args.namespace_id,
                # Alias instances need WEIGHTED routing and an A record (Cloud Map API, DnsConfig).
                routing_policy="WEIGHTED",
                dns_records=[
                    aws.servicediscovery.ServiceDnsConfigDnsRecordArgs(type="A", ttl=ALIAS_RECORD_TTL_SECONDS)
                ],
            ),
            force_destroy=True,  # deregisters the instance on destroy instead of failing
            tags=args.tags.for_resource(logical),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.servicediscovery.Instance(
            logical,
            instance_id=INSTANCE_ID,
            service_id=self.discovery_service.id,
            attributes={ALIAS_ATTRIBUTE: args.load_balancer_dns_name},
            opts=pulumi.ResourceOptions(parent=self.discovery_service),
        )
        self.dns_name = pulumi.Output.concat(label, ".", args.namespace_name)
        self.register_outputs({"dnsName": self.dns_name})
