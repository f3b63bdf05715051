"""Every refusal of a declared config key gives a valid fix: the layer's directory and an example
that passes validation, taken back out of the message and tried.

The tests iterate over `shared/config/keys.py`, so a key declared later is covered without a change
here; a key whose refusal carries no valid example fails them, naming the key.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import Callable
from typing import Any

import pytest

from offline.layer_projects import Layer
from planning import plan
from shared.config import ConfigReader, NetworkConfig, PlatformConfig, ServicesConfig
from shared.config.keys import LAYER_KEYS, Key
from shared.errors import ConfigError

LOADERS: dict[str, Callable[[ConfigReader], Any]] = {
    "network": NetworkConfig.load,
    "platform": PlatformConfig.load,
    "services": ServicesConfig.load,
}
# A value of the wrong kind for each type; a string key gets text no pattern of the project accepts.
BAD = {"integer": "two", "boolean": "maybe", "array": "10.0.0.0/8", "map": "v3", "string": "not valid!*"}
# Keys the layer reads only in combination with another value: the refusal of a bad value needs it.
CONTEXT: dict[str, dict[str, str]] = {
    "databaseHost": {"database": "external", "databasePassword": "current-password"},
    "databasePassword": {"database": "external", "databaseHost": "ledger.example.com"},
    "paymentProviderKeyApiUrl": {"paymentProviderApiKeyRotation": "http-key-api"},
    "fraudScoringKeyApiUrl": {"fraudScoringApiKeyRotation": "http-key-api"},
}
SECRET_IN_CONTEXT = {"databasePassword"}
DECLARED = [(layer, key) for layer, keys in LAYER_KEYS.items() for key in keys.values()]
PYTHON_SPELLINGS = re.compile(r"\bNone\b|\bTrue\b|\bFalse\b|got '")


def base(layer: str) -> dict[str, Any]:
    """The example stack's config: a working starting point for each key's refusal."""
    return dict(Layer(layer).stack_config("dev"))


def load(layer: str, values: dict[str, Any], secret_keys: set[str]) -> Any:
    """The layer's config, loaded in an event loop: a credential becomes a secret `Output`."""

    async def within_a_loop() -> Any:
        return LOADERS[layer](ConfigReader.from_mapping(values, secret_keys=secret_keys))

    return asyncio.run(within_a_loop())


def refusal(layer: str, key: Key) -> ConfigError:
    values = {**base(layer), **CONTEXT.get(key.name, {}), key.name: BAD[key.type]}
    secrets = {k for k in CONTEXT.get(key.name, {}) if k in SECRET_IN_CONTEXT}
    with pytest.raises(ConfigError) as caught:
        load(layer, values, secrets)
    return caught.value


def example_in(message: str, layer: str, key: Key) -> tuple[dict[str, Any], set[str]]:
    """The example value the message gives for `key`, as the config it would set, and which of it
    is secret: the plan's `--config <layer>:<key>=<value>` form, or for a credential (which the plan
    cannot take) `pulumi config set --secret <key> <value>`."""
    words = shlex.split(message.split("Fix: ", 1)[1].replace(";", " ; "))
    if key.secret:
        at = next(i for i, w in enumerate(words[:-2]) if words[i : i + 2] == ["--secret", key.name])
        return {key.name: words[at + 2]}, {key.name}
    overrides = [words[i + 1] for i, w in enumerate(words[:-1]) if w == "--config"]
    assert overrides, f"no --config example in: {message}"
    parsed = plan.parse_overrides(overrides)
    assert list(parsed) == [layer], message
    assert list(parsed[layer]) == [key.name], message
    return parsed[layer], set()


@pytest.mark.parametrize(("layer", "key"), DECLARED, ids=lambda v: v if isinstance(v, str) else v.name)
def test_a_refusal_names_the_layer_directory_and_an_example_that_passes(layer, key):
    error = refusal(layer, key)
    message = str(error)
    assert error.key.split(".", 1)[0] == key.name, message
    assert f"stacks/{layer}" in error.fix, message
    assert not PYTHON_SPELLINGS.search(message), message
    example, secrets = example_in(message, layer, key)
    context = CONTEXT.get(key.name, {})
    secrets |= {k for k in context if k in SECRET_IN_CONTEXT}
    load(layer, {**base(layer), **context, **example}, secrets)  # no ConfigError


@pytest.mark.parametrize(("layer", "key"), DECLARED, ids=lambda v: v if isinstance(v, str) else v.name)
def test_every_declared_key_has_an_example_that_passes_on_its_own(layer, key):
    assert key.example_raw is not None, f"{key.name}: declare an `example` in shared/config/keys.py"
    context = CONTEXT.get(key.name, {})
    secrets = {k for k in context if k in SECRET_IN_CONTEXT} | ({key.name} if key.secret else set())
    load(layer, {**base(layer), **context, key.name: key.example_raw}, secrets)


