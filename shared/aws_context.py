"""Where a layer deploys: account, region and partition, looked up once through its provider."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class AwsContext:
    account_id: str
    region: str
    partition: str

    @classmethod
    def lookup(cls, provider: aws.Provider) -> AwsContext:
        invoke = pulumi.InvokeOptions(provider=provider)
        identity = aws.get_caller_identity(opts=invoke)
        region = aws.get_region(opts=invoke)
        partition = aws.get_partition(opts=invoke)
        return cls(identity.account_id, region.region, partition.partition)
