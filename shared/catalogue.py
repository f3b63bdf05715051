"""The service catalogue: the single description of the three services.

The services layer builds task definitions, target groups, listeners and the security-group chain
from it; the reference apps read their ports, health paths and env/secret names from it. Changing a
port or adding a secret is a change here, and the tests of both sides see it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from shared.errors import ConfigError
from shared.secret_purposes import SecretPurposes

PUBLIC = "public"
INTERNAL = "internal"

# What every image promises the task definition, and what the apps read (the env contract).
PORT_ENV = "PORT"  # the port the app listens on: the container port
SERVICE_NAME_ENV = "SERVICE_NAME"  # the service's catalogue name, for logs and request ids
CONTAINER_USER = "10001:10001"  # the non-root uid:gid every image creates
# Each secret of a service reaches it as `<ENV>_SECRET_ARN` = the secret's ARN, never as a value: the
# code reads it at run time through the task role (apps/common/runtime_secrets.py).
SECRET_ARN_SUFFIX = "_SECRET_ARN"
# The settings the services layer passes as numbers (SECRET_CACHE_TTL_SECONDS, DATABASE_POOL_SIZE) are
# declared with their config keys, defaults and bounds in `shared/container_settings.py`.
WRITABLE_PATH = "/tmp"  # the one writable mount: the root filesystem is read-only
HEALTH_PROBE_MODULE = "apps.probe"  # `python -m apps.probe <url>`: exits 0 only on a 2xx answer


@dataclass(frozen=True)
class SmokeRequest:
    """One representative request a release's smoke test sends to the green tasks, and its answer.

    It must have no side effects: a release must not create a payment. The requests below are
    validated by the real app (a refused payment) or are pure (a fraud score), and the apps' tests
    send each one to the running service and check this answer.
    """

    method: str
    path: str
    body: Mapping[str, str]
    headers: Mapping[str, str]
    expected_status: int
    expected_key: str  # a key the JSON answer must contain

    def as_json(self) -> dict[str, object]:
        return {
            "method": self.method,
            "path": self.path,
            "body": dict(self.body),
            "headers": dict(self.headers),
            "expectedStatus": self.expected_status,
            "expectedKey": self.expected_key,
        }


# A payment every service refuses at validation (an unknown currency), so nothing is charged or
# recorded; it still exercises routing, JSON parsing and validation in the new code.
_REFUSED_PAYMENT = SmokeRequest(
    method="POST",
    path="/payments",
    body=MappingProxyType({"amount": "1.00", "currency": "XXX", "card_token": "tok_smoketest0000000001"}),
    headers=MappingProxyType({"Idempotency-Key": "release-smoke-test", "Content-Type": "application/json"}),
    expected_status=422,
    expected_key="error",
)
_FRAUD_SCORE = SmokeRequest(
    method="POST",
    path="/score",
    body=MappingProxyType({"amount": "1.00", "currency": "USD", "card_token": "tok_smoketest0000000001"}),
    headers=MappingProxyType({"Content-Type": "application/json"}),
    expected_status=200,
    expected_key="score",
)


@dataclass(frozen=True)
class ServiceSpec:
    """One service: what it listens on, how it is checked, whom it calls, which secrets it reads."""

    name: str  # also its Cloud Map name and the `Service` tag
    code: str  # short form for names AWS limits to 32 characters (target groups)
    container_port: int
    health_path: str
    load_balancer: str  # PUBLIC or INTERNAL
    production_port: int  # the production listener's port on its ALB
    test_port: int  # the CodeDeploy test listener's port on the same ALB
    smoke: SmokeRequest  # what a release's smoke test asks the green tasks
    downstream: tuple[str, ...] = ()  # services it calls, by name
    secrets: Mapping[str, str] = field(default_factory=dict)  # env var -> SecretPurposes value

    @property
    def database_client(self) -> bool:
        """It reads the database connection secret, so it opens a pool of database connections."""
        return SecretPurposes.DATABASE_CONNECTION in self.secrets.values()

    @property
    def third_party_client(self) -> bool:
        """It holds a third party's API key, so it calls that party's host: under complianceProfile pci
        only through the egress proxy (shared/container_settings.py, `proxy_environment`)."""
        return any(purpose in SecretPurposes.THIRD_PARTY for purpose in self.secrets.values())

    @property
    def internal(self) -> bool:
        """Behind the internal ALB and named in Cloud Map; never reachable from the internet."""
        return self.load_balancer == INTERNAL

    def downstream_url_env(self, service: str) -> str:
        """The env var holding a downstream service's base URL, e.g. PAYMENT_PROCESSOR_URL."""
        return service.upper().replace("-", "_") + "_URL"

    def smoke_endpoint(self, base_url: str, verify_hostname: bool = True) -> dict[str, object]:
        """This service's entry in the smoke-test hook's TEST_ENDPOINTS (functions/release_hooks)."""
        return {
            "service": self.name,
            "baseUrl": base_url,
            "healthPath": self.health_path,
            "request": self.smoke.as_json(),
            "verifyHostname": verify_hostname,
        }

    def health_probe(self) -> tuple[str, ...]:
        """The container health check: an exec-form command whose program ships in every image.

        Slim Python images have no curl or wget; the probe is a module of the apps package instead.
        """
        url = f"http://127.0.0.1:{self.container_port}{self.health_path}"
        return ("CMD", "python", "-m", HEALTH_PROBE_MODULE, url)


