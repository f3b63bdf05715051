"""What the fork server of `offline.host` imports once, before any program runs.

First exactly what Pulumi's `pulumi-language-python-exec` imports before it runs a program (`pulumi`,
`pulumi.runtime`); then, for speed only, pulumi_aws with every service module the layers use, and this
engine (which imports `shared.naming`, `shared.errors` and PyYAML). Nothing of the layers, the rest of
`shared`, or their other dependencies: those are imported fresh in each program's process, after the
program directory is first on sys.path.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pulumi
import pulumi.runtime
import pulumi_aws

import offline.engine  # noqa: F401 - the engine itself, loaded once for every program

REPOSITORY = Path(__file__).resolve().parents[1]
SOURCES = (REPOSITORY / "stacks", REPOSITORY / "shared")  # the layers and what they build with
_SERVICE_MODULE = re.compile(r"\baws\.([a-z][a-z0-9_]*)\.")


def service_modules(sources: tuple[Path, ...] = SOURCES) -> list[str]:
    """The pulumi_aws service modules (`aws.ec2.`, `aws.lambda_.`...) the layers' sources name."""
    names = {
        m for s in sources for path in s.rglob("*.py") for m in _SERVICE_MODULE.findall(path.read_text())
    }
    return sorted(name for name in names if hasattr(pulumi_aws, name))


for _name in service_modules():
    # pulumi_aws imports its service modules lazily: reading an attribute that is not introspection
    # metadata (pulumi._utils._LazyModule) really loads one.
    getattr(importlib.import_module(f"pulumi_aws.{_name}"), "_utilities", None)

__all__ = ["pulumi"]
