"""Every layer runs as Pulumi's Python language host runs it, and no layer module shadows another.

`pulumi-language-python-exec` (pulumi/pulumi, sdk/python/cmd/) changes to the project directory and calls
`runpy.run_path(".", run_name="__main__")`, which puts the program directory first on sys.path (Python
docs, runpy.run_path). A module in a layer folder named like a standard-library module or an installed
package then replaces it for every import made after that point, including the imports of third-party
code (pg8000 -> scramp -> `from secrets import token_bytes`).
"""

from __future__ import annotations

import importlib.metadata
import shutil
import sys
from pathlib import Path

import pytest

from offline.engine import evaluate
from offline.layer_projects import Layer, evaluate_layer

ROOT = Path(__file__).resolve().parents[2]
PROJECT_DIRECTORIES = sorted(path.parent for path in ROOT.glob("stacks/*/Pulumi.yaml"))


def module_names(directory: Path) -> dict[str, Path]:
    """What `import NAME` would find in `directory` once it is first on sys.path."""
    found = {path.stem: path for path in directory.glob("*.py") if path.stem not in ("__main__", "__init__")}
    found |= {path.name: path for path in directory.iterdir() if (path / "__init__.py").is_file()}
    return found


def taken_names() -> dict[str, str]:
    """Top-level import names already used by the standard library or an installed distribution."""
    taken = dict.fromkeys(sys.stdlib_module_names, "the standard library")
    for name, distributions in importlib.metadata.packages_distributions().items():
        taken.setdefault(name, f"the installed distribution {', '.join(sorted(set(distributions)))}")
    return taken


def test_there_are_three_pulumi_projects():
    assert [path.name for path in PROJECT_DIRECTORIES] == ["network", "platform", "services"]


@pytest.mark.parametrize("directory", PROJECT_DIRECTORIES, ids=lambda path: path.name)
def test_no_module_in_a_pulumi_project_shadows_the_standard_library_or_an_installed_package(directory):
    taken = taken_names()
    clashes = {
        f"{path.relative_to(ROOT)} shadows {taken[name]} ({name!r})"
        for name, path in module_names(directory).items()
        if name in taken
    }
    assert not clashes, (
        "rename these modules after what they build (e.g. platform_secrets.py):\n"
        + "\n".join(sorted(clashes))
    )


def test_the_shadowing_check_sees_what_the_old_tree_had():
    """stacks/platform/secrets.py, the module that broke `pulumi up` of the platform layer, is caught."""
    assert taken_names()["secrets"] == "the standard library"
    assert "pg8000" in taken_names()  # an installed distribution's top level counts too


@pytest.fixture(scope="module")
def network_exports() -> dict[str, object]:
    return evaluate_layer("network").exports


def copy_of(layer: str, tmp_path: Path) -> Path:
    copy = tmp_path / layer
    shutil.copytree(ROOT / "stacks" / layer, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_a_planted_shadowing_module_fails_the_layer_as_the_cli_would(tmp_path, network_exports):
    """The canary: the old tree's `secrets.py` beside the platform program breaks pg8000's import chain."""
    copy = copy_of("platform", tmp_path)
    (copy / "secrets.py").write_text(
        '"""A layer module that happens to share the standard library\'s name."""\n'
    )
    with pytest.raises(ImportError, match=r"cannot import name 'token_bytes' from 'secrets'.*secrets\.py"):
        evaluate(
            copy,
            project=Layer("platform").project,
            config={**Layer("platform").defaults(), **Layer("platform").stack_config("dev")},
            upstream={Layer("network").stack_name("dev"): network_exports},
        )


def test_the_same_copy_without_the_planted_module_evaluates(tmp_path, network_exports):
    copy = copy_of("platform", tmp_path)
    result = evaluate(
        copy,
        project=Layer("platform").project,
        config={**Layer("platform").defaults(), **Layer("platform").stack_config("dev")},
        upstream={Layer("network").stack_name("dev"): network_exports},
    )
    assert result.all("aws:rds/instance:Instance")


def test_a_program_runs_in_its_own_directory_with_the_hosts_argv_and_config_environment(tmp_path):
    program = tmp_path / "probe"
    program.mkdir()
    (program / "__main__.py").write_text(
        "import json, os, sys\n"
        "import pulumi\n"
        "pulumi.export('cwd', os.getcwd())\n"
        "pulumi.export('argv', sys.argv)\n"
        "pulumi.export('path0', sys.path[0])\n"
        "pulumi.export('config', json.loads(os.environ['PULUMI_CONFIG']))\n"
        "pulumi.export('secretKeys', json.loads(os.environ['PULUMI_CONFIG_SECRET_KEYS']))\n"
        "pulumi.export('size', pulumi.Config().require_int('size'))\n"
    )
    result = evaluate(program, project="probe", config={"size": 3, "token": "t"}, secret_keys=["token"])
    assert result.exports["cwd"] == str(program)
    assert result.exports["argv"] == ["."]
    assert result.exports["path0"] == "."
    assert result.exports["config"] == {"probe:size": "3", "probe:token": "t"}
    assert result.exports["secretKeys"] == ["probe:token"]
    assert result.exports["size"] == 3


def test_each_layer_gets_a_fresh_interpreter_state(tmp_path):
    """A module-level side effect of one evaluation is not seen by the next, as with two `pulumi up`s."""
    program = tmp_path / "counter"
    program.mkdir()
    (program / "__main__.py").write_text(
        "import json, pulumi\n"
        "seen = getattr(json, '_offline_probe_seen', 0)\n"
        "json._offline_probe_seen = seen + 1\n"
        "pulumi.export('seen', seen)\n"
    )
    first = evaluate(program, project="counter", config={"n": 1})
    second = evaluate(program, project="counter", config={"n": 2})
    assert (first.exports["seen"], second.exports["seen"]) == (0, 0)


def test_a_program_error_keeps_its_type_and_message_and_says_where_it_ran(tmp_path):
    program = tmp_path / "broken"
    program.mkdir()
    (program / "__main__.py").write_text("raise LookupError('no such thing')\n")
    with pytest.raises(LookupError, match="no such thing") as raised:
        evaluate(program, project="broken")
    assert any("as the Pulumi CLI runs it" in note for note in raised.value.__notes__)


def test_a_path_that_is_not_a_program_directory_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a Pulumi program directory"):
        evaluate(tmp_path, project="empty")
