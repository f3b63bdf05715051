"""`python3 dev.py plan`: evaluate the layers offline, in deploy order, and report what they would create.

    python -m planning.plan [--stack dev] [--suffix qa] [--config network:natGateways=perAz] [--out plan.json]
    python -m planning.plan --change --config services:fargateSpotWeight=2   # on a live, released stack

Exit codes: 0 every mandatory rule passes, 1 a mandatory rule fails (the plan is still printed and
written) or, with --change, AWS would refuse the change; 2 the configuration is refused.
With --terraform-plan FILE, every layer is also written as Terraform plan JSON for scanners.

No AWS account and no Pulumi CLI are needed: each layer runs under the offline engine with its example
stack config, and each layer's exports feed the next one's stack references.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi

from offline.engine import Evaluation
from offline.layer_projects import LAYER_ORDER, Layer, evaluate_all
from offline.live import after_release, second_up, state_of
from offline.secret_values import redact
from planning import cost, diagram, pricing, terraform_plan, timeline
from policy import security_hub
from policy.model import MANDATORY
from policy.offline_check import check, resources_of
from shared.config.keys import LAYER_KEYS
from shared.contracts import ServicesExports
from shared.errors import ConfigError
from shared.naming import SUFFIX_KEY, validate_suffix

RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
ECS_TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"


def available_layers() -> tuple[str, ...]:
    """The layers of LAYER_ORDER that exist in this checkout."""
    return tuple(name for name in LAYER_ORDER if Layer(name).program.exists())


class PlanRefusedError(Exception):
    """The plan's inputs disagree or are missing: nothing was evaluated (exit 2)."""


def parse_overrides(pairs: Sequence[str]) -> dict[str, dict[str, Any]]:
    """`layer:key=value` pairs into per-layer config; JSON lists and objects are decoded."""
    overrides: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        target, sep, raw = pair.partition("=")
        layer, colon, key = target.partition(":")
        if not sep or not colon or layer not in LAYER_ORDER or not key:
            close = difflib.get_close_matches(layer, LAYER_ORDER, n=1)
            hint = f" (did you mean {close[0]!r}?)" if colon and layer not in LAYER_ORDER and close else ""
            raise PlanRefusedError(
                f"--config {pair!r}: expected <layer>:<key>=<value> with layer one of "
                f"{', '.join(LAYER_ORDER)}, e.g. network:natGateways=perAz{hint}"
            )
        # Lists and objects are JSON; anything else stays the raw string the Pulumi CLI would store.
        value: Any = raw
        if raw.startswith(("[", "{")):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                raise PlanRefusedError(f"--config {pair!r}: the value is not valid JSON") from None
        overrides.setdefault(layer, {})[key] = value
    return overrides


def with_suffix(overrides: Sequence[str], suffix: str, layers: Sequence[str]) -> list[str]:
    """`--suffix` as one environmentSuffix override per layer; a different one given too is refused."""
    for pair in overrides:
        target, _, value = pair.partition("=")
        if target.endswith(f":{SUFFIX_KEY}") and value != suffix:
            raise PlanRefusedError(
                f"--suffix {suffix} and --config {pair} disagree: give the suffix once, with --suffix"
            )
    return [*overrides, *(f"{layer}:{SUFFIX_KEY}={suffix}" for layer in layers)]


def check_stacks_exist(stack: str, layers: Sequence[str]) -> None:
    """Every layer needs `Pulumi.<stack>.yaml`; name the known stacks and how to make one."""
    missing = [name for name in layers if stack not in Layer(name).known_stacks()]
    if not missing:
        return
    known = sorted(set.intersection(*(set(Layer(name).known_stacks()) for name in layers)))
    raise PlanRefusedError(
        f"no such stack {stack!r}: stacks/{missing[0]}/Pulumi.{stack}.yaml does not exist; "
        f"known: {', '.join(known) or 'none'}. Create it with "
        f"`python3 dev.py init -- {stack} --suffix <suffix>`, or plan an example stack under another "
        f"suffix: `python3 dev.py plan -- --stack dev --suffix {stack}`"
    )


def check_one_suffix(suffixes: Mapping[str, str]) -> None:
    """All layers of one environment end their names with the same, valid suffix. An invalid one is
    refused as invalid, naming its layer, before the suffixes are compared."""
    for layer, suffix in suffixes.items():
        try:
            validate_suffix(suffix)
        except ConfigError as error:
            error.layer = layer
            error.example = LAYER_KEYS["network"][SUFFIX_KEY].example_raw  # the same key in every layer
            raise
    if len(set(suffixes.values())) > 1:
        each = ", ".join(f"{layer}={suffix or '(unset)'}" for layer, suffix in suffixes.items())
        raise PlanRefusedError(
            f"the layers' environment suffixes differ ({each}); every layer of an environment needs "
            "the same one: pass --suffix <suffix> for all layers, or set environmentSuffix alike in "
            "each stack file"
        )


