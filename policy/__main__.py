"""The Pulumi policy pack: `pulumi preview --policy-pack policy --policy-pack-config policy/config.dev.json`.

Every rule comes from `policy.rules`, the same functions the offline checks and `python3 dev.py plan` run.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from policy.pack import policies
from policy.rules import RULES  # noqa: F401 (the one source of the rules; see policy/pack.py)

PolicyPack("payments-compliance", policies(), enforcement_level=EnforcementLevel.MANDATORY)
