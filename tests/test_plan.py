"""`nox -s plan`, the README's main command: output, JSON file, config overrides, bad config."""

from __future__ import annotations

import json

import pytest

from offline import plan


def test_plan_prints_every_layer_and_writes_the_json(tmp_path, capsys):
    out = tmp_path / "plan.json"
    assert plan.main(["--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "== network (payments-network/dev):" in printed
    assert "aws:ec2/subnet:Subnet" in printed
    report = json.loads(out.read_text())
    [network] = [layer for layer in report["layers"] if layer["layer"] == "network"]
    assert network["resourceCounts"]["aws:ec2/subnet:Subnet"] == 6
    assert network["exports"]["vpcCidr"] == "10.0.0.0/16"
    assert any(r["type"] == "aws:ec2/flowLog:FlowLog" for r in network["resources"])


def test_config_overrides_reach_the_layer(tmp_path):
    out = tmp_path / "plan.json"
    assert plan.main(["--out", str(out), "--config", "network:natGateways=perAz"]) == 0
    network = json.loads(out.read_text())["layers"][0]
    assert network["layer"] == "network"
    assert network["resourceCounts"]["aws:ec2/natGateway:NatGateway"] == 3


def test_bad_config_fails_with_the_deployment_message(tmp_path, capsys):
    code = plan.main(["--out", str(tmp_path / "p.json"), "--config", "network:natGateways=two"])
    assert code == 2
    assert "natGateways: must be one of 'perAz', 'single', got 'two'" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["natGateways=perAz", "compute:x=1", "network:=1", "network:key"])
def test_a_malformed_override_says_the_expected_form(bad):
    with pytest.raises(SystemExit, match="expected <layer>:<key>=<value>"):
        plan.parse_overrides([bad])


def test_overrides_keep_scalars_as_strings_and_decode_json_lists():
    parsed = plan.parse_overrides(
        ["network:azCount=4", "network:interfaceEndpoints=true", 'network:availabilityZones=["a","b"]']
    )
    assert parsed == {
        "network": {"azCount": "4", "interfaceEndpoints": "true", "availabilityZones": ["a", "b"]}
    }
    with pytest.raises(SystemExit, match="not valid JSON"):
        plan.parse_overrides(["network:availabilityZones=[a"])
