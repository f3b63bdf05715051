"""Carve the VPC CIDR into one public and one private subnet per availability zone.

Subnets are allocated largest first, each on the next boundary of its own size, so blocks never overlap
and no address space is lost to misalignment. Any failure is a `ConfigError` naming the key to change.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from shared.errors import ConfigError

Network = ipaddress.IPv4Network


@dataclass(frozen=True)
class SubnetPlan:
    """Subnet CIDRs, index i belonging to availability zone i."""

    public: tuple[Network, ...]
    private: tuple[Network, ...]


def plan_subnets(vpc: Network, zones: int, public_prefix: int, private_prefix: int) -> SubnetPlan:
    for key, prefix in (
        ("publicSubnetPrefix", public_prefix),
        ("privateSubnetPrefix", private_prefix),
    ):
        if prefix <= vpc.prefixlen:
            raise ConfigError(
                key,
                prefix,
                f"must be longer than the VPC's /{vpc.prefixlen} so {zones} subnets fit in it",
                f"pulumi config set {key} {min(vpc.prefixlen + 4, 28)}",
            )
    requests = sorted(
        [("private", private_prefix, i) for i in range(zones)]
        + [("public", public_prefix, i) for i in range(zones)],
        key=lambda request: request[1],
    )
    allocated: dict[tuple[str, int], Network] = {}
    cursor = int(vpc.network_address)
    end = int(vpc.broadcast_address)
    for tier, prefix, index in requests:
        size = 2 ** (32 - prefix)
        start = -(-cursor // size) * size  # round up to the block boundary
        if start + size - 1 > end:
            needed = zones * (2 ** (32 - public_prefix) + 2 ** (32 - private_prefix))
            raise ConfigError(
                "vpcCidr",
                str(vpc),
                f"is too small for {zones} public /{public_prefix} and {zones} private "
                f"/{private_prefix} subnets ({needed} addresses, the VPC has {vpc.num_addresses})",
                "use a larger vpcCidr (e.g. 10.0.0.0/16) or longer publicSubnetPrefix/privateSubnetPrefix",
            )
        allocated[(tier, index)] = ipaddress.IPv4Network((start, prefix))
        cursor = start + size
    return SubnetPlan(
        public=tuple(allocated[("public", i)] for i in range(zones)),
        private=tuple(allocated[("private", i)] for i in range(zones)),
    )
