"""The settings the services layer hands the containers, each declared once with its whole route.

One `ContainerSetting` says everything about a knob: its config key in the services layer, the
environment variable the task definition sets, which services get it, its default, bounds and
description. From it come the key's declaration (`shared/config/keys.py`, and so the generated
config tables), the layer's typed config (`shared/config/services.py`), the task definition's
environment (`stacks/services/task_definition.py`), the services' readers and defaults
(`apps/common/runtime_config.py`, `apps/common/runtime_secrets.py`,
`apps/payment_processor/ledger_connections.py`), the policy's allow-list of plain numbers
(`policy/rules.py`) and the container settings table of `docs/services.md`.
`tests/shared/test_container_settings.py` fails on a second literal of a default.

A new knob is one `ContainerSetting` below, added to `CONTAINER_SETTINGS`, and one line where the
service reads it (`apps.common.runtime_config.declared(<setting>, env)`); then `python3 dev.py docs`.

The service images copy this module (apps/*/Dockerfile), so it imports nothing but the standard
library and the catalogue's own modules: no Pulumi.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    from shared.catalogue import ServiceSpec

# How the payment database and its rotation Lambda connect: `databaseTls` (platform layer) and
# `DATABASE_TLS` of payment-processor's image (apps/payment_processor/ledger_connections.py).
DatabaseTls = Literal["verify-full", "require", "disable"]
DATABASE_TLS_MODES: tuple[DatabaseTls, ...] = get_args(DatabaseTls)

Receivers = Literal["secret readers", "database clients", "third-party clients"]
# Who gets a setting: the services whose catalogue entry names a secret, the database connection, or a
# third party's API key.
RECEIVES: Mapping[Receivers, Callable[[ServiceSpec], bool]] = {
    "secret readers": lambda spec: bool(spec.secrets),
    "database clients": lambda spec: spec.database_client,
    "third-party clients": lambda spec: spec.third_party_client,
}


@dataclass(frozen=True, kw_only=True)
class ContainerSetting:
    """One integer setting from a services-layer config key to a container's environment.

    Fields:
        key: the services layer's config key (`pulumi config set <key>`).
        env: the environment variable the task definition sets and the service reads.
        receivers: which services get it (`RECEIVES`); the others get no variable.
        default, minimum, maximum: the value when unset, and the inclusive bounds, checked both by
            the services layer's config and by the service reading its environment.
        description: one line for the config table and the container settings table.
    """

    key: str
    env: str
    receivers: Receivers
    default: int
    minimum: int
    maximum: int
    description: str

    def reaches(self, spec: ServiceSpec) -> bool:
        """The task definition of `spec` sets this variable."""
        return RECEIVES[self.receivers](spec)

    def parse(self, raw: str | None) -> int:
        """The value of `raw` as the variable holds it; unset or empty is the default.

        Raises ValueError with a message naming the variable and the values it takes.
        """
        if raw is None or raw == "":
            return self.default
        if not (re.fullmatch(r"[0-9]+", raw) and self.minimum <= int(raw) <= self.maximum):
            raise ValueError(
                f"{self.env} must be a whole number from {self.minimum} to {self.maximum}, got {raw!r}"
            )
        return int(raw)

    def read(self, environ: Mapping[str, str]) -> int:
        """This setting from an environment (`parse` of its variable)."""
        return self.parse(environ.get(self.env))


SECRET_CACHE_TTL = ContainerSetting(
    key="secretCacheTtlSeconds",
    env="SECRET_CACHE_TTL_SECONDS",
    receivers="secret readers",
    default=300,
    minimum=1,
    # Well below the 30-day rotation: with alternating users the previous credentials work until the
    # next rotation, so a task may serve a value this long after a rotation.
    maximum=3600,
    description="How long a service serves a secret from its cache before asking Secrets Manager again",
)
DATABASE_POOL_SIZE = ContainerSetting(
    key="databasePoolSize",
    env="DATABASE_POOL_SIZE",
    receivers="database clients",
    default=10,
    minimum=1,
    maximum=100,
    description="Most database connections one task of a database client opens (x maxCapacity x 2 "
    "during a release must fit the database's max_connections)",
)
CONTAINER_SETTINGS: tuple[ContainerSetting, ...] = (SECRET_CACHE_TTL, DATABASE_POOL_SIZE)
BY_KEY: Mapping[str, ContainerSetting] = {setting.key: setting for setting in CONTAINER_SETTINGS}


# complianceProfile pci: the egress proxy. Not a config key of the services layer: the platform layer
# runs the proxy and exports its URL (`egressProxyUrl`), and these variables take it to the services that
# call a third party ("third-party clients") and to the rotation function. Python's urllib and botocore
# honour both variables (urllib.request.getproxies_environment and proxy_bypass_environment: a NO_PROXY
# entry matches the host itself and every name under it). HTTP_PROXY stays unset: plain HTTP goes only
# to the internal load balancer, in the VPC.
HTTPS_PROXY_ENV = "HTTPS_PROXY"
NO_PROXY_ENV = "NO_PROXY"
PROXY_RECEIVERS: Receivers = "third-party clients"
# Never through the proxy (it would refuse them): AWS's APIs, whose regional names the VPC's interface
# endpoints answer (and the S3 gateway endpoint S3's), ECS's task metadata and credentials address,
# the instance metadata address, and loopback. The caller adds the Cloud Map namespace and the internal
# load balancer's name.
DIRECT_HOSTS = (".amazonaws.com", "169.254.170.2", "169.254.169.254", "localhost", "127.0.0.1")


def no_proxy(direct: tuple[str, ...]) -> str:
    """NO_PROXY: DIRECT_HOSTS and `direct` (the namespace as `.<namespace>`, the internal ALB's name)."""
    return ",".join(dict.fromkeys(host for host in (*DIRECT_HOSTS, *direct) if host))


def proxy_environment(proxy_url: str, direct: tuple[str, ...]) -> dict[str, str]:
    """HTTPS_PROXY and NO_PROXY for a client of the egress proxy at `proxy_url`; none without a proxy."""
    if not proxy_url:
        return {}
    return {HTTPS_PROXY_ENV: proxy_url, NO_PROXY_ENV: no_proxy(direct)}


def environment(spec: ServiceSpec, values: Mapping[str, int]) -> dict[str, str]:
    """The variables of `spec`'s container: each setting that reaches it, from `values` (config key ->
    value) or else its default."""
    return {
        setting.env: str(values.get(setting.key, setting.default))
        for setting in CONTAINER_SETTINGS
        if setting.reaches(spec)
    }
