"""Deterministic Lambda deployment archives: a function's source plus its pure-Python dependencies.

The dependencies come from the project's own virtualenv (they are runtime dependencies in
pyproject.toml), so `pulumi up` needs no build step and no network. Only source files go in: no
`__pycache__` and no `.pyc`, so the archive's hash changes only when code changes. Each dependency's
`.dist-info` goes in too: some read their own version through `importlib.metadata` (scramp does).
Data files from elsewhere in the repository (a CA bundle) go in at the archive paths the caller names.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pulumi

FUNCTIONS_DIR = Path(__file__).resolve().parent
_REQUIREMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SKIPPED_PARTS = ("__pycache__",)


def function_archive(
    package: str, dependencies: tuple[str, ...] = (), data_files: Mapping[str, Path] | None = None
) -> pulumi.AssetArchive:
    """The zip for `functions/<package>`; its handler is `<package>.handler.handler`.

    data_files: archive path -> file to put there, e.g. {"<package>/ca.pem": Path(...)}. Default: none.
    """
    files = dict(_source_files(FUNCTIONS_DIR / package, prefix=package))
    for distribution in resolve_distributions(dependencies):
        files.update(_distribution_files(distribution))
    for archive_path, source in (data_files or {}).items():
        if archive_path in files or not source.is_file():
            raise ValueError(
                f"data file {archive_path!r}: {source} must be an existing file at a path no module takes"
            )
        files[archive_path] = source
    return pulumi.AssetArchive(
        {path: pulumi.FileAsset(str(source)) for path, source in sorted(files.items())}
    )


def resolve_distributions(names: tuple[str, ...]) -> list[str]:
    """`names` and everything they require (extras excluded), each once, in a stable order."""
    seen: dict[str, None] = {}
    pending = list(names)
    while pending:
        name = _normalise(pending.pop(0))
        if name in seen:
            continue
        seen[name] = None
        for requirement in importlib.metadata.requires(name) or []:
            if "extra ==" in requirement:
                continue
            match = _REQUIREMENT_NAME.match(requirement)
            if match:
                pending.append(match.group(0))
    return list(seen)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _source_files(directory: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    for path in sorted(directory.rglob("*")):
        if path.is_file() and _wanted(path.relative_to(directory)):
            yield f"{prefix}/{path.relative_to(directory).as_posix()}", path


def _distribution_files(name: str) -> Iterator[tuple[str, Path]]:
    distribution = importlib.metadata.distribution(name)
    for file in distribution.files or []:
        relative = Path(str(file))
        if relative.parts and relative.parts[0] != ".." and _wanted(relative):
            yield relative.as_posix(), Path(str(distribution.locate_file(file)))


def _wanted(relative: Path) -> bool:
    if any(part.endswith(_SKIPPED_PARTS) for part in relative.parts):
        return False
    return relative.suffix not in (".pyc", ".pyo")