def policy_report(evaluation: Evaluation, suffix: str) -> list[dict[str, Any]]:
    """Every compliance rule over this layer's resources (the same functions as the policy pack)."""
    return [
        {
            "rule": result.rule.name,
            "source": result.rule.source,
            "enforcement": result.rule.enforcement,
            "passed": result.passed,
            "violations": list(result.violations),
        }
        for result in check([evaluation], suffix)
    ]


def layer_report(name: str, evaluation: Evaluation, seconds: float, suffix: str = "") -> dict[str, Any]:
    return {
        "layer": name,
        "project": evaluation.project,
        "stack": evaluation.stack,
        "seconds": round(seconds, 3),
        "resourceCounts": evaluation.types(),
        "exports": evaluation.exports,
        "servesPlaintextHttp": evaluation.exports.get(ServicesExports.SERVES_PLAINTEXT_HTTP),
        # What `pulumi preview` and `up` would print as the program's warnings.
        "warnings": evaluation.warnings,
        "databaseParameters": database_parameters(evaluation),
        "egressAllowlist": egress_allowlist(evaluation),
        "policy": policy_report(evaluation, suffix),
        "resources": [
            {
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                # Generated or configured credentials never reach the file.
                "inputs": _jsonable(redact(r.inputs)),
                "ignoreChanges": list(r.ignore_changes),
                "dependsOn": list(r.dependencies),
            }
            for r in evaluation.resources
        ],
    }


def database_parameters(evaluation: Evaluation) -> dict[str, str]:
    """The managed database's parameter group (TLS, and pgaudit under complianceProfile pci)."""
    return {
        str(p["name"]): str(p["value"])
        for group in evaluation.all(RDS_PARAMETER_GROUP)
        for p in group.inputs.get("parameters") or []
    }


# The egress proxy's squid.conf travels in this variable of its task definition, and names the hosts it
# allows on this line (stacks/platform/squid_config.py; tests/planning checks the two agree).
SQUID_CONFIG_VARIABLE = "SQUID_CONFIG"
ALLOWLIST_ACL = "acl allowed_hosts dstdomain -n "


def egress_allowlist(evaluation: Evaluation) -> list[str] | None:
    """The hosts the egress proxy lets clients reach on 443 (complianceProfile pci); None without one."""
    for task in evaluation.all(ECS_TASK_DEFINITION):
        for container in json.loads(task.inputs.get("containerDefinitions") or "[]"):
            for variable in container.get("environment") or []:
                if variable.get("name") == SQUID_CONFIG_VARIABLE:
                    return [
                        host
                        for line in str(variable["value"]).splitlines()
                        if line.startswith(ALLOWLIST_ACL)
                        for host in line.removeprefix(ALLOWLIST_ACL).split()
                    ]
    return None


def _jsonable(value: Any) -> Any:
    """Inputs as JSON: a Lambda archive becomes a list of the files it carries."""
    if isinstance(value, pulumi.AssetArchive):
        return {"archive": sorted(value.assets)}
    if isinstance(value, pulumi.Asset | pulumi.Archive):
        return {"asset": type(value).__name__}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def suffix_of(layer: str, stack: str, overrides: Sequence[str]) -> str:
    """The environment suffix the layer was evaluated with: --config, else its stack file."""
    configured = parse_overrides(overrides).get(layer, {})
    return str(configured.get(SUFFIX_KEY) or Layer(layer).stack_config(stack).get(SUFFIX_KEY, ""))


def region_of(evaluations: Mapping[str, Evaluation]) -> str:
    """The region the layers' AWS providers deploy to (the common `region` config)."""
    regions = {
        str(provider.inputs.get("region"))
        for evaluation in evaluations.values()
        for provider in evaluation.all("pulumi:providers:aws")
    }
    if len(regions) != 1:
        raise pricing.PriceTableError(f"the layers deploy to {sorted(regions)}; cost needs one region")
    return regions.pop()


def cost_report(evaluations: Mapping[str, Evaluation]) -> dict[str, Any]:
    """The monthly estimate at min and max scale, or why there is none (no table for the region)."""
    try:
        table = pricing.load(region_of(evaluations))
    except pricing.PriceTableError as error:
        return {"error": str(error)}
    estimate = cost.estimate({name: resources_of(e) for name, e in evaluations.items()}, table)
    return estimate.as_json()


