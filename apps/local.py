"""Run the three services on localhost with the same env contract as in AWS.

`payments-local` (or `python3 dev.py local`) starts fraud-detector, payment-processor and api-gateway
as separate processes, after PostgreSQL and an emulated Secrets Manager (`apps.local_backing`). Each
gets the env its task definition gives it: the callee URLs point at loopback ports instead of Cloud
Map names, and each secret is named by the ARN of its local copy (read at run time). Each
listens on 127.0.0.1 only. It prints the gateway URL and runs until it gets SIGINT (Ctrl-C),
SIGTERM or SIGHUP: then it stops each service gracefully (SIGTERM, callers first, so their in-flight
requests still find their callees) and exits 0 only once every one has exited. The services run in
their own process group, so a terminal's Ctrl-C reaches them once, through the runner. A port in
use is refused before anything starts (exit 2), naming `--base-port`; a service that dies is an
error (exit 1). The tests and the load benchmark use the same `LocalStack`.
"""

from __future__ import annotations

import argparse
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

from apps.local_backing import LocalBacking, running_backing
from shared.catalogue import CATALOGUE, PORT_ENV, SERVICE_NAME_ENV, ServiceSpec, by_name

MODULES = {spec.name: "apps." + spec.name.replace("-", "_") for spec in CATALOGUE}
START_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 25.0  # above the services' own 20 s drain (apps.common.serve)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopRequestedError(Exception):
    """The runner got one of STOP_SIGNALS."""


class PortInUseError(RuntimeError):
    """A port the stack needs is taken, typically by an earlier run still listening."""


def ports_in_use(ports: Mapping[str, int]) -> dict[str, int]:
    """The services whose port on 127.0.0.1 something else already listens on."""
    taken = {}
    for service, port in ports.items():
        with socket.socket() as probe:
            # As uvicorn binds: connections of an earlier run in TIME_WAIT do not block the port.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                taken[service] = port
    return taken


def refuse_ports_in_use(ports: Mapping[str, int]) -> None:
    taken = ports_in_use(ports)
    if taken:
        listed = ", ".join(f"{port} ({name})" for name, port in taken.items())
        raise PortInUseError(
            f"port {listed} is already in use on 127.0.0.1: stop what listens there "
            "(an earlier run?) or choose other ports with --base-port"
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def service_env(spec: ServiceSpec, ports: Mapping[str, int], extra: Mapping[str, str] = {}) -> dict[str, str]:
    """The task definition's env for `spec`, with loopback addresses for the callees (secrets: see
    `LocalBacking.service_env`)."""
    env = {PORT_ENV: str(ports[spec.name]), SERVICE_NAME_ENV: spec.name}
    for callee in spec.downstream:
        env[spec.downstream_url_env(callee)] = f"http://127.0.0.1:{ports[callee]}"
    return {**env, **extra}


@dataclass
class LocalStack:
    """The three services as child processes, on loopback."""

    ports: dict[str, int]
    backing: LocalBacking | None = None  # PostgreSQL and Secrets Manager for the services with secrets
    extra_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # service -> env
    skip: frozenset[str] = frozenset()  # services not started (tests replace them with fakes)
    quiet: bool = True
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self) -> None:
        refuse_ports_in_use({name: port for name, port in self.ports.items() if name not in self.skip})
        # Callees first, so a caller's first request finds them up.
        for spec in reversed(CATALOGUE):
            if spec.name not in self.skip:
                self._spawn(spec)
        for name in self.processes:
            self.wait_healthy(name)

    def restart(self, service: str) -> None:
        """Start `service` again after it died or was killed (the fault tests' recovery)."""
        old = self.processes.pop(service)
        if old.poll() is None:
            raise RuntimeError(f"{service} is still running (pid {old.pid})")
        self._spawn(by_name(service))
        self.wait_healthy(service)

    def _spawn(self, spec: ServiceSpec) -> None:
        backing = self.backing.service_env(spec) if self.backing else {}
        env = {**os.environ, **backing, **service_env(spec, self.ports, self.extra_env.get(spec.name, {}))}
        output = subprocess.DEVNULL if self.quiet else None
        self.processes[spec.name] = subprocess.Popen(
            [sys.executable, "-m", MODULES[spec.name]],
            env=env,
            stdout=output,
            stderr=output,
            process_group=0,  # signals reach a service only through the runner
        )

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
        """SIGTERM (uvicorn drains, then exits), callers first; SIGKILL whatever outlives the timeout."""
        names = [service] if service else [s.name for s in CATALOGUE if s.name in self.processes]
        for name in names:
            process = self.processes.pop(name)
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


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
    ports = default_ports(args.base_port)

    def request_stop(signum: int, frame: FrameType | None) -> None:
        for each in STOP_SIGNALS:  # one stop at a time: further signals must not cut it short
            signal.signal(each, signal.SIG_IGN)
        raise StopRequestedError(signal.Signals(signum).name)

    for each in STOP_SIGNALS:
        signal.signal(each, request_stop)
    try:
        refuse_ports_in_use(ports)  # before PostgreSQL starts, so a taken port is refused at once
        with running_backing() as backing, running(LocalStack(ports, backing, quiet=False)) as stack:
            gateway = stack.url("api-gateway")
            print(f"\napi-gateway: {gateway}  (Ctrl-C stops all three)")
            print(
                f"try: curl -s -X POST {gateway}/payments -H 'Idempotency-Key: order-0001' "
                """-H 'Content-Type: application/json' """
                """-d '{"amount": "12.50", "currency": "USD", "card_token": "tok_4242424242424242"}'\n""",
                flush=True,
            )
            while True:
                dead = {name: p.returncode for name, p in stack.processes.items() if p.poll() is not None}
                if dead:
                    raise RuntimeError(f"stopped: {dead} exited; see its log above")
                time.sleep(0.2)
    except StopRequestedError as stop:
        print(f"{stop}: stopping... all three stopped", flush=True)
        return 0
    except PortInUseError as taken:
        print(f"error: {taken}", file=sys.stderr)
        return 2
    except (RuntimeError, TimeoutError) as failed:
        print(f"error: {failed}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
