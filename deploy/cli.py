"""`payments-deploy <command> <stack> [--layer L]` (or `python3 dev.py <command> -- <stack> ...`).

    init <stack> --suffix S   create the stacks: config from Pulumi.dev.yaml, credentials as secrets
    preview <stack>           what `up` would change, layer by layer
    up <stack>                deploy network -> platform -> services
    destroy <stack> --yes     tear down services -> platform -> network
    outputs <stack>           each layer's outputs (secrets hidden)

`--policy-pack` runs the compliance policy pack (policy/) with preview and up, with the stack's own
suffix; a mandatory rule's violation fails the layer (exit 1), as in `pulumi preview --policy-pack`.

`--layer network|platform|services` runs one layer: up/preview only when its upstream stacks exist,
destroy only when no downstream stack still has resources. Credentials for init and up come from
PAYMENTS_DATABASE_PASSWORD, PAYMENTS_PAYMENT_PROVIDER_API_KEY and PAYMENTS_FRAUD_SCORING_API_KEY.

Exit codes: 0 done; 1 a Pulumi operation failed (its output says why); 2 refused before it changed
anything (the message says what to fix).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from deploy.account import AccountScope, check_account
from deploy.backend import AutomationBackend, Backend
from deploy.policy_pack import PolicyPackError, stack_policy_config
from deploy.preflight import (
    AwsIdentity,
    PreflightError,
    check_aws,
    check_cli,
    check_login,
    check_secrets_provider,
    check_stack_config,
)
from deploy.runner import Deployer, exit_code
from deploy.stack_setup import EXAMPLE_STACK, SetupError, set_credentials, write_stack_config
from deploy.stacks import COMMANDS, UnknownLayerError, layer_order
from offline.layer_projects import LAYER_ORDER

OK, FAILED, REFUSED = 0, 1, 2


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="payments-deploy", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("init", *COMMANDS))
    parser.add_argument("stack", help="the stack name in every layer, e.g. dev")
    parser.add_argument("--layer", choices=LAYER_ORDER, help="run one layer only")
    parser.add_argument("--yes", action="store_true", help="destroy without asking")
    parser.add_argument("--remove-stack", action="store_true", help="destroy: also remove the empty stacks")
    parser.add_argument("--json", action="store_true", help="outputs: print JSON (secrets hidden)")
    parser.add_argument("--suffix", help="init: environmentSuffix of a new stack (default: the stack name)")
    parser.add_argument("--example", default=EXAMPLE_STACK, help="init: stack config to copy (default dev)")
    parser.add_argument(
        "--policy-pack", action="store_true", help="preview/up: run the compliance policy pack (policy/)"
    )
    parser.add_argument(
        "--secrets-provider", help="init/up: e.g. awskms://alias/pulumi-secrets (default: the backend's)"
    )
    return parser.parse_args(argv)


def confirmed(stack: str, ask: Callable[[str], str], interactive: bool) -> bool:
    """A destroy needs --yes or the stack name typed back; a script without --yes is refused."""
    if not interactive:
        return False
    return ask(f"destroy every layer's resources of stack {stack!r}? type the stack name: ").strip() == stack


def init(backend: Backend, args: argparse.Namespace, out: Callable[[str], None]) -> int:
    suffix = args.suffix or args.stack
    layers = layer_order("up", args.layer)
    check_cli(backend)
    identity = check_login(backend)
    created = {layer: write_stack_config(layer, args.stack, suffix, args.example) for layer in layers}
    if not args.secrets_provider:
        settings = [check_stack_config(layer, args.stack, validate=False) for layer in layers]
        check_secrets_provider(identity, settings)
    for layer in layers:
        selected = backend.open_stack(layer, args.stack, create=True)
        stored = set_credentials(layer, args.stack, selected)
        state = "written from Pulumi." + args.example + ".yaml" if created[layer] else "kept"
        secrets = f"; secrets set: {', '.join(stored)}" if stored else ""
        out(f"{layer}: stack {args.stack} ready, stacks/{layer}/Pulumi.{args.stack}.yaml {state}{secrets}")
    out(f"next: python3 dev.py preview -- {args.stack}   then   python3 dev.py up -- {args.stack}")
    return OK


def refused(out: Callable[[str], None], command: str, problems: Sequence[str]) -> None:
    """One problem on one line; several as one numbered list, so one run shows everything to fix."""
    if len(problems) == 1:
        out(f"{command} refused: {problems[0]}")
        return
    out(f"{command} refused: {len(problems)} problems, nothing was changed:")
    for number, problem in enumerate(problems, 1):
        out(f"  {number}. {problem}")


def main(
    argv: Sequence[str] | None = None,
    backend: Backend | None = None,
    out: Callable[[str], None] = lambda line: print(line, flush=True),
    ask: Callable[[str], str] = input,
    interactive: bool | None = None,
    aws_check: Callable[[str], AwsIdentity] = check_aws,
    account_check: Callable[[AccountScope], list[str]] = check_account,
) -> int:
    args = parse(argv)
    chosen = backend or AutomationBackend(
        secrets_provider=args.secrets_provider, policy_pack=args.policy_pack
    )
    try:
        if args.policy_pack and args.command in ("preview", "up"):
            # Refused before any layer runs: the pack needs each stack's suffix.
            for layer in layer_order("up", args.layer):
                stack_policy_config(layer, args.stack)
        if args.command == "init":
            return init(chosen, args, out)
        interactive = sys.stdin.isatty() if interactive is None else interactive
        needs_confirmation = args.command == "destroy" and not args.yes
        as_json = args.command == "outputs" and args.json
        # With --json, stdout carries only the JSON, so it can be piped; progress goes to stderr.
        progress = (lambda line: print(line, file=sys.stderr, flush=True)) if as_json else out
        results = Deployer(chosen, out=progress, aws_check=aws_check, account_check=account_check).run(
            args.command,
            args.stack,
            args.layer,
            remove_stacks=args.remove_stack,
            confirm=lambda: not needs_confirmation or confirmed(args.stack, ask, bool(interactive)),
        )
    except PreflightError as error:
        refused(out, args.command, error.problems)
        return REFUSED
    except (SetupError, UnknownLayerError, PolicyPackError) as error:
        out(f"{args.command} refused: {error}")
        return REFUSED
    if as_json:
        shown = {r.layer: {k: v.shown() for k, v in r.outputs.items()} for r in results}
        out(json.dumps(shown, indent=2, default=str))
    return exit_code(results)


if __name__ == "__main__":
    sys.exit(main())
