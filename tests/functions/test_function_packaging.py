"""The Lambda zip: the function's source and its pure-Python dependencies, nothing else."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from functions.packaging import function_archive, resolve_distributions


def test_dependencies_are_resolved_transitively_without_extras():
    assert resolve_distributions(("pg8000",)) == ["pg8000", "python-dateutil", "scramp", "six", "asn1crypto"]


def test_the_archive_holds_the_handler_and_pg8000_with_its_dependencies_and_no_bytecode():
    files = set(function_archive("secret_rotation", ("pg8000",)).assets)
    assert "secret_rotation/handler.py" in files
    assert "secret_rotation/strategies.py" in files
    for module in (
        "pg8000/__init__.py",
        "scramp/__init__.py",
        "asn1crypto/__init__.py",
        "dateutil/__init__.py",
    ):
        assert module in files
    assert "six.py" in files
    assert not [f for f in files if f.endswith(".pyc") or "__pycache__" in f]
    assert any(f.startswith("scramp-") and f.endswith(".dist-info/METADATA") for f in files)


def test_the_archive_is_the_same_every_time():
    first = function_archive("secret_rotation", ("pg8000",)).assets
    second = function_archive("secret_rotation", ("pg8000",)).assets
    assert list(first) == list(second)
    assert [a.path for a in first.values()] == [a.path for a in second.values()]


def test_the_handler_imports_from_the_unpacked_archive_alone(tmp_path):
    """Like Lambda: only the zip's root and a boto3 (which the runtime provides) on the path."""
    for relative, asset in function_archive("secret_rotation", ("pg8000",)).assets.items():
        target = tmp_path / "task" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(Path(asset.path).read_bytes())
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    (runtime / "boto3.py").write_text("def client(*args, **kwargs):\n    raise RuntimeError('not here')\n")
    probe = textwrap.dedent(
        f"""
        import sys
        stdlib = [p for p in sys.path if "site-packages" not in p]
        sys.path[:] = [{str(tmp_path / "task")!r}, {str(runtime)!r}, *stdlib]
        import secret_rotation.handler as handler
        import secret_rotation.bootstrap, secret_rotation.database_credentials, secret_rotation.api_keys
        import pg8000
        assert pg8000.__file__.startswith({str(tmp_path / "task")!r}), pg8000.__file__
        print(handler.handler.__name__)
        """
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "handler"
