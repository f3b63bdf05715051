"""The Cloud Map private DNS namespace the services register their names in."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from shared.tags import ServiceTags


def private_namespace(
    namespace_name: str, vpc_id: pulumi.Input[str], tags: ServiceTags, opts: pulumi.ResourceOptions
) -> aws.servicediscovery.PrivateDnsNamespace:
    """`<base>-<suffix>.<domain>` on the VPC, resolvable only inside it.

    Private DNS namespaces need the VPC's DNS support and DNS hostnames on; the network layer sets
    both (Cloud Map developer guide, "Creating a private DNS namespace").
    """
    return aws.servicediscovery.PrivateDnsNamespace(
        namespace_name,
        name=namespace_name,
        vpc=vpc_id,
        description=f"Private names of the services in {namespace_name}",
        tags=tags.for_resource(namespace_name),
        opts=opts,
    )
