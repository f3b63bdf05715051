"""Settings every layer shares: the suffix, the tag values, the region and the upstream stacks."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.config.keys import COMPLIANCE_PROFILES, LAYER_KEYS, ComplianceProfile, typed_choice
from shared.config.reader import ConfigReader
from shared.errors import ConfigError
from shared.naming import SUFFIX_KEY, Namer, validate_suffix
from shared.tags import base_tags

# Declared once in shared/config/keys.py; named here for the commands that read a stack file directly.
DEFAULT_REGION = str(LAYER_KEYS["network"]["region"].default)
_REGION_PATTERN = re.compile(r"[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d")
_TAG_VALUE = re.compile(r"[\w .:/=+\-@]{1,256}")


@dataclass(frozen=True)
class CommonConfig:
    """Keys every layer reads. Set them identically in each layer's stack config."""

    environment_suffix: str  # `environmentSuffix`: ends every resource name (dev, pr-42)
    environment: str  # `environment`: the Environment tag value
    cost_center: str  # `costCenter`: the CostCenter tag value
    region: str  # `region`
    compliance_profile: ComplianceProfile = "baseline"  # `complianceProfile`: baseline or pci

    @property
    def pci(self) -> bool:
        """The PCI DSS profile: the archive, database audit and declared-egress-only (docs/security.md)."""
        return self.compliance_profile == "pci"

    @classmethod
    def load(cls, reader: ConfigReader) -> CommonConfig:
        suffix = validate_suffix(reader.optional_string(SUFFIX_KEY) or "")
        environment = _tag_value(reader, "environment", default=suffix)
        cost_center = _tag_value(reader, "costCenter")
        region = reader.string("region")
        if not _REGION_PATTERN.fullmatch(region):
            raise ConfigError("region", region, "must be an AWS region code such as us-east-1")
        profile = typed_choice(COMPLIANCE_PROFILES, reader.choice("complianceProfile"))
        return cls(suffix, environment, cost_center, region, profile)

    @property
    def namer(self) -> Namer:
        return Namer(self.environment_suffix)

    @property
    def provider_default_tags(self) -> dict[str, str]:
        return base_tags(self.environment, self.cost_center)


def _tag_value(reader: ConfigReader, key: str, *, default: str | None = None) -> str:
    value = reader.string(key, default=default)
    if not _TAG_VALUE.fullmatch(value):
        raise ConfigError(key, value, "must be 1-256 letters, digits, spaces or _.:/=+-@ (an AWS tag value)")
    return value
