"""The mock provider and the recording monitor behind the offline engine."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.sync_await import _ensure_event_loop

from offline import fake_aws
from offline.policy_document import render_policy_document

STACK_REFERENCE = "pulumi:pulumi:StackReference"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"


class RecordedInvoke(NamedTuple):
    """One data-source call: its token, its arguments and the provider reference it went through."""

    token: str
    args: dict[str, Any]
    provider: str  # "" when the call used the default provider


class OfflineInvokeError(RuntimeError):
    """A program called a function the offline engine does not answer."""


class UnknownStackReferenceError(RuntimeError):
    """A program read a stack whose outputs were not given to the offline engine."""


@dataclass
class OfflineMocks(Mocks):
    """Answers resource registrations and the invokes the layers use, like AWS would."""

    upstream: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    availability_zones: tuple[str, ...] = fake_aws.AVAILABILITY_ZONES
    invokes: list[RecordedInvoke] = field(default_factory=list)
    failure: Exception | None = None  # the first error a mock raised, for the engine to report
    # A stack that already exists: "type::name" -> the state AWS reports for that resource (what a
    # refresh reads). Keys the resource's `ignore_changes` names keep that state, as Pulumi keeps them.
    live: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    _options: threading.local = field(default_factory=threading.local)
    # Task definitions registered in this run, by ARN: what DescribeTaskDefinition would return.
    _task_definitions: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def registering(self, ignore_changes: tuple[str, ...]) -> None:
        """The options of the registration this thread is about to answer (set by the monitor)."""
        self._options.ignore_changes = ignore_changes

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.invokes.append(RecordedInvoke(args.token, dict(args.args), args.provider or ""))
        answer = self._answers().get(args.token)
        if answer is None:
            self._fail(
                OfflineInvokeError(
                    f"the offline engine does not answer invoke {args.token!r}; "
                    "add it to offline/mocks.py with a realistic result"
                )
            )
        assert answer is not None
        return answer(dict(args.args)), []

    def _fail(self, error: Exception) -> None:
        if self.failure is None:
            self.failure = error
        raise error

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = dict(args.inputs)
        if args.typ == STACK_REFERENCE:
            return self._stack_reference(str(inputs.get("name", args.name)))
        if args.typ.startswith("pulumi:providers:"):
            return f"{args.name}-provider-id", inputs
        mocked = fake_aws.mock_resource(args.typ, args.name, inputs)
        if args.typ == TASK_DEFINITION:
            self._task_definitions[str(mocked.state["arn"])] = mocked.state
        live = self.live.get(f"{args.typ}::{args.name}")
        if live is None:
            return mocked.id, mocked.state
        ignored = {path.split(".")[0].split("[")[0] for path in getattr(self._options, "ignore_changes", ())}
        kept = {key: live[key] for key in ignored if key in live}
        return mocked.id, {**mocked.state, **kept}

    def _stack_reference(self, name: str) -> tuple[str, dict[str, Any]]:
        if name not in self.upstream:
            known = ", ".join(sorted(self.upstream)) or "none"
            self._fail(
                UnknownStackReferenceError(
                    f"stack reference {name!r} has no outputs in the offline engine "
                    f"(known: {known}); evaluate the upstream layer first or pass its outputs"
                )
            )
        outputs = dict(self.upstream[name])
        return name, {"name": name, "outputs": outputs, "secretOutputNames": []}

    def _answers(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "aws:index/getAvailabilityZones:getAvailabilityZones": self._availability_zones,
            "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
            "aws:index/getRegion:getRegion": _region,
            "aws:index/getPartition:getPartition": _partition,
            "aws:iam/getPolicyDocument:getPolicyDocument": _policy_document,
            "aws:elb/getServiceAccount:getServiceAccount": _elb_service_account,
            "aws:ecs/getTaskDefinition:getTaskDefinition": self._task_definition,
        }

    def _task_definition(self, args: dict[str, Any]) -> dict[str, Any]:
        """DescribeTaskDefinition of a revision: one this run registered, or else one a release registered
        on a live stack, which is a copy of the stack's task definition as it was (offline.live)."""
        arn = str(args["taskDefinition"])
        state = self._task_definitions.get(arn)
        if state is None:
            family = arn.rsplit("/", 1)[-1].rsplit(":", 1)[0]
            state = next(
                (
                    s
                    for k, s in self.live.items()
                    if k.startswith(f"{TASK_DEFINITION}::") and s.get("family") == family
                ),
                None,
            )
        if state is None:
            self._fail(OfflineInvokeError(f"no task definition {arn} in this stack or its live state"))
        assert state is not None
        return fake_aws.described_task_definition(state, arn)

    def _availability_zones(self, args: dict[str, Any]) -> dict[str, Any]:
        zones = list(self.availability_zones)
        ids = list(fake_aws.AVAILABILITY_ZONE_IDS[: len(zones)])
        return {
            "id": fake_aws.REGION,
            "names": zones,
            "zoneIds": ids,
            "groupNames": [fake_aws.REGION] * len(zones),
            "state": args.get("state"),
        }


