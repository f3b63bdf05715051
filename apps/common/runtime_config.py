"""A service's settings, read from the env names the task definition injects (see `shared.catalogue`).

Secrets are not in the environment: each one is named by ARN in `<ENV>_SECRET_ARN` and read at run
time through the task role (`apps.common.runtime_secrets`).

A missing variable fails at start with the name to set, so a task with a broken definition dies
at once with a clear log line. It does not fail on its first request.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

from apps.common.runtime_secrets import arn_env
from apps.common.web import RequestLimits
from shared.catalogue import PORT_ENV, SERVICE_NAME_ENV, ServiceSpec, by_name
from shared.container_settings import SECRET_CACHE_TTL, ContainerSetting

TIMEOUT_ENV = "DOWNSTREAM_TIMEOUT_SECONDS"
RETRIES_ENV = "DOWNSTREAM_RETRIES"
# Loopback unless told otherwise: the images set 0.0.0.0, so only a container listens on every address.
LISTEN_HOST_ENV = "LISTEN_HOST"
LOCAL_LISTEN_HOST = "127.0.0.1"
MAX_BODY_BYTES_ENV = "MAX_BODY_BYTES"
MAX_URL_BYTES_ENV = "MAX_URL_BYTES"
MAX_HEADER_BYTES_ENV = "MAX_HEADER_BYTES"
HEADER_TIMEOUT_ENV = "HEADER_TIMEOUT_SECONDS"
BODY_TIMEOUT_ENV = "BODY_TIMEOUT_SECONDS"
KEEP_ALIVE_ENV = "KEEP_ALIVE_SECONDS"


class RuntimeConfigError(RuntimeError):
    """The environment does not satisfy the service's contract."""


@dataclass(frozen=True)
class RuntimeConfig:
    spec: ServiceSpec
    port: int
    downstream_urls: Mapping[str, str]  # callee name -> base URL
    secret_arns: Mapping[str, str]  # catalogue env name (DATABASE_CONNECTION) -> the secret's ARN
    secret_cache_ttl_seconds: int
    downstream_timeout_seconds: float
    downstream_retries: int
    listen_host: str
    limits: RequestLimits

    @classmethod
    def from_env(
        cls,
        service: str,
        environ: Mapping[str, str] | None = None,
        *,
        default_timeout_seconds: float = 2.0,
        default_retries: int = 2,
    ) -> RuntimeConfig:
        env = os.environ if environ is None else environ
        spec = by_name(service)
        named = env.get(SERVICE_NAME_ENV, spec.name)
        if named != spec.name:
            raise RuntimeConfigError(f"{SERVICE_NAME_ENV} is {named!r} but this is {spec.name}")
        return cls(
            spec=spec,
            port=_integer(env, PORT_ENV, spec.container_port),
            downstream_urls={
                callee: _required(env, spec.downstream_url_env(callee)).rstrip("/")
                for callee in spec.downstream
            },
            secret_arns={name: _secret_arn(env, arn_env(name)) for name in spec.secrets},
            secret_cache_ttl_seconds=declared(SECRET_CACHE_TTL, env),
            downstream_timeout_seconds=_number(env, TIMEOUT_ENV, default_timeout_seconds),
            downstream_retries=_integer(env, RETRIES_ENV, default_retries),
            listen_host=_address(env, LISTEN_HOST_ENV, LOCAL_LISTEN_HOST),
            limits=_limits(env),
        )


def declared(setting: ContainerSetting, env: Mapping[str, str]) -> int:
    """A declared container setting from the environment: its default when unset, else a whole
    number within its bounds (`shared/container_settings.py`)."""
    try:
        return setting.read(env)
    except ValueError as error:
        raise RuntimeConfigError(str(error)) from None


def _limits(env: Mapping[str, str]) -> RequestLimits:
    default = RequestLimits()
    return RequestLimits(
        max_body_bytes=_integer(env, MAX_BODY_BYTES_ENV, default.max_body_bytes, minimum=1),
        max_url_bytes=_integer(env, MAX_URL_BYTES_ENV, default.max_url_bytes, minimum=1),
        max_header_bytes=_integer(env, MAX_HEADER_BYTES_ENV, default.max_header_bytes, minimum=1),
        header_timeout_seconds=_number(env, HEADER_TIMEOUT_ENV, default.header_timeout_seconds),
        body_timeout_seconds=_number(env, BODY_TIMEOUT_ENV, default.body_timeout_seconds),
        keep_alive_seconds=_integer(env, KEEP_ALIVE_ENV, default.keep_alive_seconds, minimum=1),
    )


def _address(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name) or default
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        raise RuntimeConfigError(f"{name} must be an IP address such as 127.0.0.1, got {raw!r}") from None


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "")
    if not value:
        raise RuntimeConfigError(f"{name} must be set (the task definition injects it)")
    return value


def _secret_arn(env: Mapping[str, str], name: str) -> str:
    value = _required(env, name)
    if not value.startswith("arn:") or ":secretsmanager:" not in value:
        raise RuntimeConfigError(
            f"{name} must be a Secrets Manager secret ARN (arn:aws:secretsmanager:...), got {value!r}"
        )
    return value


def _integer(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RuntimeConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise RuntimeConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise RuntimeConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise RuntimeConfigError(f"{name} must be positive, got {value}")
    return value