def controls_report(evaluations: Mapping[str, Evaluation], profiles: Sequence[str]) -> dict[str, Any]:
    """Every Security Hub control of policy/security_hub.py over all the layers' resources together."""
    everything = [resource for evaluation in evaluations.values() for resource in resources_of(evaluation)]
    results = security_hub.evaluate(everything, security_hub.load_waivers())
    return {
        "complianceProfile": "/".join(sorted(set(profiles))),
        "summary": security_hub.summary(results),
        "results": [
            {
                "control": r.control.id,
                "severity": r.control.severity,
                "status": r.status,
                "findings": list(r.findings),
                "waived": list(r.waived),
            }
            for r in results
        ],
    }


def render_controls(report: dict[str, Any]) -> list[str]:
    lines = [
        f"== Security Hub controls (FSBP, PCI DSS v4.0.1), complianceProfile {report['complianceProfile']}: "
        f"{report['summary']}"
    ]
    for result in report["results"]:
        for finding in result["findings"]:
            mark = "waived" if finding in result["waived"] else "FAILED"
            lines.append(f"   [{mark}] {result['control']} ({result['severity']}): {finding}")
    return lines


def profile_of(layer: str, stack: str, overrides: Sequence[str]) -> str:
    """The layer's complianceProfile: --config, else its stack file, else the declared default."""
    given = parse_overrides(overrides).get(layer, {}).get("complianceProfile")
    stored = Layer(layer).stack_config(stack).get("complianceProfile")
    declared = next(keys for name, keys in LAYER_KEYS.items() if name == layer)
    return str(given or stored or declared["complianceProfile"].default)


def render_cost(estimate: dict[str, Any]) -> list[str]:
    if "error" in estimate:
        return [f"== cost: not estimated: {estimate['error']}"]
    lines = [
        f"== estimated monthly cost, {estimate['region']} prices as of {estimate['pricesAsOf']} "
        f"({estimate['currency']}, {estimate['hoursPerMonth']:g} h a month, "
        f"table planning/prices/{estimate['priceTable']})",
        f"   {'layer':<9} {'item':<44} {'min scale':>10} {'max scale':>10}  basis",
    ]
    for line in estimate["lines"]:
        amounts = f"{line['min']:>10,.2f} {line['max']:>10,.2f}"
        lines.append(f"   {line['layer']:<9} {line['item']:<44} {amounts}  {line['basis']}")
    totals = estimate["totals"]
    lines.append(f"   {'total':<54} {totals['min']:>10,.2f} {totals['max']:>10,.2f}")
    lines += [f"   note: {caveat}" for caveat in estimate["caveats"]]
    return lines


def render(report: dict[str, Any]) -> str:
    lines = []
    for layer in report["layers"]:
        total = sum(layer["resourceCounts"].values())
        lines.append(f"== {layer['layer']} ({layer['project']}/{layer['stack']}): {total} resources")
        for type_, count in layer["resourceCounts"].items():
            lines.append(f"   {count:>3}  {type_}")
        plaintext = layer.get("servesPlaintextHttp")
        if plaintext is not None:
            lines.append(
                "   public API: PLAINTEXT HTTP (allowPlaintextHttp: true, no certificateArn)"
                if plaintext
                else "   public API: HTTPS only (TLS 1.2+, port 80 redirects to 443)"
            )
        for warning in layer.get("warnings", ()):
            lines.append(f"   warning: {warning}")
        parameters = layer.get("databaseParameters")
        if parameters:
            shown = ", ".join(f"{k}={v}" for k, v in parameters.items())
            lines.append(f"   database parameters: {shown}")
        allowlist = layer.get("egressAllowlist")
        if allowlist is not None:
            allowed = (
                ", ".join(allowlist)
                if allowlist
                else "no host yet (egressAllowedHosts), every CONNECT refused"
            )
            lines.append(f"   egress proxy allowlist (CONNECT to 443 only): {allowed}")
        lines.append("   exports:")
        for key, value in layer["exports"].items():
            lines.append(f"     {key} = {json.dumps(value)}")
        passed = sum(1 for r in layer["policy"] if r["passed"])
        lines.append(f"   policy: {passed}/{len(layer['policy'])} rules pass")
        for result in layer["policy"]:
            for violation in result["violations"]:
                lines.append(
                    f"     [{result['enforcement']}] {result['rule']} ({result['source']}): {violation}"
                )
    if "controls" in report:
        lines += render_controls(report["controls"])
    if "cost" in report:
        lines += render_cost(report["cost"])
    return "\n".join(lines)


def change_report(before: Mapping[str, Evaluation], after: Mapping[str, Evaluation]) -> dict[str, Any]:
    """What a second `up` with the new config does to the stack `before` describes, after a release."""
    report: dict[str, Any] = {}
    for name, evaluation in after.items():
        live = after_release(before[name]) if name == "services" else state_of(before[name])
        changes = second_up(live, evaluation)
        report[name] = {
            "changes": [
                {
                    "resource": c.resource,
                    "keys": list(c.keys),
                    "replaces": list(c.replaces),
                    "refused": list(c.refused),
                }
                for c in changes
            ],
            "pendingReleases": {
                k: v for k, v in (evaluation.exports.get("pendingReleases") or {}).items() if v
            },
        }
    return report