def _caller_identity(args: dict[str, Any]) -> dict[str, Any]:
    account = fake_aws.ACCOUNT_ID
    return {
        "id": account,
        "accountId": account,
        "arn": f"arn:aws:iam::{account}:user/offline-engine",
        "userId": "AIDAOFFLINEENGINE0000",
    }


def _elb_service_account(args: dict[str, Any]) -> dict[str, Any]:
    region = args.get("region") or fake_aws.REGION
    account = fake_aws.ELB_LOG_DELIVERY_ACCOUNTS[region]
    return {"id": account, "arn": f"arn:aws:iam::{account}:root", "region": region}


def _region(args: dict[str, Any]) -> dict[str, Any]:
    region = fake_aws.REGION
    return {
        "id": region,
        "name": region,
        "region": region,
        "endpoint": f"ec2.{region}.amazonaws.com",
        "description": "US East (N. Virginia)",
    }


def _partition(args: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "aws",
        "partition": "aws",
        "dnsSuffix": "amazonaws.com",
        "reverseDnsPrefix": "com.amazonaws",
    }


def _policy_document(args: dict[str, Any]) -> dict[str, Any]:
    rendered = render_policy_document(args)
    return {
        "id": fake_aws.digest(rendered, 10),
        "json": rendered,
        "minifiedJson": json.dumps(json.loads(rendered), separators=(",", ":")),
        **{k: v for k, v in args.items() if v is not None},
    }


@dataclass(frozen=True)
class Registration:
    """What a program asked the engine for, resource options included (the mocks never see them)."""

    urn: str
    type: str
    name: str
    parent: str | None
    provider: str | None
    custom: bool
    dependencies: tuple[str, ...]
    ignore_changes: tuple[str, ...]
    replace_on_changes: tuple[str, ...]
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    inputs: dict[str, Any]


class RecordingMonitor(MockMonitor):
    """A `MockMonitor` that also keeps each `RegisterResource` request's options."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self._lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        if isinstance(self.mocks, OfflineMocks):
            self.mocks.registering(tuple(request.ignoreChanges))
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self._record(response.urn, request, request.object, with_options=True)
        return response

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        """Reads (`StackReference`, `.get()`) are recorded like registrations, with no options."""
        response = super().ReadResource(request)  # type: ignore[no-untyped-call]
        self._record(response.urn, request, request.properties, with_options=False)
        return response

    def _record(self, urn: str, request: Any, properties: Any, *, with_options: bool) -> None:
        _ensure_event_loop()  # type: ignore[no-untyped-call]
        registration = Registration(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            provider=request.provider or None,
            custom=bool(request.custom) if with_options else True,
            dependencies=tuple(request.dependencies),
            ignore_changes=tuple(request.ignoreChanges) if with_options else (),
            replace_on_changes=tuple(request.replaceOnChanges) if with_options else (),
            protect=bool(request.protect) if with_options else False,
            retain_on_delete=bool(request.retainOnDelete) if with_options else False,
            delete_before_replace=bool(request.deleteBeforeReplace) if with_options else False,
            inputs=rpc.deserialize_properties(properties),
        )
        with self._lock:
            self.registrations.append(registration)
