"""Every repository path and document the code and docs cite exists, and nothing cites a document
outside the repository: a renamed test or a moved module leaves no stale pointer behind."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOP_LEVEL = (
    "apps|deploy|docs|functions|localrun|offline|planning|policy|release|shared|stacks|tests|tools|"
    "\\.github|\\.ci"
)
# A path from the repository root, e.g. `stacks/platform/managed_database.py` or `docs/security.md#waf`.
CITED_PATH = re.compile(rf"(?<![\w/.@:-])((?:{TOP_LEVEL})/[\w./-]*\w)")
# What follows a path that is a pattern or a placeholder rather than one file: `Pulumi.<stack>.yaml`.
PATTERN_FOLLOWS = re.compile(r"[-._]?[*<{]")
# Text that is not a path of this repository though it looks like one: another repository's file cited
# after its name (`moby/buildkit, docs/...`), an IAM policy's name (`policy/payments-role-boundary`), a
# stack file a person creates (`stacks/services/Pulumi.qa.yaml`).
OTHER_REPOSITORY_BEFORE = re.compile(r"[\w.-]+/[\w.-]+,\s*`?$")
NOT_OURS = re.compile(r"^policy/[\w-]+$|^stacks/\w+/Pulumi\.[\w-]+\.yaml$")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
# Documents that are not part of the repository and must not be relied on by it.
OUTSIDE = re.compile(r"\bDESIGN(?:\.md| §)|\.\./shared/|\bthe brief\b")
SCANNED_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".json", ".txt", ""}


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    files = [ROOT / line for line in listed.stdout.splitlines()]
    return [
        path
        for path in files
        if path.is_file()
        and path.suffix in SCANNED_SUFFIXES
        and path.name not in ("uv.lock", "requirements.txt", "uv-requirements.txt")
        and "reference" not in path.relative_to(ROOT).parts  # third-party reference data
        and path.relative_to(ROOT).parts[0] != "tests"  # tests name missing files on purpose
    ]


def exists(cited: str) -> bool:
    path = cited.split("#", 1)[0].rstrip(".")
    if any(mark in path for mark in ("*", "<", "{", "...")):
        return True  # a pattern or a placeholder, not one file
    candidate = ROOT / path
    return candidate.exists() or candidate.with_suffix("").exists()


def stale_citations() -> list[str]:
    found = []
    for path in tracked_files():
        text = path.read_text(errors="replace")
        relative = path.relative_to(ROOT)
        for number, line in enumerate(text.splitlines(), 1):
            for match in CITED_PATH.finditer(line):
                if PATTERN_FOLLOWS.match(line, match.end()) or NOT_OURS.match(match[1]):
                    continue
                if OTHER_REPOSITORY_BEFORE.search(line[: match.start()]):
                    continue
                if not exists(match[1]):
                    found.append(f"{relative}:{number}: {match[1]}")
            if path.suffix == ".md":
                for target in MARKDOWN_LINK.findall(line):
                    if "://" in target or target.startswith(("#", "mailto:")):
                        continue
                    resolved = (path.parent / target.split("#", 1)[0]).resolve()
                    if target.split("#", 1)[0] and not resolved.exists():
                        found.append(f"{relative}:{number}: link {target}")
    return found


def test_every_cited_repository_path_exists():
    assert stale_citations() == []


def test_nothing_cites_a_document_outside_the_repository():
    cited = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}"
        for path in tracked_files()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert cited == []


def test_the_check_finds_a_stale_path(tmp_path):
    assert not exists("tests/test_no_such_module.py")
    assert exists("stacks/platform/platform_secrets.py")
    assert exists("docs/development.md#the-offline-engine-is-a-model-of-the-pulumi-cli")
    assert CITED_PATH.findall("see stacks/platform/secrets.py.") == ["stacks/platform/secrets.py"]
    assert CITED_PATH.findall("arn:aws:iam::aws:policy/ReadOnlyAccess") == []
    line = "stacks/services/Pulumi.<stack>.yaml"
    assert PATTERN_FOLLOWS.match(line, CITED_PATH.search(line).end())
    assert NOT_OURS.match("policy/payments-role-boundary")
    assert not NOT_OURS.match("policy/rules.py")
    assert OTHER_REPOSITORY_BEFORE.search("(moby/buildkit, ")
