"""Run the three services on localhost with the same env contract as in AWS.

`payments-local` (or `python3 dev.py local`) starts fraud-detector, payment-processor and api-gateway
as separate processes. Each gets the env its task definition gives it: the callee URLs point at
loopback ports instead of Cloud Map names, and the secrets hold local placeholder values. It prints
the gateway URL and stops everything cleanly on Ctrl-C. The tests and the load benchmark use the
same `LocalStack`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

from shared.catalogue import CATALOGUE, PORT_ENV, SERVICE_NAME_ENV, ServiceSpec
from shared.secret_purposes import SecretPurposes

# Local stand-ins for the platform's secrets, by purpose: not credentials for anything real.
LOCAL_SECRETS = {
    SecretPurposes.DATABASE_CONNECTION: json.dumps(
        {
            "engine": "postgres",
            "host": "127.0.0.1",
            "port": 5432,
            "username": "payments_app",
            "password": "local-only",
            "dbname": "payments",
        }
    ),
    SecretPurposes.PAYMENT_PROVIDER_API_KEY: "local-payment-provider-key",
    SecretPurposes.FRAUD_SCORING_API_KEY: "local-fraud-scoring-key",
}
MODULES = {spec.name: "apps." + spec.name.replace("-", "_") for spec in CATALOGUE}
START_TIMEOUT_SECONDS = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def service_env(spec: ServiceSpec, ports: Mapping[str, int], extra: Mapping[str, str] = {}) -> dict[str, str]:
    """The task definition's env for `spec`, with loopback addresses for the callees."""
    env = {PORT_ENV: str(ports[spec.name]), SERVICE_NAME_ENV: spec.name}
    for callee in spec.downstream:
        env[spec.downstream_url_env(callee)] = f"http://127.0.0.1:{ports[callee]}"
    for name, purpose in spec.secrets.items():
        env[name] = LOCAL_SECRETS[purpose]
    return {**env, **extra}


@dataclass
class LocalStack:
    """The three services as child processes, on loopback."""

    ports: dict[str, int]
    extra_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # service -> env
    skip: frozenset[str] = frozenset()  # services not started (tests replace them with fakes)
    quiet: bool = True
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self) -> None:
        # Callees first, so a caller's first request finds them up.
        for spec in reversed(CATALOGUE):
            if spec.name in self.skip:
                continue
            env = {**os.environ, **service_env(spec, self.ports, self.extra_env.get(spec.name, {}))}
            output = subprocess.DEVNULL if self.quiet else None
            self.processes[spec.name] = subprocess.Popen(
                [sys.executable, "-m", MODULES[spec.name]], env=env, stdout=output, stderr=output
            )
        for name in self.processes:
            self.wait_healthy(name)

    def wait_healthy(self, service: str) -> None:
        spec = next(s for s in CATALOGUE if s.name == service)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            process = self.processes[service]
            if process.poll() is not None:
                raise RuntimeError(f"{service} exited with {process.returncode} while starting")
            try:
                with urllib.request.urlopen(f"{self.url(service)}{spec.health_path}", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        raise TimeoutError(f"{service} was not healthy within {START_TIMEOUT_SECONDS:.0f}s")

    def stop(self, service: str | None = None) -> None:
        names = [service] if service else list(self.processes)
        for name in names:
            self.processes[name].send_signal(signal.SIGTERM)  # uvicorn drains, then exits
        for name in names:
            try:
                self.processes[name].wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.processes[name].kill()
                self.processes[name].wait()
            del self.processes[name]


@contextmanager
def running(stack: LocalStack) -> Iterator[LocalStack]:
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def default_ports(base: int) -> dict[str, int]:
    return {spec.name: base + index for index, spec in enumerate(CATALOGUE)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-port", type=int, default=8080, help="api-gateway's port; the others follow")
    args = parser.parse_args(argv)
    stack = LocalStack(default_ports(args.base_port), quiet=False)
    stopping = False

    def interrupt(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, interrupt)
    with running(stack):
        gateway = stack.url("api-gateway")
        print(f"\napi-gateway: {gateway}  (Ctrl-C stops all three)")
        print(
            f"try: curl -s -X POST {gateway}/payments -H 'Idempotency-Key: order-0001' "
            """-H 'Content-Type: application/json' """
            """-d '{"amount": "12.50", "currency": "USD", "card_token": "tok_4242424242424242"}'\n""",
            flush=True,
        )
        try:
            while not stopping and all(p.poll() is None for p in stack.processes.values()):
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        print("stopping...", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
