"""The URLs services are reached at: Cloud Map names inside the VPC, the public ALB outside."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from shared.catalogue import ServiceSpec
from shared.network_constants import HTTP_PORT, HTTPS_PORT
from stacks.services.traffic import ListenerPlan


def downstream_urls(
    spec: ServiceSpec, catalogue: Sequence[ServiceSpec], namespace_name: pulumi.Input[str]
) -> dict[str, pulumi.Output[str]]:
    """Env var -> base URL of every service `spec` calls: http://<callee>.<namespace>:<listener port>.

    Callees sit behind the internal ALB, whose listeners are plain HTTP (private names have no public
    certificate); the traffic never leaves the VPC.
    """
    by_name = {s.name: s for s in catalogue}
    return {
        spec.downstream_url_env(callee): pulumi.Output.concat(
            "http://", callee, ".", namespace_name, ":", str(by_name[callee].production_port)
        )
        for callee in spec.downstream
    }


def public_url(plan: ListenerPlan, dns_name: pulumi.Input[str]) -> pulumi.Output[str]:
    """The api-gateway's address on the public ALB; the port is left out when it is the scheme's own."""
    scheme = plan.protocol.lower()
    default_port = HTTPS_PORT if scheme == "https" else HTTP_PORT
    port = "" if plan.production_port == default_port else f":{plan.production_port}"
    return pulumi.Output.concat(scheme, "://", dns_name, port)
