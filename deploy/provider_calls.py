"""The AWS calls `pulumi up`, refresh and `destroy` make for each planned resource, as IAM requests.

The table (`deploy/iam/provider_calls.toml`) lists, per resource type, the IAM actions the AWS provider
needs to create, read, update and delete it, with sources. This module turns a planned resource (from the
offline engine) into concrete `Request`s: real ARNs built from the plan's names, ids and inputs, and the
request context the call carries (region, kms:ViaService, iam:PassedToService, request tags).
"""

from __future__ import annotations

import fnmatch
import functools
import itertools
import json
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from offline import fake_aws
from offline.engine import Evaluation, RecordedResource
from policy.iam_eval import ContextValue, Request
from policy.iam_reference import lookup
from shared.catalogue import SECRET_ARN_SUFFIX

TABLE = Path(__file__).resolve().parent / "iam" / "provider_calls.toml"
# "release": the calls the deployer makes outside the provider against a resource the layers own:
# pushing an image (docs/deploying.md) and `release/` (docs/releasing.md), which the deployer runs too.
Phase = Literal["create", "read", "update", "delete", "release"]
PHASES: tuple[Phase, ...] = ("create", "read", "update", "delete", "release")
PROVIDER_ROW = "provider"  # calls the provider makes once per run: credentials, availability zones
PREFLIGHT_ROW = "preflight"  # calls deploy/preflight.py makes once per run: quotas, releases in progress
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
# Global keys every request carries (IAM user guide, "AWS global condition context keys"): the region
# the call goes to, and the account of the principal making it (the deployer's, or a role's).
EVERY_REQUEST = ("aws:RequestedRegion", "aws:PrincipalAccount")


class MissingCallsError(LookupError):
    """A planned resource type has no row in the call table."""


@dataclass(frozen=True)
class Row:
    """One resource type's calls (IAM actions in the table's small grammar) and where they come from."""

    resource_type: str
    source: str
    arn: str
    calls: Mapping[Phase, tuple[str, ...]]


@dataclass(frozen=True)
class PlannedCall:
    """One request the deployer makes for one planned resource in one phase."""

    phase: Phase
    resource_type: str
    resource_name: str
    request: Request

    def describe(self) -> str:
        extra = {k: v for k, v in self.request.context.items() if k not in EVERY_REQUEST}
        shown = f" with {extra}" if extra else ""
        return (
            f"{self.phase} {self.resource_type} {self.resource_name!r}: "
            f"{self.request.action} on {self.request.resource}{shown}"
        )


@functools.cache
def load_table(path: Path = TABLE) -> dict[str, Row]:
    """The call table, validated: every row names its source, its ARN and only known phases."""
    raw = tomllib.loads(path.read_text())
    rows = {}
    for resource_type, entry in raw.items():
        unknown = set(entry) - {"source", "arn", *PHASES}
        if unknown or not entry.get("source") or not entry.get("arn"):
            raise ValueError(
                f"{path.name}: row {resource_type!r} needs `source` and `arn` and may only add "
                f"{list(PHASES)}; got {sorted(entry)}"
            )
        calls = {phase: tuple(entry.get(phase, ())) for phase in PHASES}
        rows[resource_type] = Row(resource_type, entry["source"], entry["arn"], calls)
    return rows


def row_for(resource_type: str, table: Mapping[str, Row]) -> Row:
    if resource_type not in table:
        raise MissingCallsError(
            f"{resource_type} has no row in deploy/iam/provider_calls.toml: add the calls the AWS "
            "provider makes to create, read, update and delete it (with their source), and the deployer "
            "policy statement that allows them"
        )
    return table[resource_type]


