"""One service's ECR repository: immutable tags, KMS-encrypted, scanned on push, pruned by a lifecycle.

The lifecycle policy is plain JSON that ECR checks only when it is applied, so `lifecycle_problems`
checks it here against ECR's rules ("Lifecycle policy properties", Amazon ECR user guide) before any
resource is registered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from shared import naming
from shared.tags import ServiceTags

TAG_STATUSES = ("tagged", "untagged", "any")
COUNT_TYPES = ("imageCountMoreThan", "sinceImagePushed")


def lifecycle_policy(untagged_expiry_days: int, tagged_images_kept: int) -> dict[str, Any]:
    """Expire untagged images after N days, then keep only the M most recent images."""
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Expire untagged images {untagged_expiry_days} days after push",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": untagged_expiry_days,
                },
                "action": {"type": "expire"},
            },
            {
                # ECR evaluates `any` last and requires it to have the highest priority.
                "rulePriority": 2,
                "description": f"Keep the {tagged_images_kept} most recent images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": tagged_images_kept,
                },
                "action": {"type": "expire"},
            },
        ]
    }


def lifecycle_problems(policy: dict[str, Any]) -> list[str]:
    """Every rule of ECR's lifecycle-policy grammar that `policy` breaks; empty when ECR accepts it."""
    rules = policy.get("rules")
    if not isinstance(rules, list) or not rules:
        return ["a lifecycle policy needs a non-empty list of rules"]
    problems: list[str] = []
    priorities = [rule.get("rulePriority") for rule in rules]
    if len(set(priorities)) != len(priorities):
        problems.append(f"rulePriority values must be unique, got {priorities}")
    for rule in rules:
        problems.extend(_rule_problems(rule))
    any_rules = [rule for rule in rules if rule.get("selection", {}).get("tagStatus") == "any"]
    if len(any_rules) > 1:
        problems.append("only one rule may select tagStatus any")
    numbers = [p for p in priorities if isinstance(p, int)]
    if any_rules and numbers and any_rules[0].get("rulePriority") != max(numbers):
        problems.append("the tagStatus any rule must have the highest rulePriority")
    return problems


def _rule_problems(rule: dict[str, Any]) -> list[str]:
    priority = rule.get("rulePriority")
    where = f"rule {priority}"
    problems: list[str] = []
    if not isinstance(priority, int) or priority < 1:
        problems.append(f"{where}: rulePriority must be a positive integer")
    selection = rule.get("selection", {})
    status = selection.get("tagStatus")
    if status not in TAG_STATUSES:
        problems.append(f"{where}: tagStatus must be one of {TAG_STATUSES}, got {status!r}")
    if status == "tagged" and not (selection.get("tagPrefixList") or selection.get("tagPatternList")):
        problems.append(f"{where}: a tagged rule needs tagPrefixList or tagPatternList")
    count_type = selection.get("countType")
    if count_type not in COUNT_TYPES:
        problems.append(f"{where}: countType must be one of {COUNT_TYPES}, got {count_type!r}")
    if count_type == "sinceImagePushed" and selection.get("countUnit") != "days":
        problems.append(f"{where}: sinceImagePushed needs countUnit days")
    if count_type == "imageCountMoreThan" and "countUnit" in selection:
        problems.append(f"{where}: countUnit is allowed only with sinceImagePushed")
    number = selection.get("countNumber")
    if not isinstance(number, int) or number < 1:
        problems.append(f"{where}: countNumber must be a positive integer")
    if rule.get("action", {}).get("type") != "expire":
        problems.append(f"{where}: the only action type is expire")
    return problems


@dataclass(frozen=True, kw_only=True)
class ServiceRepositoryArgs:
    """What one service's repository is made from. No field has a default.

    Fields:
        namer: names every resource with the stack's suffix.
        tags: the Service tag (and the rest) for each resource.
        service: the catalogue name; the repository is `ecr-<service>-<suffix>`.
        key_arn: the platform KMS key; ECR creates its own grant on it at creation, so the deployer
            needs kms:CreateGrant through ECR (docs/deployer-iam.md).
        untagged_expiry_days: `untaggedImageExpiryDays`: untagged images expire this long after push.
        tagged_images_kept: `taggedImagesKept`: the most recent images kept; older ones expire.
    """

    namer: naming.Namer
    tags: ServiceTags
    service: str
    key_arn: pulumi.Input[str]
    untagged_expiry_days: int
    tagged_images_kept: int


class ServiceRepository(pulumi.ComponentResource):
    """The private registry of one service's images."""

    def __init__(
        self, name: str, args: ServiceRepositoryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:services:ServiceRepository", name, None, opts)
        policy = lifecycle_policy(args.untagged_expiry_days, args.tagged_images_kept)
        problems = lifecycle_problems(policy)
        if problems:
            raise ValueError("ECR would reject the lifecycle policy: " + "; ".join(problems))

        repository_name = args.namer.name(naming.ECR, args.service)
        self.repository = aws.ecr.Repository(
            repository_name,
            name=repository_name,
            image_tag_mutability="IMMUTABLE",  # a tag names one image forever: releases pin digests
            # Basic scanning on push. An account whose registry scanning configuration is set (e.g.
            # enhanced scanning) overrides this per registry; either way every push is scanned.
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[
                aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS", kms_key=args.key_arn)
            ],
            force_delete=True,  # destroyable with images in it
            tags=args.tags.for_resource(repository_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.ecr.LifecyclePolicy(
            repository_name,
            repository=self.repository.name,
            policy=json.dumps(policy),
            opts=pulumi.ResourceOptions(parent=self.repository),
        )

        self.repository_url = self.repository.repository_url
        self.repository_arn = self.repository.arn
        self.register_outputs({"repositoryUrl": self.repository_url, "repositoryArn": self.repository_arn})