API_GATEWAY = ServiceSpec(
    name="api-gateway",
    code="api",
    container_port=8080,
    health_path="/health",
    load_balancer=PUBLIC,
    production_port=80,
    test_port=8080,
    downstream=("payment-processor",),
    smoke=_REFUSED_PAYMENT,
)
PAYMENT_PROCESSOR = ServiceSpec(
    name="payment-processor",
    code="pay",
    container_port=8080,
    health_path="/health",
    load_balancer=INTERNAL,
    production_port=8081,
    test_port=9081,
    downstream=("fraud-detector",),
    smoke=_REFUSED_PAYMENT,
    secrets=MappingProxyType(
        {
            "DATABASE_CONNECTION": SecretPurposes.DATABASE_CONNECTION,
            "PAYMENT_PROVIDER_API_KEY": SecretPurposes.PAYMENT_PROVIDER_API_KEY,
        }
    ),
)
FRAUD_DETECTOR = ServiceSpec(
    name="fraud-detector",
    code="fraud",
    container_port=8080,
    health_path="/health",
    load_balancer=INTERNAL,
    production_port=8082,
    test_port=9082,
    smoke=_FRAUD_SCORE,
    secrets=MappingProxyType({"FRAUD_SCORING_API_KEY": SecretPurposes.FRAUD_SCORING_API_KEY}),
)
CATALOGUE: tuple[ServiceSpec, ...] = (API_GATEWAY, PAYMENT_PROCESSOR, FRAUD_DETECTOR)


def secret_arn_env(name: str) -> str:
    """`DATABASE_CONNECTION` -> `DATABASE_CONNECTION_SECRET_ARN`, where the task definition names it."""
    return name + SECRET_ARN_SUFFIX


def by_name(name: str, catalogue: Iterable[ServiceSpec] = CATALOGUE) -> ServiceSpec:
    """The spec of `name`, or a ConfigError listing the services that exist."""
    specs = {spec.name: spec for spec in catalogue}
    if name not in specs:
        raise ConfigError(
            "service", name, "is not in the service catalogue", f"use one of {', '.join(sorted(specs))}"
        )
    return specs[name]


def validate(catalogue: Iterable[ServiceSpec] = CATALOGUE) -> tuple[ServiceSpec, ...]:
    """Check the catalogue as a whole; every layer that reads it calls this first."""
    specs = tuple(catalogue)
    names = [s.name for s in specs]
    _unique("service", names)
    _unique("service code", [s.code for s in specs])
    for spec in specs:
        if spec.load_balancer not in (PUBLIC, INTERNAL):
            raise ConfigError(
                f"{spec.name}.load_balancer", spec.load_balancer, f"must be {PUBLIC} or {INTERNAL}"
            )
        for label, port in (("container", spec.container_port), ("production", spec.production_port),
                            ("test", spec.test_port)):  # fmt: skip
            if not 1 <= port <= 65535:
                raise ConfigError(f"{spec.name}.{label}_port", port, "must be 1-65535")
        if not spec.health_path.startswith("/"):
            raise ConfigError(f"{spec.name}.health_path", spec.health_path, "must start with /")
        for downstream in spec.downstream:
            if downstream not in names:
                raise ConfigError(
                    f"{spec.name}.downstream", downstream, "is not in the service catalogue",
                    f"use one of {', '.join(names)}",
                )  # fmt: skip
        for env, purpose in spec.secrets.items():
            if purpose not in SecretPurposes.ALL:
                raise ConfigError(f"{spec.name}.secrets.{env}", purpose, "is not a platform secret purpose")
    for balancer in (PUBLIC, INTERNAL):
        ports = [p for s in specs if s.load_balancer == balancer for p in (s.production_port, s.test_port)]
        _unique(f"{balancer} listener port", [str(p) for p in ports])
    return specs


def _unique(what: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ConfigError(what, value, "must be unique in the service catalogue")
        seen.add(value)
