"""Run the platform's local stand-ins and the three services on localhost, with the AWS env contract.

`python3 dev.py local` (or `payments-local`) first starts the local platform
(`localrun.local_platform`): Debian's PostgreSQL with TLS and a CA made for the run, moto's Secrets
Manager holding the platform's secrets as the platform layer shapes them, the database roles made
by the real rotation function's `bootstrapDatabase`, and a fake key API per third-party API key.
Then fraud-detector, payment-processor and api-gateway start as separate processes, each with the
env its task definition gives it: callee URLs on loopback ports instead of Cloud Map names,
`<ENV>_SECRET_ARN` for each secret (read at run time), Secrets Manager's endpoint through the AWS
SDK's own setting, and `DATABASE_TLS=verify-full` against the run's CA. Everything listens on
127.0.0.1 only. `kill -USR1 <runner pid>` rotates the database connection secret with the real
rotation function while everything runs.

It runs until it gets SIGINT (Ctrl-C), SIGTERM or SIGHUP: then it stops each service gracefully
(SIGTERM, callers first, so their in-flight requests still find their callees), then the platform,
and exits 0 once everything has stopped and its temporary directory is gone. The services run in
their own process group, so a terminal's Ctrl-C reaches them once, through the runner. Refused
before anything starts (exit 2): a `--base-port` outside 1024-65533 (the services take it and the
next two ports), a port in use (naming `--base-port`), PostgreSQL's binaries missing (naming the
install command). A service that dies is an error (exit 1). The tests and the
benchmarks use the same `LocalStack`.
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
from typing import TYPE_CHECKING, Protocol

from localrun.local_postgres import PostgresNotInstalledError

if TYPE_CHECKING:
    from localrun.local_platform import LocalPlatform
from shared.catalogue import CATALOGUE, PORT_ENV, SERVICE_NAME_ENV, ServiceSpec, by_name

MODULES = {spec.name: "apps." + spec.name.replace("-", "_") for spec in CATALOGUE}
START_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 25.0  # above the services' own 20 s drain (apps.common.serve)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
ROTATE_SIGNAL = signal.SIGUSR1


class Backing(Protocol):
    """What the services need besides each other (`localrun.local_platform.LocalPlatform`, test doubles)."""

    def service_env(self, spec: ServiceSpec) -> dict[str, str]: ...


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
    `Backing.service_env`)."""
    env = {PORT_ENV: str(ports[spec.name]), SERVICE_NAME_ENV: spec.name}
    for callee in spec.downstream:
        env[spec.downstream_url_env(callee)] = f"http://127.0.0.1:{ports[callee]}"
    return {**env, **extra}


@dataclass
class LocalStack:
    """The three services as child processes, on loopback."""

    ports: dict[str, int]
    backing: Backing | None = None  # PostgreSQL and Secrets Manager for the services with secrets
    extra_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # service -> env
    skip: frozenset[str] = frozenset()  # services not started (tests replace them with fakes)
    quiet: bool = True
    # A command run in front of a service's own (a profiler: `localrun.instruction_counts`), and how
    # long a service may take to become healthy (longer under one).
    wrappers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    start_timeout_seconds: float = START_TIMEOUT_SECONDS
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
            [*self.wrappers.get(spec.name, ()), sys.executable, "-m", MODULES[spec.name]],
            env=env,
            stdout=output,
            stderr=output,
            process_group=0,  # signals reach a service only through the runner
        )

    def wait_healthy(self, service: str) -> None:
        spec = next(s for s in CATALOGUE if s.name == service)
        deadline = time.monotonic() + self.start_timeout_seconds
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
        raise TimeoutError(f"{service} was not healthy within {self.start_timeout_seconds:.0f}s")

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


# --base-port is api-gateway's port and the other services take the ports after it, so the highest
# base leaves room for them below 65535. Ports below 1024 are privileged (binding one needs root), and
# 0 would mean "any free port" to the kernel, which the callers' URLs could not name.
LOWEST_BASE_PORT = 1024
HIGHEST_BASE_PORT = 65535 - (len(CATALOGUE) - 1)


def base_port(text: str) -> int:
    """`--base-port`, checked before anything starts (argparse then exits 2 with this message)."""
    others = " and ".join(spec.name for spec in CATALOGUE[1:])
    rule = (
        f"must be a whole number from {LOWEST_BASE_PORT} to {HIGHEST_BASE_PORT} "
        f"({CATALOGUE[0].name}'s port; {others} take the next {len(CATALOGUE) - 1})"
    )
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{rule}, got {text!r}") from None
    if not LOWEST_BASE_PORT <= port <= HIGHEST_BASE_PORT:
        raise argparse.ArgumentTypeError(f"{rule}, got {port}")
    return port


def main(argv: list[str] | None = None) -> int:
    from localrun.local_platform import running_platform  # moto and psycopg load only for a local run

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base-port",
        type=base_port,
        default=8080,
        help=f"api-gateway's port, {LOWEST_BASE_PORT}-{HIGHEST_BASE_PORT}; the others follow (default 8080)",
    )
    args = parser.parse_args(argv)
    ports = default_ports(args.base_port)
    rotations_requested: list[int] = []

    def request_stop(signum: int, frame: FrameType | None) -> None:
        for each in STOP_SIGNALS:  # one stop at a time: further signals must not cut it short
            signal.signal(each, signal.SIG_IGN)
        raise StopRequestedError(signal.Signals(signum).name)

    def request_rotation(signum: int, frame: FrameType | None) -> None:
        rotations_requested.append(signum)  # done by the main loop, never inside a signal handler

    for each in STOP_SIGNALS:
        signal.signal(each, request_stop)
    signal.signal(ROTATE_SIGNAL, request_rotation)
    try:
        refuse_ports_in_use(ports)  # before PostgreSQL starts, so a taken port is refused at once
        with running_platform() as platform, running(LocalStack(ports, platform, quiet=False)) as stack:
            print_banner(stack, platform)
            while True:
                dead = {name: p.returncode for name, p in stack.processes.items() if p.poll() is not None}
                if dead:
                    raise RuntimeError(f"stopped: {dead} exited; see its log above")
                if rotations_requested:
                    rotations_requested.clear()
                    platform.rotate()
                    print(
                        f"rotated the database connection secret: AWSCURRENT is now "
                        f"{platform.connection()['username']}",
                        flush=True,
                    )
                time.sleep(0.2)
    except StopRequestedError as stop:
        print(f"{stop}: stopping... all stopped", flush=True)
        return 0
    except (PortInUseError, PostgresNotInstalledError) as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 2
    except (RuntimeError, TimeoutError) as failed:
        print(f"error: {failed}", file=sys.stderr)
        return 1


def print_banner(stack: LocalStack, platform: LocalPlatform) -> None:
    gateway = stack.url("api-gateway")
    database = platform.postgres
    lines = [
        "",
        f"api-gateway: {gateway}  (Ctrl-C stops everything)",
        f"PostgreSQL: {database.host}:{database.port}, TLS only, CA {platform.ca_file}",
        f"Secrets Manager (moto): {platform.secrets_manager.endpoint}",
        *(f"  {purpose}: {arn}" for purpose, arn in platform.secret_arns.items()),
        *(f"fake key API for {purpose}: {url}" for purpose, url in platform.provider_urls.items()),
        f"rotate the database secret: kill -USR1 {os.getpid()}",
        f"try: curl -s -X POST {gateway}/payments -H 'Idempotency-Key: order-0001' "
        """-H 'Content-Type: application/json' """
        """-d '{"amount": "12.50", "currency": "USD", "card_token": "tok_4242424242424242"}'""",
        "",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
