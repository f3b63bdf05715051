"""Which availability zones the network spans: from config, or the first available ones."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from shared.config.network import NetworkConfig
from shared.errors import ConfigError


def choose_zones(config: NetworkConfig, provider: aws.Provider) -> tuple[str, ...]:
    """`availabilityZones` if set, else the first `azCount` zones that need no opt-in."""
    if config.availability_zones:
        return config.availability_zones
    found = aws.get_availability_zones(
        state="available",
        filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
        opts=pulumi.InvokeOptions(provider=provider),
    )
    zones = tuple(sorted(found.names))
    if len(zones) < config.az_count:
        raise ConfigError(
            "azCount",
            config.az_count,
            f"{config.common.region} has only {len(zones)} available zones ({', '.join(zones)})",
            "lower azCount (3 at least) or deploy to another region",
        )
    return zones[: config.az_count]
