"""The explicit AWS provider each layer creates: region and compliance default tags from config."""

from __future__ import annotations

import pulumi_aws as aws

from shared.config.common import CommonConfig


def aws_provider(common: CommonConfig) -> aws.Provider:
    """An AWS provider pinned to the configured region that tags everything it creates.

    Every resource of a layer is created through this provider (components pass it to their children
    through `parent`), so `Environment` and `CostCenter` reach all taggable resources.
    """
    return aws.Provider(
        f"aws-{common.environment_suffix}",
        region=common.region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=common.provider_default_tags),
    )
