"""The compliance policy pack (`policy/`) for a real `preview` or `up` of one layer's stack.

`pulumi preview --policy-pack <dir> --policy-pack-config <file>` runs the pack beside the program; the
Automation API passes the same flags (`Stack.preview(policy_packs=..., policy_pack_configs=...)`). The
pack's config gives the naming rule the suffix it checks for: `policy/config.dev.json` holds the example
stack's, so each stack gets a copy of it with its own `environmentSuffix` (read from its
`Pulumi.<stack>.yaml`, as `names-carry-the-suffix` must see the suffix the resources were named with).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from offline.layer_projects import REPO_ROOT, Layer
from shared.naming import SUFFIX_KEY

POLICY_PACK = REPO_ROOT / "policy"
EXAMPLE_CONFIG = POLICY_PACK / "config.dev.json"


class PolicyPackError(ValueError):
    """The stack has no suffix to give the pack (its `Pulumi.<stack>.yaml` is missing or incomplete)."""


def stack_policy_config(layer: str, stack: str) -> dict[str, Any]:
    """`policy/config.dev.json` with every `environmentSuffix` set to this stack's suffix."""
    suffix = Layer(layer).stack_config(stack).get(SUFFIX_KEY)
    if not suffix:
        raise PolicyPackError(
            f"stacks/{layer}/Pulumi.{stack}.yaml has no {SUFFIX_KEY}, which the policy pack checks names "
            f"against: create it with `python3 dev.py init -- {stack} --suffix <suffix> --layer {layer}`"
        )
    example: dict[str, dict[str, Any]] = json.loads(EXAMPLE_CONFIG.read_text())
    return {
        policy: {**settings, SUFFIX_KEY: str(suffix)} if SUFFIX_KEY in settings else dict(settings)
        for policy, settings in example.items()
    }


def policy_pack_arguments(layer: str, stack: str, directory: Path) -> dict[str, list[str]]:
    """The Automation API's arguments of `preview`/`up` with the pack; its config file goes in `directory`."""
    config = directory / f"policy-config-{layer}-{stack}.json"
    config.write_text(json.dumps(stack_policy_config(layer, stack), indent=2) + "\n")
    return {"policy_packs": [str(POLICY_PACK)], "policy_pack_configs": [str(config)]}
