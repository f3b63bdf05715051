"""Change the lock on purpose: re-resolve uv.lock and write what is generated from it.

    python3 dev.py lock                        # after editing a range in pyproject.toml
    python3 dev.py lock -- --upgrade           # newest versions the ranges allow
    python3 dev.py lock -- --upgrade-package moto
    python3 dev.py lock -- --uv 0.14.0         # move to another uv: pyproject.toml and the hashes

Then commit uv.lock, apps/requirements.txt (and tools/uv-requirements.txt, pyproject.toml with --uv).
Nothing else in the project writes the lock: every install is `uv sync --locked` (dev.py).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
APPS_REQUIREMENTS = ROOT / "apps" / "requirements.txt"
UV_REQUIREMENTS = ROOT / "tools" / "uv-requirements.txt"
PYPROJECT = ROOT / "pyproject.toml"
APPS_HEADER = (
    "# Generated from uv.lock by `python3 dev.py lock` (the `apps` dependency group): what the service\n"
    "# images install, every transitive dependency pinned with its hashes, so an image build is\n"
    "# reproducible.\n"
)
UV_HEADER = (
    "# The uv that dev.py installs (with pip, hash-checked) to install everything else from uv.lock.\n"
    "# The same version as `[tool.uv] required-version` in pyproject.toml (a test keeps the two equal).\n"
)
SIMPLE_INDEX = "https://pypi.org/simple/uv/"
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


def bootstrap() -> ModuleType:
    """dev.py, loaded by path: it knows where uv lives and the settings it runs with."""
    spec = importlib.util.spec_from_file_location("payments_dev", ROOT / "dev.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {ROOT / 'dev.py'}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def uv(*args: str, capture: bool = False) -> str:
    """Run the project's pinned uv (dev.py installed it) with the project's settings."""
    dev = bootstrap()
    command = [str(dev.ensure_uv()), *args, "--project", str(ROOT)]
    result = subprocess.run(
        command, cwd=ROOT, env=dev.uv_environment(dev.VENV), capture_output=capture, text=True
    )
    if result.returncode != 0:
        raise SystemExit(result.returncode)
    return result.stdout if capture else ""


def apps_requirements() -> str:
    """apps/requirements.txt as uv.lock says it should be: the `apps` group with hashes."""
    exported = uv(
        "export", "--frozen", "--only-group", "apps", "--no-emit-project", "--no-header",
        "--format", "requirements-txt", "--quiet", capture=True,
    )  # fmt: skip
    return APPS_HEADER + exported


def uv_requirements(version: str, fetch: Callable[[str], bytes]) -> str:
    """tools/uv-requirements.txt for `version`: every wheel's sha256 from PyPI's JSON simple index."""
    if not _VERSION.match(version):
        raise SystemExit(f"--uv takes a release version such as 0.13.9, got {version!r}")
    index = json.loads(fetch(SIMPLE_INDEX))
    prefix = f"uv-{version}-"
    hashes = sorted(
        entry["hashes"]["sha256"]
        for entry in index["files"]
        if entry["filename"].startswith(prefix) and entry["filename"].endswith(".whl")
    )
    if not hashes:
        raise SystemExit(f"PyPI lists no wheel of uv {version}: check the version")
    lines = [f"uv=={version} \\"] + [f"    --hash=sha256:{digest} \\" for digest in hashes]
    lines[-1] = lines[-1].removesuffix(" \\")
    return UV_HEADER + "\n".join(lines) + "\n"


def fetch_json(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        body: bytes = response.read()
        return body


def set_required_uv(version: str) -> None:
    text = PYPROJECT.read_text()
    updated, count = re.subn(r'(?m)^required-version = "==[^"]+"$', f'required-version = "=={version}"', text)
    if count != 1:
        raise SystemExit('pyproject.toml has no `required-version = "==X"` line under [tool.uv]')
    PYPROJECT.write_text(updated)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 dev.py lock --", description=__doc__.split("\n\n")[0])
    parser.add_argument("--upgrade", action="store_true", help="newest versions the ranges allow")
    parser.add_argument("--upgrade-package", action="append", default=[], metavar="NAME")
    parser.add_argument("--uv", metavar="VERSION", help="move the project to this uv release")
    args = parser.parse_args(argv)
    if args.uv:
        UV_REQUIREMENTS.write_text(uv_requirements(args.uv, fetch_json))
        set_required_uv(args.uv)
        print(f"uv {args.uv}: tools/uv-requirements.txt and pyproject.toml updated")
    options = ["--upgrade"] if args.upgrade else []
    options += [part for name in args.upgrade_package for part in ("--upgrade-package", name)]
    uv("lock", *options)
    APPS_REQUIREMENTS.write_text(apps_requirements())
    print("uv.lock and apps/requirements.txt are up to date; commit them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
