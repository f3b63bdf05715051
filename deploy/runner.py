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
from deploy.account import AccountScope, check_account
from deploy.backend import Backend, OperationError, StackMissingError, StackOutput
from deploy.cloudtrail_check import cloudtrail_warning, stack_is_pci
from deploy.preflight import (
    AwsIdentity,
    PreflightError,
    Problems,
    check_aws,
    check_cli,
    check_layers_agree,
    check_login,
    check_no_downstream_resources,
    check_secrets_provider,
    check_stack_config,
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
        account_check: Callable[[AccountScope], list[str]] = check_account,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        trail_check: Callable[[str], str | None] = cloudtrail_warning,
    ) -> None:
        self._backend = backend
        self._out = out
        self._aws_check = aws_check
        self._account_check = account_check
        self._trail_check = trail_check
        self._env = env
        self._clock = clock

    def preflight(self, command: Command, stack: str, layers: tuple[str, ...], targeted: bool = False) -> str:
        """Every check that can run before the first layer, all of them: raises one PreflightError that
        lists every problem found, or returns the organization the stacks live in.

        A check that needs what another established (the login, the stack files, the credentials) is
        left out when that one failed; its own problem is already listed.
        """
        problems = Problems()
        version = problems.run(check_cli, self._backend)
        identity = problems.run(check_login, self._backend) if version else None
        organization = self._backend.default_organization(identity) if identity else None
        if identity is not None:
            self._out(f"pulumi {version}, logged in to {identity.url or 'Pulumi Cloud'} as {identity.user}")
        if command == "outputs":
            problems.raise_if_any()
            assert organization is not None
            return organization
        # Destroy reads the state, not the program: a config that no longer validates must not stand
        # between a user and deleting their resources.
        validate = command != "destroy"
        read = [problems.run(check_stack_config, layer, stack, validate=validate) for layer in layers]
        settings = [s for s in read if s is not None]
        if validate and len(settings) == len(layers):
            problems.run(check_layers_agree, settings, stack)
        if identity is not None and settings:
            problems.run(check_secrets_provider, identity, settings, self._env)
        if organization is not None and targeted and command in ("preview", "up"):
            problems.run(check_upstreams, self._backend, layers[0], stack, organization)
        if organization is not None and targeted and command == "destroy":
            problems.run(check_no_downstream_resources, self._backend, layers[0], stack, organization)
        if settings:
            region = settings[0].region
            aws = problems.run(self._aws_check, region)
            if aws is not None:
                self._out(f"AWS account {aws.account} as {aws.arn}, region {region}")
                scope = AccountScope(
                    command,
                    layers,
                    region,
                    settings[0].suffix,
                    tuple(s.config for s in settings if s.config is not None),
                    self._out,
                )
                problems.found += self._account_check(scope)
                if command in ("preview", "up") and stack_is_pci(stack, layers):
                    warning = self._trail_check(region)  # PCI DSS 10.2: a warning, the account's job
                    if warning is not None:
                        self._out(f"warning: {warning}")
        problems.raise_if_any()
        assert organization is not None
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
        organization = self.preflight(command, stack, layers, targeted=layer is not None)
        context = Context(command, stack, organization, layer is not None, remove_stacks)
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
