"""One declaration per config key: shared/config/keys.py, and the files generated from it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from offline.layer_projects import Layer
from shared.config import ConfigReader, NetworkConfig, PlatformConfig, ServicesConfig
from shared.config.keys import LAYER_KEYS, Key
from shared.config.render import TABLE_BEGIN, TABLE_END, markdown_table, replace_between, with_config_block
from shared.layers import LAYERS
from tests.helpers import parse_python

ROOT = Path(__file__).resolve().parents[3]
LOADERS = {"network": NetworkConfig.load, "platform": PlatformConfig.load, "services": ServicesConfig.load}
READER_METHODS = {
    "string",
    "optional_string",
    "integer",
    "boolean",
    "choice",
    "json_value",
    "string_list",
    "cidr",
}


@pytest.mark.parametrize("layer", LAYERS)
def test_the_committed_pulumi_yaml_config_block_is_generated_from_the_declarations(layer):
    text = (ROOT / "stacks" / layer / "Pulumi.yaml").read_text()
    assert text == with_config_block(text, layer), "stale: run `python3 dev.py docs`"


@pytest.mark.parametrize("layer", LAYERS)
def test_the_committed_config_table_is_generated_from_the_declarations(layer):
    text = (ROOT / "stacks" / layer / "README.md").read_text()
    assert text == replace_between(text, TABLE_BEGIN, TABLE_END, markdown_table(layer)), (
        "stale: run `python3 dev.py docs`"
    )


@pytest.mark.parametrize("layer", LAYERS)
def test_pulumi_applies_exactly_the_declared_defaults(layer):
    """What the Pulumi CLI fills in for an unset key (Pulumi.yaml) is what the code would use."""
    schema = yaml.safe_load((ROOT / "stacks" / layer / "Pulumi.yaml").read_text())["config"]
    for name, declaration in schema.items():
        key = LAYER_KEYS[layer][name]
        if key.required:
            assert "default" not in declaration
        elif key.default is None:
            assert declaration["default"] == "", name  # read as unset
        elif isinstance(key.default, tuple):
            assert declaration["default"] == list(key.default), name
        else:
            assert declaration["default"] == key.default, name


@pytest.mark.parametrize("layer", LAYERS)
def test_every_declared_key_is_read_and_every_read_key_is_declared(layer):
    read: set[str] = set()

    def spy(key: str) -> str | None:
        read.add(key)
        return {"environmentSuffix": "dev", "allowPlaintextHttp": "true"}.get(key)

    LOADERS[layer](ConfigReader(spy))
    assert read == set(LAYER_KEYS[layer])


def test_no_default_or_limit_is_written_at_a_read():
    """The readers take defaults and bounds from the declarations: no positional default anywhere."""
    offenders = []
    for path in sorted((ROOT / "shared" / "config").glob("*.py")):
        for node in ast.walk(parse_python(path)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in READER_METHODS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "reader"
                and len(node.args) > 1
            ):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


def test_a_read_of_an_undeclared_key_or_of_the_wrong_type_is_a_programming_error():
    reader = ConfigReader.from_mapping({}).declared(LAYER_KEYS["services"])
    with pytest.raises(LookupError, match=r"not declared in shared/config/keys\.py"):
        reader.integer("maxCapacty")
    with pytest.raises(TypeError, match="declared as integer, read as string"):
        reader.string("maxCapacity")
    with pytest.raises(TypeError, match="has a declared default"):
        reader.integer("maxCapacity", default=3)


def test_a_declaration_refuses_a_default_outside_its_own_limits():
    with pytest.raises(ValueError, match="outside its bounds"):
        Key(name="x", type="integer", default=0, minimum=1, description="d")
    with pytest.raises(ValueError, match="not one of its choices"):
        Key(name="x", type="string", default="c", choices=("a", "b"), description="d")


def test_the_offline_engine_reads_the_same_defaults_as_pulumi():
    for layer in LAYERS:
        defaults = Layer(layer).defaults()
        assert "desiredCount" not in defaults  # follows minCapacity: never fixed by Pulumi.yaml
        assert defaults.get("costCenter") == "payments"


def test_generated_cells_keep_angle_brackets_and_pipes_visible_on_github():
    from shared.config.render import _md

    assert _md("base name: <name>-<suffix>") == "base name: &lt;name&gt;-&lt;suffix&gt;"
    assert _md("a `<kept>` b") == "a `<kept>` b"
    assert _md("one | two") == "one \\| two"
    for layer in LAYERS:
        table = markdown_table(layer)
        rows = [line for line in table.splitlines() if line.startswith("| `")]
        assert all(line.count(" | ") == 4 for line in rows), layer


@pytest.mark.parametrize("value", ["0.01", "on", "null", "5", "- x", "a: b", "true", "payments"])
def test_a_string_default_loads_back_from_yaml_as_the_same_string(value):
    from shared.config.render import _yaml_scalar

    assert yaml.safe_load(f"default: {_yaml_scalar(value)}")["default"] == value
