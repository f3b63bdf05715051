"""Evaluate a Pulumi program in-process, with no Pulumi CLI and no AWS account.

The program runs under `pulumi.runtime.set_mocks` on a thread of its own (fresh context variables and
event loop, so evaluations never leak into each other) with a `RecordingMonitor` that keeps every
resource registration including its resource options. The result is an `Evaluation`: every resource
with its resolved inputs, mocked state and options, and every export, fully resolved.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.mocks import set_mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from offline import fake_aws
from offline.host import ProgramRun, evaluate_program, raw_config
from offline.mocks import OfflineMocks, RecordedInvoke, RecordingMonitor, Registration
from shared import naming
from shared.naming import NameRequest

DEFAULT_TIMEOUT_SECONDS = 120.0
DEFAULT_ORGANIZATION = "organization"  # what a `pulumi login --local` backend calls the org

Program = Path | Callable[[], Any]


class OfflineTimeoutError(TimeoutError):
    """The program did not finish: an Output that never resolves, or a blocking apply."""


@dataclass(frozen=True)
class RecordedResource:
    """One resource the program registered: what it asked for and what the mocks answered."""

    urn: str
    type: str
    name: str
    id: str
    parent: str | None
    provider: str | None
    inputs: dict[str, Any]
    state: dict[str, Any]
    dependencies: tuple[str, ...]
    ignore_changes: tuple[str, ...]
    replace_on_changes: tuple[str, ...]
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool

    @property
    def is_component(self) -> bool:
        return not self.type.startswith(("aws:", "pulumi:providers:", "pulumi:pulumi:", "random:"))

    @property
    def provider_urn(self) -> str | None:
        """The provider reference is `<urn>::<id>`; this is its URN part."""
        return self.provider.rsplit("::", 1)[0] if self.provider else None


@dataclass(frozen=True)
class Evaluation:
    """Everything one offline run of a program produced."""

    project: str
    stack: str
    resources: tuple[RecordedResource, ...]
    exports: dict[str, Any]
    invokes: tuple[RecordedInvoke, ...]
    # What the program logged (pulumi.log), as (severity, message): `up` and preview print these.
    messages: tuple[tuple[str, str], ...] = ()
    # Every (kind, parts) a `shared.naming.Namer` was asked for: the naming property tests replay them.
    names: frozenset[NameRequest] = frozenset()

    @property
    def warnings(self) -> list[str]:
        return [message for severity, message in self.messages if severity == "WARNING"]

    def all(self, type_: str | None = None, *, parent: str | None = None) -> list[RecordedResource]:
        """Resources of `type_` (a full type token), optionally only the children of `parent`."""
        return [
            r
            for r in self.resources
            if (type_ is None or r.type == type_) and (parent is None or r.parent == parent)
        ]

    def one(self, type_: str, name: str | None = None) -> RecordedResource:
        """The single resource of `type_` (named `name`, if given); fails if there are 0 or 2+."""
        found = [r for r in self.all(type_) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.all(type_)]
            raise LookupError(f"expected one {type_} named {name!r}, found {len(found)} among {names}")
        return found[0]

    def by_urn(self, urn: str) -> RecordedResource:
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise LookupError(f"no resource with URN {urn}")

    def by_id(self, resource_id: str) -> RecordedResource:
        for resource in self.resources:
            if resource.id == resource_id:
                return resource
        raise LookupError(f"no resource with id {resource_id}")

    def aws_resources(self) -> Iterator[RecordedResource]:
        return (r for r in self.resources if r.type.startswith("aws:"))

    def types(self) -> dict[str, int]:
        """Resource counts by type token, sorted by token."""
        counts: dict[str, int] = {}
        for resource in self.resources:
            counts[resource.type] = counts.get(resource.type, 0) + 1
        return dict(sorted(counts.items()))


@dataclass
class _Outcome:
    evaluation: Evaluation | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


def evaluate(
    program: Program,
    *,
    project: str,
    stack: str = "dev",
    config: Mapping[str, Any] | None = None,
    secret_keys: Iterable[str] = (),
    upstream: Mapping[str, Mapping[str, Any]] | None = None,
    availability_zones: tuple[str, ...] = fake_aws.AVAILABILITY_ZONES,
    organization: str = DEFAULT_ORGANIZATION,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    live: Mapping[str, Mapping[str, Any]] | None = None,
) -> Evaluation:
    """Run `program` offline and return what it registered.

    A `Path` is a Pulumi project's program directory: it runs as Pulumi's language host runs it, in a
    fresh interpreter with that directory first on sys.path and as the working directory (see
    `offline.host`). A callable (a component test) runs in this process.

    `config` keys without a namespace belong to `project`; values that are not strings are stored the
    way the Pulumi CLI stores them (JSON); `secret_keys` are the keys set with `--secret`. `upstream`
    maps `org/project/stack` names to their outputs for `pulumi.StackReference`. An exception raised
    by the program is re-raised here as it was. `live` is the state of a stack that already exists
    ("type::name" -> what AWS reports), for a second `up` (see `offline.live`).
    """
    raw = raw_config(project, config or {})
    secrets = [key if ":" in key else f"{project}:{key}" for key in secret_keys]
    if isinstance(program, Path):
        if not (program / "__main__.py").is_file():
            raise FileNotFoundError(f"{program} is not a Pulumi program directory (no __main__.py in it)")
        run = ProgramRun(
            program,
            project,
            stack,
            organization,
            raw,
            secrets,
            upstream=dict(upstream or {}),
            availability_zones=availability_zones,
            live=dict(live or {}),
            timeout=timeout,
        )
        evaluation: Evaluation = evaluate_program(run)
        return evaluation
    mocks = OfflineMocks(
        upstream=dict(upstream or {}), availability_zones=availability_zones, live=dict(live or {})
    )
    return evaluate_in_process(
        program,
        project=project,
        stack=stack,
        raw_config=raw,
        secret_keys=secrets,
        mocks=mocks,
        organization=organization,
        timeout=timeout,
    )


def evaluate_in_process(
    body: Callable[[], Any],
    *,
    project: str,
    stack: str,
    raw_config: Mapping[str, str],
    secret_keys: Iterable[str],
    mocks: OfflineMocks,
    organization: str = DEFAULT_ORGANIZATION,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> Evaluation:
    """Run `body` under the mocks on a thread of its own in this process; what it registered."""
    outcome = _Outcome()
    config = dict(raw_config)
    secrets = list(secret_keys)

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        # Pulumi makes its RPC calls on the loop's default executor, and the mock monitor gives each
        # worker thread an event loop. Own those loops so they are closed here, not half-torn-down
        # by the garbage collector at interpreter exit ("Invalid file descriptor: -1").
        worker_loops: list[asyncio.AbstractEventLoop] = []

        def start_worker() -> None:
            worker_loop = asyncio.new_event_loop()
            asyncio.set_event_loop(worker_loop)
            worker_loops.append(worker_loop)

        executor = ThreadPoolExecutor(thread_name_prefix="offline-rpc", initializer=start_worker)
        loop.set_default_executor(executor)
        try:
            outcome.evaluation = _run(body, project, stack, organization, config, secrets, mocks)
        except BaseException as error:  # handed to the caller's thread, re-raised there
            outcome.error = error
        finally:
            outcome.done.set()
            executor.shutdown(wait=True)
            for worker_loop in worker_loops:
                worker_loop.close()
            loop.close()

    thread = threading.Thread(target=run, name=f"offline-{project}-{stack}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not outcome.done.wait(0.02):
        if mocks.failure is not None:
            # A mock raised inside the engine: the program would wait forever on that resource.
            outcome.error = mocks.failure
            break
        if time.monotonic() > deadline:
            raise OfflineTimeoutError(
                f"{project}/{stack} did not finish within {timeout:.0f}s: an Output that never "
                "resolves, or an apply that blocks"
            )
    if outcome.error is not None:
        outcome.error.add_note(f"(raised while evaluating {project}/{stack} offline)")
        raise outcome.error
    assert outcome.evaluation is not None
    return outcome.evaluation


def _run(
    body: Callable[[], Any],
    project: str,
    stack: str,
    organization: str,
    raw_config: dict[str, str],
    secret_keys: list[str],
    mocks: OfflineMocks,
) -> Evaluation:
    monitor = RecordingMonitor(mocks)
    messages = _MessageLog()
    set_mocks(
        mocks,
        project=project,
        stack=stack,
        preview=False,
        logger=messages.logger,
        monitor=monitor,
        organization=organization,
    )
    # Pending work is tracked in a set that outlives a failed evaluation unless replaced.
    runtime_settings.SETTINGS.outputs = set()
    runtime_settings.SETTINGS.lock = threading.Lock()
    set_all_config(raw_config, secret_keys)
    with naming.recording() as names:
        _sync_await(run_pulumi_func(body))
        root = runtime_settings.get_root_resource()
        outputs: dict[str, Any] = getattr(root, "outputs", {})
        exports = {name: _resolve(value) for name, value in outputs.items()}
    states = monitor.get_registered_resources()
    resources = tuple(_record(r, states) for r in monitor.registrations)
    return Evaluation(
        project, stack, resources, exports, tuple(mocks.invokes), tuple(messages.records), frozenset(names)
    )


class _MessageLog(logging.Handler):
    """The logger Pulumi's mock engine writes the program's pulumi.log calls to: kept, and still shown."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[str, str]] = []
        self.logger = logging.getLogger(f"offline.program.{id(self)}")
        self.logger.setLevel(logging.DEBUG)
        self.logger.addHandler(self)  # propagates on to the root logger, which prints warnings as before

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelname, record.getMessage()))


def _record(
    registration: Registration, states: Mapping[str, RecordingMonitor.ResourceRegistration]
) -> RecordedResource:
    state = states.get(registration.urn)
    return RecordedResource(
        urn=registration.urn,
        type=registration.type,
        name=registration.name,
        id=state.id if state else "",
        parent=registration.parent,
        provider=registration.provider,
        inputs=registration.inputs,
        state=dict(state.state) if state else {},
        dependencies=registration.dependencies,
        ignore_changes=registration.ignore_changes,
        replace_on_changes=registration.replace_on_changes,
        protect=registration.protect,
        retain_on_delete=registration.retain_on_delete,
        delete_before_replace=registration.delete_before_replace,
    )


def _resolve(value: Any) -> Any:
    return _sync_await(pulumi.Output.from_input(value).future())