def render_change(report: Mapping[str, Any]) -> list[str]:
    lines = ["", "== change on a live stack (after one release of every service)"]
    for name, layer in report.items():
        lines.append(f"   {name}: {len(layer['changes'])} resource(s) change")
        for change in layer["changes"]:
            notes = []
            if change["refused"]:
                notes.append(f"REFUSED by AWS: {', '.join(change['refused'])}")
            if change["replaces"]:
                notes.append(f"REPLACED: {', '.join(change['replaces'])}")
            lines.append(
                f"     {change['resource']}: {', '.join(change['keys'])} {'; '.join(notes)}".rstrip()
            )
        for service, fields in layer["pendingReleases"].items():
            lines.append(f"     needs a release: {service} ({', '.join(fields)})")
    return lines


def blocking(report: Mapping[str, Any]) -> bool:
    """A change AWS refuses, or one that replaces a resource a release depends on."""
    return any(
        change["refused"] or (change["replaces"] and "targetGroup" in change["resource"])
        for layer in report.values()
        for change in layer["changes"]
    )


def mandatory_failures(report: dict[str, Any]) -> list[str]:
    """`layer: rule` for every mandatory rule that fails in any layer."""
    return [
        f"{layer['layer']}: {result['rule']}"
        for layer in report["layers"]
        for result in layer["policy"]
        if result["enforcement"] == MANDATORY and not result["passed"]
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--stack", default="dev", help="example stack config to use (Pulumi.<stack>.yaml)")
    parser.add_argument("--suffix", help="environmentSuffix for every layer (instead of the stack files')")
    parser.add_argument("--config", action="append", default=[], help="<layer>:<key>=<value>")
    parser.add_argument("--out", type=Path, default=Path("plan.json"), help="where to write the JSON plan")
    parser.add_argument(
        "--change",
        action="store_true",
        help="apply --config to the stack as deployed and released once; exit 1 if AWS would refuse it",
    )
    parser.add_argument(
        "--terraform-plan",
        type=Path,
        help="also write every layer as Terraform plan JSON (`terraform show -json` format) for scanners",
    )
    args = parser.parse_args(argv)

    layers = available_layers()
    started = time.perf_counter()
    try:
        if args.suffix is not None:
            args.config = with_suffix(args.config, args.suffix, layers)
        check_stacks_exist(args.stack, layers)
        check_one_suffix({name: suffix_of(name, args.stack, args.config) for name in layers})
        # --change: the stack as deployed (its own config, under the same suffix) and released once.
        deployed = parse_overrides([c for c in args.config if c.split("=", 1)[0].endswith(f":{SUFFIX_KEY}")])
        before = evaluate_all(stack=args.stack, config=deployed, layers=layers) if args.change else None
        live = None
        if before is not None:
            live = {
                name: after_release(result) if name == "services" else state_of(result)
                for name, result in before.items()
            }
        results = evaluate_all(
            stack=args.stack, config=parse_overrides(args.config), layers=layers, live=live
        )
    except PlanRefusedError as refusal:
        print(f"plan refused: {refusal}", file=sys.stderr)
        return 2
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    report = {
        "stack": args.stack,
        # One suffix for every layer (check_one_suffix): the picture's title names it.
        "environmentSuffix": suffix_of(layers[0], args.stack, args.config),
        "layers": [
            layer_report(name, results[name], elapsed / len(layers), suffix_of(name, args.stack, args.config))
            for name in layers
        ],
        "controls": controls_report(results, [profile_of(n, args.stack, args.config) for n in layers]),
        "cost": cost_report(results),
    }
    if before is not None:
        report["change"] = change_report(before, results)
    print(render(report))
    if before is not None:
        print("\n".join(render_change(report["change"])))
    if "services" in layers:
        print(timeline.render_for_plan(args.stack, parse_overrides(args.config).get("services", {})))
    args.out.write_text(json.dumps(report, indent=2, default=str))
    if args.terraform_plan is not None:
        args.terraform_plan.write_text(json.dumps(terraform_plan.render(results.values()), indent=1))
    picture = args.out.with_suffix(".svg")
    picture.write_text(diagram.svg_of(report))
    print(
        f"\nplan of {len(layers)} layer(s) in {elapsed:.2f}s written to {args.out}; the picture to {picture}"
    )
    failures = mandatory_failures(report)
    if failures:
        print(f"mandatory rule(s) failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 1 if before is not None and blocking(report["change"]) else 0


if __name__ == "__main__":
    sys.exit(main())
