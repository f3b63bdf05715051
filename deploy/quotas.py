"""The account quotas an `up` would run into, checked before anything is created.

A new account's quotas are lower than what this platform takes: Lambda's concurrent executions may be
10 (and Lambda keeps 100 of them unreserved, so reserving any fails: "decreases account's
UnreservedConcurrentExecution below its minimum value of [100]", Lambda developer guide, "Configuring
reserved concurrency"); five Elastic IPs per Region, of which `natGateways: perAz` takes one per zone;
five VPCs per Region, the default VPC among them. The applied value of each quota comes from the
Service Quotas API (GetServiceQuota; GetAWSDefaultServiceQuota when none is applied), what is in use
from the service itself, and what this stack needs from its typed config. What this stack already has
(found by its names, `shared.naming`) is not counted twice, so a second `up` passes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared import naming
from shared.config.keys import NAT_GATEWAYS
from shared.config.network import NetworkConfig
from shared.config.platform import PlatformConfig
from shared.config.services import ServicesConfig
from shared.tags import NAME

Clients = Callable[[str], Any]  # boto3 service name -> client in the stacks' region
UNRESERVED_MINIMUM = 100  # Lambda keeps this much concurrency unreserved (Lambda developer guide)
ALBS_PER_STACK = 2  # stacks/platform/__main__.py: the public and the internal ALB
HOOKS_PER_STACK = 2  # stacks/services/release_hooks.py: the scan gate and the smoke test
ROTATION_FUNCTIONS_PER_STACK = 1  # stacks/platform/secret_rotation.py


@dataclass(frozen=True)
class Quota:
    """One Service Quotas entry (service code and quota code as the Service Quotas console lists them)."""

    service_code: str
    quota_code: str
    name: str


LAMBDA_CONCURRENCY = Quota("lambda", "L-B99A9384", "Lambda concurrent executions")
ELASTIC_IPS = Quota("ec2", "L-0263D0A3", "EC2-VPC Elastic IPs")
VPCS = Quota("vpc", "L-F678F1CE", "VPCs per Region")
APPLICATION_LOAD_BALANCERS = Quota(
    "elasticloadbalancing", "L-53DA6B97", "Application Load Balancers per Region"
)
INCREASE = "ask for more in the Service Quotas console (or `aws service-quotas request-service-quota-increase"


@dataclass(frozen=True)
class Needs:
    """What the layers of one run create that a quota counts."""

    vpcs: int = 0
    elastic_ips: int = 0
    application_load_balancers: int = 0
    reserved_concurrency: int = 0  # the sum over the stack's functions with reserved concurrency


def needs_of(configs: Iterable[object]) -> Needs:
    """From the layers' typed configs (NetworkConfig, PlatformConfig, ServicesConfig)."""
    vpcs = eips = albs = reserved = 0
    for config in configs:
        if isinstance(config, NetworkConfig):
            vpcs += 1
            eips += 1 if config.nat_gateways == NAT_GATEWAYS[1] else config.az_count
        elif isinstance(config, PlatformConfig):
            albs += ALBS_PER_STACK
            reserved += ROTATION_FUNCTIONS_PER_STACK * config.rotation_reserved_concurrency
        elif isinstance(config, ServicesConfig):
            reserved += HOOKS_PER_STACK * config.release.hook_reserved_concurrency
    return Needs(vpcs, eips, albs, reserved)


def quota_value(service_quotas: Any, quota: Quota) -> float:
    """The quota's applied value in this account and Region, else AWS's default."""
    try:
        answer = service_quotas.get_service_quota(ServiceCode=quota.service_code, QuotaCode=quota.quota_code)
    except service_quotas.exceptions.NoSuchResourceException:
        answer = service_quotas.get_aws_default_service_quota(
            ServiceCode=quota.service_code, QuotaCode=quota.quota_code
        )
    return float(answer["Quota"]["Value"])


def _owned(name: str, kind: naming.NameKind, suffix: str) -> bool:
    return name.startswith(f"{kind.label}-") and name.endswith(f"-{suffix}")