MISPLACED = [
    (layer, owner, key)
    for layer in LAYER_KEYS
    for owner, keys in LAYER_KEYS.items()
    for key in keys.values()
    if key.name not in LAYER_KEYS[layer]
]


def first_owner(key: Key) -> str:
    return next(layer for layer, keys in LAYER_KEYS.items() if key.name in keys)


@pytest.mark.parametrize(
    ("layer", "owner", "key"), MISPLACED, ids=lambda v: v if isinstance(v, str) else v.name
)
def test_a_key_given_to_the_wrong_layer_is_sent_to_the_layer_it_belongs_to(layer, owner, key):
    with pytest.raises(ConfigError) as caught:
        load(layer, {**base(layer), key.name: key.example_raw}, set())
    message = str(caught.value)
    assert message.startswith(f"{key.name}: belongs to the "), message
    assert f"the {owner} layer (stacks/{owner})" in message
    assert f", not to {layer}" in message
    assert f"in stacks/{layer}: pulumi config rm {key.name}" in message
    if not key.secret:
        example, _ = example_in(message, first_owner(key), key)
        context = CONTEXT.get(key.name, {})
        secrets = {k for k in context if k in SECRET_IN_CONTEXT}
        load(first_owner(key), {**base(first_owner(key)), **context, **example}, secrets)


def test_network_task_cpu_says_task_cpu_belongs_to_services():
    with pytest.raises(ConfigError, match=r"^taskCpu: belongs to the services layer \(stacks/services\)"):
        load("network", {**base("network"), "taskCpu": "1024"}, set())


def test_a_bare_cidr_for_a_list_key_is_refused_with_it_as_a_json_list():
    with pytest.raises(ConfigError) as caught:
        load("platform", {**base("platform"), "allowedIngressCidrs": "10.0.0.0/8"}, set())
    message = str(caught.value)
    assert message.startswith('allowedIngressCidrs: must be a list written as JSON, got "10.0.0.0/8". Fix: ')
    assert """--config 'platform:allowedIngressCidrs=["10.0.0.0/8"]'""" in message
    assert "pulumi config set --path 'allowedIngressCidrs[0]' 10.0.0.0/8" in message


def test_a_bare_value_that_would_not_pass_as_a_list_gets_the_declared_example_instead():
    """The example is tried before it is shown: ["not-an-email"] would be refused too."""
    with pytest.raises(ConfigError) as caught:
        load("network", {**base("network"), "alarmEmails": "not-an-email"}, set())
    assert """--config 'network:alarmEmails=["oncall@example.com"]'""" in str(caught.value)


def test_min_capacity_two_in_words_gets_a_number():
    with pytest.raises(ConfigError) as caught:
        load("services", {**base("services"), "minCapacity": "two"}, set())
    assert str(caught.value) == (
        'minCapacity: must be a whole number, got "two". Fix: in stacks/services: '
        "pulumi config set minCapacity 2; with plan: --config services:minCapacity=2"
    )


def test_an_unset_required_value_says_unset_not_none():
    values = {k: v for k, v in base("services").items() if k != "allowPlaintextHttp"}
    with pytest.raises(ConfigError) as caught:
        load("services", values, set())
    message = str(caught.value)
    assert message.startswith("certificateArn: is required")
    assert "and it is unset" in message
    assert "None" not in message


@pytest.mark.parametrize("layer", ["network", "platform", "services"])
def test_an_invalid_suffix_in_one_layer_is_refused_as_invalid_not_only_as_a_mismatch(layer):
    suffixes = dict.fromkeys(("network", "platform", "services"), "dev") | {layer: "Dev!"}
    with pytest.raises(ConfigError) as caught:
        plan.check_one_suffix(suffixes)
    message = str(caught.value)
    assert message.startswith("environmentSuffix: must use only lowercase letters, digits and single hyphens")
    assert f"in stacks/{layer}: " in message
    assert f"--config {layer}:environmentSuffix=dev" in message


def test_plan_exits_2_naming_the_invalid_suffix_and_its_layer(tmp_path, capsys):
    argv = ["--out", str(tmp_path / "p.json"), "--config", "platform:environmentSuffix=Dev!"]
    assert plan.main(argv) == 2
    err = capsys.readouterr().err
    assert "environmentSuffix: must use only lowercase letters" in err
    assert "stacks/platform" in err
    assert "differ" not in err