class PlanIndex:
    """The planned resources of all layers, to resolve references between them (by id or ARN)."""

    def __init__(self, evaluations: Iterable[Evaluation]) -> None:
        self.evaluations = list(evaluations)
        self._by_key: dict[str, RecordedResource] = {}
        self._default_tags: dict[str, dict[str, str]] = {}
        for evaluation in self.evaluations:
            for resource in evaluation.all():
                if resource.type.startswith("pulumi:providers:"):
                    raw = resource.inputs.get("defaultTags") or "{}"
                    tags = json.loads(raw) if isinstance(raw, str) else raw
                    self._default_tags[resource.urn] = dict(tags.get("tags", {}))
            for resource in evaluation.aws_resources():
                self._by_key.setdefault(resource.id, resource)
                arn = resource.state.get("arn")
                if isinstance(arn, str):
                    self._by_key.setdefault(arn, resource)

    def resources(self) -> Iterator[RecordedResource]:
        for evaluation in self.evaluations:
            yield from evaluation.aws_resources()

    def find(self, key: str) -> RecordedResource:
        if key not in self._by_key:
            raise KeyError(f"no planned resource has the id or ARN {key!r}")
        return self._by_key[key]

    def tags(self, resource: RecordedResource) -> dict[str, str]:
        """The tags AWS receives: the provider's default tags, then the resource's own."""
        own = resource.inputs.get("tags") or {}
        return {**self._default_tags.get(resource.provider_urn or "", {}), **own}


def planned_calls(resource: RecordedResource, plan: PlanIndex, table: Mapping[str, Row]) -> list[PlannedCall]:
    """Every request the deployer makes to create, read, update and delete `resource` (and to release)."""
    row = row_for(resource.type, table)
    return [
        PlannedCall(phase, resource.type, resource.name, request)
        for phase in PHASES
        for call in row.calls[phase]
        for request in requests(call, row, resource, plan)
    ]


def provider_calls(table: Mapping[str, Row]) -> list[PlannedCall]:
    """The calls the provider and the deploy command's preflight make once per run, on no planned resource."""
    calls = []
    for name in (PROVIDER_ROW, PREFLIGHT_ROW):
        row = row_for(name, table)
        calls += [
            PlannedCall(phase, name, name, request)
            for phase in PHASES
            for call in row.calls[phase]
            for request in requests(call, row, None, None)
        ]
    return calls


def requests(
    call: str,
    row: Row,
    resource: RecordedResource | None,
    plan: PlanIndex | None,
    each: str | None = None,
) -> list[Request]:
    """One table call as IAM requests, one per ARN it names (IAM authorizes each resource)."""
    action, arns, context, tagged = parse_call(call)
    entry = lookup(action)
    if entry is None:
        raise ValueError(
            f"{row.resource_type}: {action!r} is no IAM action (Service Authorization Reference)"
        )
    values = Values(resource, plan, each)
    # A context placeholder with a list value makes one request per item, like an ARN placeholder.
    contexts: list[dict[str, ContextValue]] = [{**_region_context()}]
    for key, template in context.items():
        contexts = [{**c, key: value} for c in contexts for value in values.render_all(template)]
    if tagged and resource is not None and plan is not None:
        tags = plan.tags(resource)
        for full_context in contexts:
            full_context.update({f"aws:RequestTag/{k}": v for k, v in tags.items()})
            full_context["aws:TagKeys"] = sorted(tags)
    if entry.needs_star or arns == ["*"]:
        if arns and not any(values.render_all(template) for template in arns):
            return []  # it names a placeholder with no value for this consumer: the call is not made
        resources = ["*"]
    else:
        resources = [arn for template in (arns or row.arn.split(",")) for arn in values.render_all(template)]
        if not arns:
            # The row's ARNs are what the resource touches; IAM checks those of the action's types.
            resources = [r for r in resources if entry.resource_types_matching(r)] or resources
    return [Request(entry.qualified, arn, full_context) for arn in resources for full_context in contexts]


def parse_call(call: str) -> tuple[str, list[str], dict[str, str], bool]:
    """`"kms:CreateGrant on <arn> with kms:ViaService=ecr.{region}.amazonaws.com tagged"` -> parts."""
    words = call.split()
    action, arns, context, tagged = words[0], [], {}, False
    index = 1
    while index < len(words):
        word = words[index]
        if word == "tagged":
            tagged = True
        elif word in ("on", "with") and index + 1 < len(words):
            index += 1
            if word == "on":
                arns = words[index].split(",")
            else:
                key, _, value = words[index].partition("=")
                context[key] = value
        else:
            raise ValueError(f"cannot read the call {call!r}: unexpected {word!r}")
        index += 1
    return action, arns, context, tagged


