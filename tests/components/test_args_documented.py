"""Every component's `*Args` under `stacks/` is a keyword-only frozen dataclass whose docstring names
each of its fields, so a reader learns what to pass without reading the component."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import stacks

LAYERS = ("network", "platform", "services")


def _args_classes() -> list[type]:
    found: dict[str, type] = {}
    root = Path(stacks.__path__[0])
    packages = [("stacks", root), *((f"stacks.{layer}", root / layer) for layer in LAYERS)]
    for package, folder in packages:
        for module in pkgutil.iter_modules([str(folder)]):
            if module.ispkg or module.name == "__main__":
                continue  # layers are scanned on their own; __main__ needs a running stack
            loaded = importlib.import_module(f"{package}.{module.name}")
            for name, value in inspect.getmembers(loaded, inspect.isclass):
                if name.endswith("Args") and value.__module__ == loaded.__name__:
                    found[f"{value.__module__}.{name}"] = value
    return [found[key] for key in sorted(found)]


ARGS = _args_classes()


def test_the_scan_finds_the_components_args() -> None:
    names = {cls.__name__ for cls in ARGS}
    assert {
        "VpcArgs",
        "FargateServiceArgs",
        "ReleaseHooksArgs",
        "CodeDeployApplicationArgs",
        "HardenedFunctionArgs",
    } <= names


@pytest.mark.parametrize("cls", ARGS, ids=lambda cls: cls.__name__)
def test_each_args_class_is_a_keyword_only_frozen_dataclass(cls: type) -> None:
    assert dataclasses.is_dataclass(cls)
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    assert params.frozen, f"{cls.__name__} must be frozen"
    assert all(field.kw_only for field in dataclasses.fields(cls)), f"{cls.__name__} must be kw_only"


@pytest.mark.parametrize("cls", ARGS, ids=lambda cls: cls.__name__)
def test_each_args_docstring_names_every_field(cls: type) -> None:
    doc = cls.__doc__ or ""
    # Without a docstring, dataclass writes its signature there, which names every field.
    assert not doc.startswith(f"{cls.__name__}("), f"{cls.__name__} has no docstring"
    undocumented = [
        field.name for field in dataclasses.fields(cls) if not re.search(rf"\b{field.name}\b", doc)
    ]
    assert not undocumented, f"{cls.__name__} docstring does not describe {undocumented}"


@pytest.mark.parametrize("cls", ARGS, ids=lambda cls: cls.__name__)
def test_no_args_class_takes_account_region_and_partition_apart(cls: type) -> None:
    names = {field.name for field in dataclasses.fields(cls)}
    assert not {"account_id", "partition"} & names, f"{cls.__name__}: pass the AwsContext whole"