def _tag(resource: Mapping[str, Any], key: str) -> str:
    return next((str(t.get("Value", "")) for t in resource.get("Tags") or [] if t.get("Key") == key), "")


def elastic_ips_in_use(ec2: Any, suffix: str) -> int:
    """Addresses of the Region other than this stack's NAT addresses."""
    addresses = ec2.describe_addresses()["Addresses"]
    return sum(1 for a in addresses if not _owned(_tag(a, NAME), naming.ELASTIC_IP, suffix))


def vpcs_in_use(ec2: Any, suffix: str) -> int:
    """VPCs of the Region (the default VPC counts) other than this stack's."""
    count = 0
    for page in ec2.get_paginator("describe_vpcs").paginate():
        count += sum(1 for v in page["Vpcs"] if not _owned(_tag(v, NAME), naming.VPC, suffix))
    return count


def albs_in_use(elbv2: Any, suffix: str) -> int:
    """Application Load Balancers of the Region other than this stack's."""
    count = 0
    for page in elbv2.get_paginator("describe_load_balancers").paginate():
        count += sum(
            1
            for lb in page["LoadBalancers"]
            if lb.get("Type") == "application" and not _owned(str(lb["LoadBalancerName"]), naming.ALB, suffix)
        )
    return count


def quota_problems(
    clients: Clients, needs: Needs, suffix: str, region: str, warn: Callable[[str], None] = print
) -> list[str]:
    """One line per quota this run would exceed, with the number to ask for; [] when all fit.

    A quota or usage that cannot be read (no permission, Service Quotas unavailable) is a warning, not a
    refusal: AWS still refuses what exceeds a quota, only later.
    """
    problems: list[str] = []
    quotas = clients("service-quotas")

    def check(quota: Quota, needed: int, in_use: Callable[[], int], fix: str) -> None:
        if needed <= 0:
            return
        try:
            limit = quota_value(quotas, quota)
            used = in_use()
        except (ClientError, BotoCoreError) as error:
            warn(f"warning: {quota.name} could not be read ({error}); not checked")
            return
        if used + needed > limit:
            wanted = used + needed
            problems.append(
                f"{quota.name}: this stack needs {needed}, {used} are in use elsewhere in {region}, and the "
                f"quota is {limit:g}: {fix}, or {INCREASE} --service-code {quota.service_code} "
                f"--quota-code {quota.quota_code} --desired-value {wanted}`)"
            )

    check(VPCS, needs.vpcs, lambda: vpcs_in_use(clients("ec2"), suffix), "delete an unused VPC")
    check(
        ELASTIC_IPS,
        needs.elastic_ips,
        lambda: elastic_ips_in_use(clients("ec2"), suffix),
        "release unused addresses, or set `natGateways single` in stacks/network (one address)",
    )
    check(
        APPLICATION_LOAD_BALANCERS,
        needs.application_load_balancers,
        lambda: albs_in_use(clients("elbv2"), suffix),
        "delete an unused load balancer",
    )
    if needs.reserved_concurrency > 0:
        try:
            limit = quota_value(quotas, LAMBDA_CONCURRENCY)
        except (ClientError, BotoCoreError) as error:
            warn(f"warning: {LAMBDA_CONCURRENCY.name} could not be read ({error}); not checked")
            return problems
        if limit - needs.reserved_concurrency < UNRESERVED_MINIMUM:
            problems.append(
                f"{LAMBDA_CONCURRENCY.name}: the quota is {limit:g}, and reserving "
                f"{needs.reserved_concurrency} (rotationReservedConcurrency, and hookReservedConcurrency for "
                f"each of the {HOOKS_PER_STACK} release hooks) would leave fewer than the "
                f"{UNRESERVED_MINIMUM} Lambda keeps unreserved: "
                f"{INCREASE} --service-code lambda --quota-code {LAMBDA_CONCURRENCY.quota_code} "
                f"--desired-value 1000`; the standard quota is 1,000 and a new account's is often 10)"
            )
    return problems
