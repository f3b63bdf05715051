"""The load benchmark's figures in the docs carry the commit they measured, and go stale with the code."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from localrun import loadtest_figures
from localrun.loadtest_figures import BEGIN, DOCUMENTS, END, Figures, Row

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

FIGURES = Figures(
    rows=(
        Row("ledger chain (uvicorn)", 1000, 950, 1100, 20.0, 50.0, 1.2, 0.4, 4.0, 0),
        Row("services", 900, 850, 950, 25.0, 60.0, 1.8, 0.4, 2.0, 0),
    ),
    baseline="ledger chain (uvicorn)",
    throughput_ratios=(0.86, 0.9, 0.95),
    p99_ratios=(1.3, 1.2, 1.1),
    target_throughput=0.85,
    target_p99=1.5,
    statements={"ledger chain (uvicorn)": {"BEGIN": 1.0}, "services": {}},
)


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A repository with the documents (empty figure blocks) and one measured file, committed."""
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "bench@example.com")
    git(tmp_path, "config", "user.name", "bench")
    for document in DOCUMENTS:
        (tmp_path / document).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / document).write_text(f"# doc\n\n{BEGIN}\nold figures\n{END}\n\nafter\n")
    (tmp_path / "apps/common").mkdir(parents=True)
    (tmp_path / "apps/common/web.py").write_text("# the payment path\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "start")
    return tmp_path


def commit_all(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


@needs_git
def test_written_figures_record_the_commit_measured_and_keep_the_text_around_them(repository):
    head = git(repository, "rev-parse", "--short=12", "HEAD")
    assert loadtest_figures.write(FIGURES, "concurrency 32", repository) == head
    benchmarks = (repository / "docs/benchmarks.md").read_text()
    assert f"Measured at commit `{head}`" in benchmarks
    assert "old figures" not in benchmarks
    assert benchmarks.startswith("# doc\n\n")
    assert benchmarks.endswith(f"{END}\n\nafter\n")
    assert "throughput 90% of the ledger chain (uvicorn)'s (86%-95%; target >= 85%)" in benchmarks
    assert "p99 1.20x (1.10-1.30x; target <= 1.5x), medians of 3 rounds' ratios: target met" in benchmarks
    assert "| **services** | 900 (850-950) | 25.0 | 60.0 | 1.80 | 0.40 | 2.0 |" in benchmarks
    assert loadtest_figures.recorded_commit((repository / "apps/README.md").read_text()) == head


@needs_git
def test_figures_are_current_until_a_measured_file_changes_in_a_later_commit(repository):
    loadtest_figures.write(FIGURES, "concurrency 32", repository)
    commit_all(repository, "figures")  # the documents' own commit does not make them stale
    assert loadtest_figures.stale_figures(repository) == []
    (repository / "README.md").write_text("unrelated\n")
    commit_all(repository, "unrelated change")
    assert loadtest_figures.stale_figures(repository) == []
    (repository / "apps/common/web.py").write_text("# the payment path, changed\n")
    commit_all(repository, "faster web layer")
    problems = loadtest_figures.stale_figures(repository)
    assert len(problems) == len(DOCUMENTS)
    assert all("faster web layer" in problem for problem in problems)
    assert all("python3 dev.py loadtest -- --write-docs" in problem for problem in problems)


@needs_git
def test_a_document_without_figures_or_with_an_unknown_commit_is_reported(repository):
    (repository / "docs/benchmarks.md").write_text("no block here\n")
    (repository / "apps/README.md").write_text(f"{BEGIN}\nMeasured at commit `0123456789ab` on x\n{END}\n")
    problems = loadtest_figures.stale_figures(repository)
    assert problems[0] == "docs/benchmarks.md has no loadtest figures block with `at commit `<sha>``"
    assert problems[1] == "apps/README.md records commit 0123456789ab, which this repository does not have"


@needs_git
def test_uncommitted_changes_to_measured_files_are_found_so_writing_figures_is_refused(repository):
    assert loadtest_figures.uncommitted_measured_files(repository) == []
    (repository / "apps/common/web.py").write_text("# changed, not committed\n")
    (repository / "apps/common/new.py").write_text("# new, untracked\n")
    (repository / "docs/benchmarks.md").write_text("docs are not measured\n")
    assert sorted(loadtest_figures.uncommitted_measured_files(repository)) == [
        "apps/common/new.py",
        "apps/common/web.py",
    ]


def test_writing_into_a_document_without_the_markers_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"docs/benchmarks\.md has no loadtest figures block"):
        loadtest_figures.replace_block("no markers\n", "figures", "docs/benchmarks.md")


@needs_git
def test_the_documented_service_figures_are_not_older_than_the_payment_path():
    """Changed the payment path? Measure again: `python3 dev.py loadtest -- --write-docs`, commit."""
    root = loadtest_figures.ROOT
    if not (root / ".git").exists():
        pytest.skip("not a git checkout: the figures' age cannot be told")
    if git(root, "rev-parse", "--is-shallow-repository") == "true":
        pytest.skip("a shallow clone may not hold the recorded commit")
    assert loadtest_figures.stale_figures() == []
