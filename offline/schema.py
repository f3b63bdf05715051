"""Facts about pulumi-aws resource types, read from the SDK itself rather than kept by hand."""

from __future__ import annotations

import importlib
import inspect
import keyword
from functools import cache


@cache
def is_taggable(type_token: str) -> bool:
    """Whether the pulumi-aws resource behind `type_token` accepts `tags`.

    `aws:ec2/vpc:Vpc` lives in `pulumi_aws.ec2` as class `Vpc`; its constructor lists its arguments.
    """
    package, module_path, class_name = type_token.split(":")
    if package != "aws":
        return False
    module_name = module_path.split("/")[0]
    # Python keywords get a trailing underscore in the SDK: `aws:lambda/...` lives in `pulumi_aws.lambda_`.
    module = importlib.import_module(
        "pulumi_aws." + module_name + ("_" if keyword.iskeyword(module_name) else "")
    )
    cls = getattr(module, class_name)
    return "tags" in inspect.signature(cls._internal_init).parameters
