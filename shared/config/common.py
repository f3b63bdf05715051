"""Settings every layer shares: the suffix, the tag values, the region and the upstream stacks."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.config.reader import ConfigReader
from shared.errors import ConfigError
from shared.naming import SUFFIX_KEY, Namer, validate_suffix
from shared.tags import base_tags

DEFAULT_REGION = "us-east-1"
DEFAULT_COST_CENTER = "payments"
_REGION_PATTERN = re.compile(r"[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d")
_TAG_VALUE = re.compile(r"[\w .:/=+\-@]{1,256}")


@dataclass(frozen=True)
class CommonConfig:
    """Keys every layer reads. Set them identically in each layer's stack config."""

    environment_suffix: str  # `environmentSuffix`, required: ends every resource name (dev, pr-42)
    environment: str  # `environment`, default the suffix: the Environment tag value
    cost_center: str  # `costCenter`, default "payments": the CostCenter tag value
    region: str  # `region`, default us-east-1

    @classmethod
    def load(cls, reader: ConfigReader) -> CommonConfig:
        suffix = validate_suffix(reader.string(SUFFIX_KEY, ""))
        environment = _tag_value(reader, "environment", suffix)
        cost_center = _tag_value(reader, "costCenter", DEFAULT_COST_CENTER)
        region = reader.string("region", DEFAULT_REGION)
        if not _REGION_PATTERN.fullmatch(region):
            raise ConfigError("region", region, "must be an AWS region code such as us-east-1")
        return cls(suffix, environment, cost_center, region)

    @property
    def namer(self) -> Namer:
        return Namer(self.environment_suffix)

    @property
    def provider_default_tags(self) -> dict[str, str]:
        return base_tags(self.environment, self.cost_center)


def _tag_value(reader: ConfigReader, key: str, default: str) -> str:
    value = reader.string(key, default)
    if not _TAG_VALUE.fullmatch(value):
        raise ConfigError(key, value, "must be 1-256 letters, digits, spaces or _.:/=+-@ (an AWS tag value)")
    return value