def _region_context() -> dict[str, ContextValue]:
    return {"aws:RequestedRegion": fake_aws.REGION, "aws:PrincipalAccount": fake_aws.ACCOUNT_ID}


class Values:
    """Placeholder values for one planned resource (and, for run-time calls, one `for_each` item)."""

    def __init__(
        self, resource: RecordedResource | None, plan: PlanIndex | None, each: str | None = None
    ) -> None:
        self.resource = resource
        self.plan = plan
        self.each = each

    def render(self, template: str) -> str:
        """The template with its placeholders filled, which must give exactly one value."""
        rendered = self.render_all(template)
        if len(rendered) != 1:
            raise ValueError(f"{template!r} gives {len(rendered)} values where one is needed")
        return rendered[0]

    def render_all(self, template: str) -> list[str]:
        """Every filling of the template: a list value gives one result per item; an absent optional
        (`?`) placeholder gives none; an absent required one is an error."""
        keys = _PLACEHOLDER.findall(template)
        choices: list[list[str]] = []
        for key in keys:
            found = self.values(key.rstrip("?"))
            if found is None:
                if key.endswith("?"):
                    return []
                raise KeyError(f"no value for {{{key}}} in {template!r}")
            choices.append(found)
        results = []
        for combination in itertools.product(*choices):
            results.append(_fill(template, combination))
        return results

    def values(self, key: str) -> list[str] | None:
        constants = {"partition": "aws", "region": fake_aws.REGION, "account": fake_aws.ACCOUNT_ID}
        if key in constants:
            return [constants[key]]
        if key.startswith("svc:"):
            service = key.removeprefix("svc:")
            region = "" if service in ("iam", "s3") else fake_aws.REGION
            account = "" if service == "s3" else fake_aws.ACCOUNT_ID
            return [f"arn:aws:{service}:{region}:{account}"]
        if key == "each" or key.startswith("each>"):
            return self._hops([self.each] if self.each else None, key.split(">")[1:])
        if key.startswith("all:"):
            return self._all(key.removeprefix("all:"))
        resource = self.resource
        if resource is None:
            return None
        if key in DERIVED:
            return DERIVED[key](resource, self.plan)  # [] when the consumer names none: no call
        if key == "id":
            return [resource.id]
        if key == "name":
            return [_physical_name(resource)]
        if key == "arn":
            return _texts(resource.state.get("arn"))
        if key.startswith("in:"):
            return _texts(_dig(resource.inputs, key.removeprefix("in:")))
        if key.startswith("st:"):
            return _texts(_dig(resource.state, key.removeprefix("st:")))
        if key.startswith("ref:"):
            first, *hops = key.removeprefix("ref:").split(">")
            return self._hops(_texts(_dig(resource.inputs, first)), hops)
        raise KeyError(f"unknown placeholder {{{key}}}")

    def _hops(self, start: list[str] | None, hops: list[str]) -> list[str] | None:
        """Follow attributes from resource to resource: each value names the next resource (id or ARN)."""
        current = start
        for hop in hops:
            if current is None or self.plan is None:
                return None
            found: list[str] = []
            for value in current:
                target = self.plan.find(value)
                found.extend(_texts(_dig(target.inputs, hop)) or _texts(_dig(target.state, hop)) or [])
            current = found or None
        return current

    def _all(self, spec: str) -> list[str] | None:
        """`<type>[~<name glob>][><attribute>]`: every planned resource of a type, or an attribute of each."""
        if self.plan is None:
            return None
        selector, _, attribute = spec.partition(">")
        resource_type, _, glob = selector.partition("~")
        found = []
        for resource in self.plan.resources():
            if resource.type != resource_type or not fnmatch.fnmatchcase(
                _physical_name(resource), glob or "*"
            ):
                continue
            value = (
                (_dig(resource.inputs, attribute) or _dig(resource.state, attribute))
                if attribute
                else resource.state.get("arn")
            )
            found.extend(_texts(value) or [])
        return sorted(set(found)) or None


