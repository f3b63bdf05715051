"""The top-level packages depend one way only: shared <- offline <- policy <- planning (and the rest).

A cycle would mean the offline engine cannot be used (or tested) without the plan feature on top of it.
The services (apps/) import only shared: the local-run tooling (localrun/) stays out of their images.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import parse_python

ROOT = Path(__file__).resolve().parents[2]
# What each package may import from the project's own packages.
ALLOWED = {
    "shared": set(),
    "offline": {"shared"},
    "policy": {"shared", "offline"},
    "planning": {"shared", "offline", "policy", "stacks"},
    # The services run in images that hold only apps/ and a few shared modules: never the local-run tooling.
    "apps": {"shared"},
}
PROJECT_PACKAGES = {
    "shared",
    "offline",
    "policy",
    "planning",
    "stacks",
    "functions",
    "apps",
    "localrun",
    "release",
    "deploy",
}


def imported_packages(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(parse_python(path)):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in PROJECT_PACKAGES and top != package:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_packages_below_it(package):
    wrong = {top: files for top, files in imported_packages(package).items() if top not in ALLOWED[package]}
    assert wrong == {}


def test_tests_live_in_folders_named_after_what_they_test():
    """tests/ mirrors the repository: no flat test module, and every test folder is a package."""
    tests = ROOT / "tests"
    assert sorted(path.name for path in tests.glob("test_*.py")) == []
    folders = {path.parent for path in tests.rglob("test_*.py")}
    assert sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").exists()) == []
    # A folder named after a package of the project holds that package's tests (and the layers' tests
    # are named after the layer: tests/network for stacks/network).
    layers = {path.name for path in (ROOT / "stacks").iterdir() if (path / "Pulumi.yaml").exists()}
    cross_cutting = {"compliance", "components", "integration", "repository", "security", "stacks"}
    top = {folder.relative_to(tests).parts[0] for folder in folders}
    assert sorted(top - PROJECT_PACKAGES - layers - cross_cutting) == []


# Module names two packages may share because they name the same idea in each: a package's entry point,
# a service's application, a tool's command line, a package's error types, and the AppSpec properties the
# services stack writes and a release reads.
SHARED_MODULE_NAMES = {"__init__", "__main__", "app", "cli", "errors", "appspec_properties"}


def test_one_module_name_per_idea():
    """Outside tests/, a module name means one thing: a second `database.py` or `secrets.py` is a new
    name to find, not a collision to learn."""
    seen: dict[str, list[str]] = {}
    for package in sorted(PROJECT_PACKAGES):
        for path in sorted((ROOT / package).rglob("*.py")):
            seen.setdefault(path.stem, []).append(str(path.relative_to(ROOT)))
    collisions = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert sorted(set(collisions) - SHARED_MODULE_NAMES) == [], collisions


def test_configuration_objects_are_called_config():
    """One word for configuration objects: classes end in `Config`, never `Settings`."""
    offenders = []
    for package in sorted(PROJECT_PACKAGES):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(parse_python(path)):
                if isinstance(node, ast.ClassDef) and "Settings" in node.name:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert offenders == []
