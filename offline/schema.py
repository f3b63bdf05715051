"""Facts about pulumi-aws resource types, read from the SDK itself rather than kept by hand."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import keyword
import re
from functools import cache
from pathlib import Path

# The signature of a generated resource's `_internal_init`, up to its closing `__props__=None):`.
_INTERNAL_INIT = re.compile(r"def _internal_init\(__self__,(?P<parameters>.*?)__props__=None\):", re.DOTALL)


@cache
def is_taggable(type_token: str) -> bool:
    """Whether the pulumi-aws resource behind `type_token` accepts `tags`.

    `aws:lb/targetGroup:TargetGroup` is class `TargetGroup` in `pulumi_aws/lb/target_group.py` (the
    SDK's generator names each file after its resource); its `_internal_init` lists its arguments. The
    file is read as text: importing a service module builds every class in it (seconds for ec2 or
    wafv2), and `plan` needs the answer, not the classes.
    """
    package, module_path, class_name = type_token.split(":")
    if package != "aws":
        return False
    module_name = _python_module(module_path.split("/")[0])
    source = _resource_source(module_name, module_path.split("/")[1])
    if source is not None and (match := _INTERNAL_INIT.search(source)) and f"class {class_name}(" in source:
        return re.search(r"\btags:", match["parameters"]) is not None
    return is_taggable_by_import(type_token)


def is_taggable_by_import(type_token: str) -> bool:
    """The same answer from the class itself: slow, for a file the generator named differently."""
    _, module_path, class_name = type_token.split(":")
    module = importlib.import_module("pulumi_aws." + _python_module(module_path.split("/")[0]))
    cls = getattr(module, class_name)
    return "tags" in inspect.signature(cls._internal_init).parameters


def _python_module(name: str) -> str:
    # Python keywords get a trailing underscore in the SDK: `aws:lambda/...` lives in `pulumi_aws.lambda_`.
    return name + ("_" if keyword.iskeyword(name) else "")


@cache
def _sdk_root() -> Path | None:
    spec = importlib.util.find_spec("pulumi_aws")
    return Path(spec.origin).parent if spec is not None and spec.origin is not None else None


def _resource_source(module_name: str, member: str) -> str | None:
    root = _sdk_root()
    if root is None:
        return None
    path = root / module_name / f"{re.sub(r'(?<!^)(?=[A-Z])', '_', member).lower()}.py"
    return path.read_text() if path.is_file() else None