def _fill(template: str, values: Sequence[str]) -> str:
    """The template with its placeholders replaced, in order, by `values`."""
    fills = iter(values)
    return _PLACEHOLDER.sub(lambda _: next(fills), template)


def _containers(resource: RecordedResource) -> list[dict[str, Any]]:
    raw = resource.inputs.get("containerDefinitions") or "[]"
    return list(json.loads(raw) if isinstance(raw, str) else raw)


def _ecr_repositories(resource: RecordedResource, plan: PlanIndex | None) -> list[str]:
    """The account's ECR repositories the containers' images come from (public images need no call)."""
    registry = f"{fake_aws.ACCOUNT_ID}.dkr.ecr.{fake_aws.REGION}.amazonaws.com/"
    repositories = set()
    for container in _containers(resource):
        image = str(container.get("image", ""))
        if image.startswith(registry):
            name = image.removeprefix(registry).split("@")[0].split(":")[0]
            repositories.add(f"arn:aws:ecr:{fake_aws.REGION}:{fake_aws.ACCOUNT_ID}:repository/{name}")
    return sorted(repositories)


def _awslogs_groups(resource: RecordedResource, plan: PlanIndex | None) -> list[str]:
    groups = {
        f"arn:aws:logs:{fake_aws.REGION}:{fake_aws.ACCOUNT_ID}:log-group:{options['awslogs-group']}"
        for container in _containers(resource)
        if (options := (container.get("logConfiguration") or {}).get("options") or {}).get("awslogs-group")
    }
    return sorted(groups)


def _container_secrets(resource: RecordedResource, plan: PlanIndex | None) -> list[str]:
    return sorted(
        {
            _secret_arn(str(secret["valueFrom"]))
            for c in _containers(resource)
            for secret in c.get("secrets") or []
        }
    )


def _secret_arn(value_from: str) -> str:
    """`arn:...:secret:name-AbCdEf[:json-key:version-stage:version-id]` -> the secret's ARN."""
    return ":".join(value_from.split(":")[:7])


def _container_secret_keys(resource: RecordedResource, plan: PlanIndex | None) -> list[str]:
    if plan is None:
        return []
    keys = {plan.find(arn).inputs.get("kmsKeyId") for arn in _container_secrets(resource, plan)}
    return sorted(str(k) for k in keys if k)


def _release_repositories(resource: RecordedResource, plan: PlanIndex | None) -> list[str]:
    """The repositories of the consumer's service (same Service tag): where releases take images from."""
    service = (resource.inputs.get("tags") or {}).get("Service")
    if plan is None or not service:
        return []
    return sorted(
        str(r.state["arn"])
        for r in plan.resources()
        if r.type == "aws:ecr/repository:Repository"
        and (r.inputs.get("tags") or {}).get("Service") == service
    )


def _exec_configurations(resource: RecordedResource, plan: PlanIndex | None) -> list[dict[str, Any]]:
    """The clusters' ECS Exec settings, when this task definition runs the exec agent (its volumes)."""
    volumes = {str(v.get("name")) for v in resource.inputs.get("volumes") or []}
    if plan is None or not any(name.startswith("exec-") for name in volumes):
        return []
    return [
        execute
        for r in plan.resources()
        if r.type == "aws:ecs/cluster:Cluster"
        and (execute := ((r.inputs.get("configuration") or {}).get("executeCommandConfiguration") or {}))
    ]


def _exec_on(resource: RecordedResource, plan: PlanIndex | None) -> list[str]:
    """`*` once when ECS Exec runs in the task (its channels have no resource type), else nothing."""
    return ["*"] if _exec_configurations(resource, plan) else []


