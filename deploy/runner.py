"""Runs preview / up / destroy / outputs over the layers in order, and summarises each layer at the end.

`up` and `preview` go network -> platform -> services, `destroy` the other way. With `layer`, only that
layer runs, and only if its upstream stacks exist. Each layer's Pulumi output streams live. Some checks
can only run between layers (an upstream exists once the layer below it is up; a downstream is empty
once the layer above it is destroyed), so they run just before each layer. The first layer that fails
or is refused stops the run, since every later layer builds on it or on what it protects.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from deploy import task_definitions
from deploy.backend import Backend, OperationError, StackMissingError, StackOutput
from deploy.cloudtrail_check import cloudtrail_warning, stack_is_pci
from deploy.preflight import (
    AwsIdentity,
    PreflightError,
    StackSettings,
    check_aws,
    check_cli,
    check_login,
    check_no_downstream_resources,
    check_secrets_provider,
    check_stack_config,
    check_stack_configs,
    check_upstreams,
)
from deploy.stack_setup import set_credentials
from deploy.stacks import Command, layer_order, layer_stack

SUCCEEDED, FAILED, REFUSED, SKIPPED, NOT_RUN = "succeeded", "failed", "refused", "skipped", "not run"
Out = Callable[[str], None]


@dataclass
class LayerResult:
    layer: str
    stack: str  # fully qualified
    status: str
    seconds: float = 0.0
    detail: str = ""
    changes: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, StackOutput] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    """What preflight established, for every layer of the run."""

    command: Command
    stack: str
    organization: str
    targeted: bool  # one layer named with --layer
    remove_stacks: bool


class Deployer:
    def __init__(
        self,
        backend: Backend,
        *,
        out: Out = print,
        aws_check: Callable[[str], AwsIdentity] = check_aws,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        trail_check: Callable[[str], str | None] = cloudtrail_warning,
    ) -> None:
        self._backend = backend
        self._out = out
        self._aws_check = aws_check
        self._trail_check = trail_check
        self._env = env
        self._clock = clock

    def preflight(self, command: Command, stack: str, layers: tuple[str, ...]) -> str:
        """Every check that can run before the first layer; returns the organization stacks live in."""
        version = check_cli(self._backend)
        identity = check_login(self._backend)
        organization = self._backend.default_organization(identity)
        self._out(f"pulumi {version}, logged in to {identity.url or 'Pulumi Cloud'} as {identity.user}")
        if command == "outputs":
            return organization
        settings: list[StackSettings]
        if command == "destroy":
            # Destroy reads the state, not the program: a config that no longer validates must not
            # stand between a user and deleting their resources.
            settings = [check_stack_config(layer, stack, validate=False) for layer in layers]
        else:
            settings = check_stack_configs(layers, stack)
        check_secrets_provider(identity, settings, self._env)
        aws = self._aws_check(settings[0].region)
        self._out(f"AWS account {aws.account} as {aws.arn}, region {settings[0].region}")
        if command in ("preview", "up") and stack_is_pci(stack, layers):
            warning = self._trail_check(settings[0].region)
            if warning is not None:
                self._out(f"warning: {warning}")
        return organization

    def run(
        self,
        command: Command,
        stack: str,
        layer: str | None = None,
        *,
        remove_stacks: bool = False,
        confirm: Callable[[], bool] = lambda: True,
    ) -> list[LayerResult]:
        """Raises PreflightError (nothing changed) or returns one result per layer, in run order.

        `confirm` is asked only once every check has passed, so nobody types a stack name for a run
        that preflight would refuse anyway; a "no" is a refusal too.
        """
        layers = layer_order(command, layer)
        organization = self.preflight(command, stack, layers)
        context = Context(command, stack, organization, layer is not None, remove_stacks)
        if context.targeted and command in ("preview", "up"):
            check_upstreams(self._backend, layers[0], stack, organization)
        if context.targeted and command == "destroy":
            check_no_downstream_resources(self._backend, layers[0], stack, organization)
        if not confirm():
            raise PreflightError("pass --yes, or run it in a terminal and type the stack name")
        results: list[LayerResult] = []
        for name in layers:
            stopped_by = next((r for r in results if r.status in (FAILED, REFUSED)), None)
            full = layer_stack(name, stack, organization).full
            if stopped_by is not None:
                results.append(
                    LayerResult(name, full, NOT_RUN, detail=f"{stopped_by.layer} {stopped_by.status}")
                )
                continue
            self._out(f"\n==> {command} {name} ({full})")
            started = self._clock()
            result = self._run_layer(context, name, full)
            result.seconds = self._clock() - started
            self._out(f"<== {name}: {result.status} in {result.seconds:.0f} s {result.detail}".rstrip())
            results.append(result)
        self._out(summary(command, stack, results))
        return results

    def _run_layer(self, context: Context, name: str, full: str) -> LayerResult:
        try:
            if context.command == "destroy":
                return self._destroy(context, name, full)
            if context.command == "outputs":
                selected = self._backend.open_stack(name, context.stack, create=False)
                return LayerResult(name, full, SUCCEEDED, outputs=selected.outputs())
            if not context.targeted:
                check_upstreams(self._backend, name, context.stack, context.organization)
            if context.command == "preview":
                selected = self._backend.open_stack(name, context.stack, create=False)
                return LayerResult(name, full, SUCCEEDED, changes=selected.preview(self._out))
            selected = self._backend.open_stack(name, context.stack, create=True)
            stored = set_credentials(name, context.stack, selected, self._env)
            if stored:
                self._out(f"stored as Pulumi secrets: {', '.join(stored)}")
            return LayerResult(name, full, SUCCEEDED, outputs=selected.up(self._out))
        except PreflightError as error:
            if context.command == "preview":
                # Preview cannot read outputs a stack does not have yet; that is not a failure.
                return LayerResult(name, full, SKIPPED, detail=str(error))
            return LayerResult(name, full, REFUSED, detail=str(error))
        except StackMissingError:
            fix = f"create it with `python3 dev.py init -- {context.stack} --suffix <suffix>`"
            return LayerResult(name, full, SKIPPED, detail=f"no such stack yet; {fix}")
        except OperationError as error:
            return LayerResult(name, full, FAILED, detail=str(error))

    def _destroy(self, context: Context, name: str, full: str) -> LayerResult:
        if not context.targeted:
            check_no_downstream_resources(self._backend, name, context.stack, context.organization)
        if self._backend.resource_count(layer_stack(name, context.stack, context.organization)) is None:
            return LayerResult(name, full, SKIPPED, detail="no such stack: nothing to destroy")
        selected = self._backend.open_stack(name, context.stack, create=False)
        selected.destroy(self._out, context.remove_stacks)
        detail = "stack removed" if context.remove_stacks else ""
        if name == "services":
            # Releases registered revisions Pulumi never knew; with the services gone, none is in use.
            settings = check_stack_config(name, context.stack, validate=False)
            try:
                removal = task_definitions.remove_release_revisions(
                    settings.region, settings.suffix, self._out
                )
            except (BotoCoreError, ClientError) as error:
                return LayerResult(
                    name,
                    full,
                    FAILED,
                    detail=f"destroyed, but its task definitions remain ({error}); run destroy again",
                )
            if removal.failures:
                return LayerResult(name, full, FAILED, detail=f"task definitions left: {removal.failures}")
        return LayerResult(name, full, SUCCEEDED, detail=detail)


def _shown(value: Any, width: int = 100) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= width else text[: width - 3] + "..."


def summary(command: str, stack: str, results: list[LayerResult]) -> str:
    """What each layer did, then its outputs (secrets shown as [secret])."""
    lines = [f"\nsummary: {command} {stack}"]
    for result in results:
        changes = " ".join(f"{op}={count}" for op, count in sorted(result.changes.items()))
        lines.append(f"  {result.layer:<9} {result.status:<10} {result.seconds:6.0f} s  {changes}".rstrip())
        if result.detail and result.status != SUCCEEDED:
            lines.append(f"            {result.detail}")
        for name, output in sorted(result.outputs.items()):
            lines.append(f"            {name:<30} {_shown(output.shown())}")
    return "\n".join(lines)


def exit_code(results: list[LayerResult]) -> int:
    """0 every layer succeeded or had nothing to do; 2 refused (nothing of it changed); 1 failed."""
    statuses = {r.status for r in results}
    if FAILED in statuses:
        return 1
    return 2 if REFUSED in statuses else 0
