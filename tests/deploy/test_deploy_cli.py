"""`payments-deploy`: exit codes, the destroy confirmation, and machine-readable outputs."""

from __future__ import annotations

import json

import pytest

from deploy import cli
from tests.deploy.conftest import OFFLINE_AWS, FakeBackend, full

pytestmark = pytest.mark.usefixtures("repo", "passphrase")


def main(argv, backend, **kwargs):
    lines: list[str] = []
    code = cli.main(argv, backend=backend, out=lines.append, **OFFLINE_AWS, **kwargs)
    return code, lines


def test_up_exits_0_when_every_layer_is_deployed():
    code, _ = main(["up", "dev"], FakeBackend())
    assert code == 0


def test_a_failed_layer_exits_1():
    code, lines = main(["up", "dev"], FakeBackend(fail={"services"}))
    assert code == 1
    assert any("services: error: creating resource failed" in line for line in lines)


def test_a_preflight_refusal_exits_2_and_says_why():
    code, lines = main(["up", "dev"], FakeBackend(version=None))
    assert code == 2
    assert lines[-1].startswith("up refused: the Pulumi CLI is not on PATH")


def test_destroy_in_a_script_without_yes_is_refused():
    backend = FakeBackend().deployed("network")
    code, lines = main(["destroy", "dev"], backend, interactive=False)
    assert code == 2
    assert lines[-1] == "destroy refused: pass --yes, or run it in a terminal and type the stack name"
    assert backend.resources[full("network")] > 0


def test_destroy_runs_preflight_before_asking_for_the_stack_name():
    backend = FakeBackend(version=None).deployed("network")
    code, lines = main(["destroy", "dev"], backend, interactive=True, ask=lambda prompt: pytest.fail("asked"))
    assert code == 2
    assert lines[-1].startswith("destroy refused: the Pulumi CLI is not on PATH")


@pytest.mark.parametrize(("typed", "destroyed"), [("dev", True), ("prod", False), ("", False)])
def test_destroy_in_a_terminal_needs_the_stack_name_typed_back(typed, destroyed):
    backend = FakeBackend().deployed("network")
    code, _ = main(["destroy", "dev"], backend, interactive=True, ask=lambda prompt: typed)
    assert (backend.resources[full("network")] == 0) is destroyed
    assert code == (0 if destroyed else 2)


def test_destroy_with_yes_does_not_ask():
    backend = FakeBackend().deployed("network")
    code, _ = main(["destroy", "dev", "--yes"], backend, ask=lambda prompt: pytest.fail("asked"))
    assert code == 0
    assert backend.resources[full("network")] == 0


def test_outputs_json_prints_only_json_with_secrets_hidden(capsys):
    backend = FakeBackend().deployed("network", "services")
    code, lines = main(["outputs", "dev", "--json"], backend)
    assert code == 0
    assert json.loads(lines[-1]) == {
        "network": {"vpcId": "vpc-0abc"},
        "platform": {},
        "services": {"publicUrl": "http://alb", "token": "[secret]"},
    }
    assert len(lines) == 1  # progress and the summary went to stderr
    assert "summary: outputs dev" in capsys.readouterr().err