def _exec_log_groups(resource: RecordedResource, plan: PlanIndex | None) -> list[str]:
    return sorted(
        f"arn:aws:logs:{fake_aws.REGION}:{fake_aws.ACCOUNT_ID}:log-group:{group}"
        for execute in _exec_configurations(resource, plan)
        if (group := (execute.get("logConfiguration") or {}).get("cloudWatchLogGroupName"))
    )


def _exec_keys(resource: RecordedResource, plan: PlanIndex | None) -> list[str]:
    return sorted({str(e["kmsKeyId"]) for e in _exec_configurations(resource, plan) if e.get("kmsKeyId")})


WEB_ACL = "aws:wafv2/webAcl:WebAcl"


def _web_acl(resource: RecordedResource, plan: PlanIndex | None) -> list[str]:
    """The web ACL's ARN as WAF gives it (`...:regional/webacl/<name>/<id>`, WAF API reference, WebACL):
    of this web ACL, or of the one the resource's `webAclArn` or `resourceArn` names."""
    acl = resource
    if resource.type != WEB_ACL:
        named = resource.inputs.get("webAclArn") or resource.inputs.get("resourceArn")
        if plan is None or not isinstance(named, str):
            return []
        acl = plan.find(named)
    scope = "global" if acl.inputs.get("scope") == "CLOUDFRONT" else "regional"
    return [
        f"arn:aws:wafv2:{fake_aws.REGION}:{fake_aws.ACCOUNT_ID}:{scope}/webacl/{_physical_name(acl)}/{acl.id}"
    ]


def _env_secrets(resource: RecordedResource, plan: PlanIndex | None) -> list[str]:
    """The secrets a task definition's containers name by ARN in `<ENV>_SECRET_ARN` (read by the code)."""
    return sorted(
        {
            _secret_arn(str(item.get("value", "")))
            for c in _containers(resource)
            for item in c.get("environment") or []
            if str(item.get("name", "")).endswith(SECRET_ARN_SUFFIX)
        }
    )


def _env_secret_keys(resource: RecordedResource, plan: PlanIndex | None) -> list[str]:
    if plan is None:
        return []
    keys = {plan.find(arn).inputs.get("kmsKeyId") for arn in _env_secrets(resource, plan)}
    return sorted(str(k) for k in keys if k)


def _object_lock_bucket(resource: RecordedResource, plan: PlanIndex | None) -> list[str]:
    """The bucket's name when it is created with Object Lock on, else nothing: S3's CreateBucket with
    `x-amz-bucket-object-lock-enabled` also authorizes s3:PutBucketObjectLockConfiguration and
    s3:PutBucketVersioning (S3 API reference, CreateBucket, "Permissions")."""
    return [_physical_name(resource)] if resource.inputs.get("objectLockEnabled") else []


DERIVED: dict[str, Callable[[RecordedResource, PlanIndex | None], list[str]]] = {
    "object_lock_bucket": _object_lock_bucket,
    "env_secrets": _env_secrets,
    "env_secret_keys": _env_secret_keys,
    "web_acl": _web_acl,
    "exec_on": _exec_on,
    "exec_log_groups": _exec_log_groups,
    "exec_keys": _exec_keys,
    "release_repositories": _release_repositories,
    "ecr_repositories": _ecr_repositories,
    "awslogs_groups": _awslogs_groups,
    "container_secrets": _container_secrets,
    "container_secret_keys": _container_secret_keys,
}


def _physical_name(resource: RecordedResource) -> str:
    for source in (resource.inputs, resource.state):
        for key in ("name", "bucket", "family", "functionName"):
            if isinstance(source.get(key), str):
                return str(source[key])
    return resource.id


def _dig(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, Mapping):
            data = data.get(part)
        elif isinstance(data, Sequence) and not isinstance(data, str) and part.isdigit():
            data = data[int(part)] if int(part) < len(data) else None
        else:
            return None
    return data


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _texts(value: Any) -> list[str] | None:
    """A value as strings: a list gives its items; None or an empty list gives None."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return [_text(v) for v in value] or None
    return [_text(value)]
