"""`python3 dev.py plan`, the README's main command: output, JSON file, config overrides, bad config."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from planning import plan


@pytest.fixture(scope="module")
def example_plan(tmp_path_factory) -> tuple[str, dict]:
    """`plan` of the example stacks, run once: (what it printed, the JSON file it wrote)."""
    out = tmp_path_factory.mktemp("plan") / "plan.json"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert plan.main(["--out", str(out)]) == 0
    return printed.getvalue(), json.loads(out.read_text())


def test_plan_prints_every_layer_and_writes_the_json(example_plan):
    printed, report = example_plan
    assert "== network (payments-network/dev):" in printed
    assert "aws:ec2/subnet:Subnet" in printed
    [network] = [layer for layer in report["layers"] if layer["layer"] == "network"]
    assert network["resourceCounts"]["aws:ec2/subnet:Subnet"] == 6
    assert network["exports"]["vpcCidr"] == "10.0.0.0/16"
    assert any(r["type"] == "aws:ec2/flowLog:FlowLog" for r in network["resources"])
    # Every layer is there and the example config has no mandatory violation.
    assert [layer["layer"] for layer in report["layers"]] == ["network", "platform", "services"]
    for layer in report["layers"]:
        assert [
            r["rule"] for r in layer["policy"] if r["enforcement"] == "mandatory" and not r["passed"]
        ] == []
        assert f"== {layer['layer']} ({layer['project']}/dev)" in printed


def test_plan_prints_and_writes_the_warnings_a_layer_logs_as_up_would(example_plan):
    """The example has no alarm subscription: the network layer warns, from its own process."""
    printed, report = example_plan
    [network] = [layer for layer in report["layers"] if layer["layer"] == "network"]
    assert any("no subscription" in warning for warning in network["warnings"])
    assert "   warning: " in printed


def test_plan_reports_every_rule_per_layer_and_flags_a_departure_from_the_required_sizing(tmp_path, capsys):
    out = tmp_path / "plan.json"
    # A deliberate sizing change is advisory: the plan still exits 0.
    assert plan.main(["--out", str(out), "--config", "services:taskMemory=4096"]) == 0
    layers = {layer["layer"]: layer for layer in json.loads(out.read_text())["layers"]}
    for layer in layers.values():
        assert {r["rule"] for r in layer["policy"]} >= {"names-carry-the-suffix", "compliance-tags"}
    failing = {r["rule"]: r["violations"] for r in layers["services"]["policy"] if not r["passed"]}
    assert set(failing) == {"task-size-1vcpu-2gb"}
    assert all("('1024', '4096')" in v for v in failing["task-size-1vcpu-2gb"])
    assert "[advisory] task-size-1vcpu-2gb (platform)" in capsys.readouterr().out


def test_plan_exits_1_when_a_mandatory_rule_fails(tmp_path, capsys, monkeypatch):
    from policy import offline_check
    from policy.model import Rule

    def no_https(resource, context):
        if resource.type == "aws:lb/listener:Listener" and resource.props.get("protocol") == "HTTP":
            return ["plain HTTP listener"]
        return []

    planted = Rule("planted-no-plain-http", "platform", "planted for the test", resource_check=no_https)
    monkeypatch.setattr(offline_check, "RULES", (*offline_check.RULES, planted))
    out = tmp_path / "plan.json"
    assert plan.main(["--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "[mandatory] planted-no-plain-http (platform)" in captured.out
    assert "mandatory rule(s) failed: services: planted-no-plain-http" in captured.err
    assert out.exists()  # the plan is still written for the reader


def test_mandatory_failures_names_the_layer_and_rule_and_ignores_advisory_ones():
    report = {
        "layers": [
            {
                "layer": "services",
                "policy": [
                    {"rule": "a", "enforcement": "mandatory", "passed": False},
                    {"rule": "b", "enforcement": "advisory", "passed": False},
                    {"rule": "c", "enforcement": "mandatory", "passed": True},
                ],
            }
        ]
    }
    assert plan.mandatory_failures(report) == ["services: a"]


def test_plan_says_per_stack_whether_the_public_api_serves_plaintext(example_plan, tmp_path):
    printed, report = example_plan
    services = next(layer for layer in report["layers"] if layer["layer"] == "services")
    assert services["servesPlaintextHttp"] is True  # the dev example chose allowPlaintextHttp
    assert "public API: PLAINTEXT HTTP (allowPlaintextHttp: true, no certificateArn)" in printed


def test_plan_prints_and_writes_the_monthly_cost_from_the_price_table(example_plan):
    printed, report = example_plan
    estimate = report["cost"]
    assert estimate["region"] == "us-east-1"
    assert estimate["priceTable"] == "us-east-1.json"
    assert {line["layer"] for line in estimate["lines"]} == {"network", "platform", "services"}
    assert estimate["totals"]["min"] == pytest.approx(
        sum(line["min"] for line in estimate["lines"]), abs=0.05
    )
    assert estimate["totals"]["max"] > estimate["totals"]["min"] > 0
    assert f"prices as of {estimate['pricesAsOf']}" in printed
    total_row = next(row for row in printed.splitlines() if row.strip().startswith("total "))
    assert f"{estimate['totals']['min']:,.2f}" in total_row
    assert f"{estimate['totals']['max']:,.2f}" in total_row


def test_plan_says_why_there_is_no_cost_for_a_region_without_a_table(tmp_path, capsys):
    out = tmp_path / "plan.json"
    overrides = [f"{layer}:region=eu-west-1" for layer in ("network", "platform", "services")]
    assert plan.main(["--out", str(out), *[f"--config={o}" for o in overrides]]) == 0
    assert json.loads(out.read_text())["cost"] == {
        "error": "no price table for eu-west-1: add prices/eu-west-1.json (tables exist for us-east-1)"
    }
    assert "== cost: not estimated: no price table for eu-west-1" in capsys.readouterr().out


def test_config_overrides_reach_the_layer(tmp_path):
    out = tmp_path / "plan.json"
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = plan.main(
            [
                "--out",
                str(out),
                "--config",
                "network:natGateways=perAz",
                "--config",
                f"services:certificateArn={certificate}",
                "--terraform-plan",
                str(tmp_path / "all.tfplan.json"),
            ]
        )
    assert code == 0
    network, _, services = json.loads(out.read_text())["layers"]
    assert network["layer"] == "network"
    assert network["resourceCounts"]["aws:ec2/natGateway:NatGateway"] == 3
    assert services["servesPlaintextHttp"] is False
    assert "public API: HTTPS only (TLS 1.2+, port 80 redirects to 443)" in printed.getvalue()
    # On request, every layer as one Terraform plan JSON document, for scanners.
    document = json.loads((tmp_path / "all.tfplan.json").read_text())
    types = {r["type"] for r in document["planned_values"]["root_module"]["resources"]}
    assert {"aws_vpc", "aws_lb", "aws_wafv2_web_acl", "aws_ecs_service"} <= types


def test_bad_config_fails_with_the_deployment_message(tmp_path, capsys):
    code = plan.main(["--out", str(tmp_path / "p.json"), "--config", "network:natGateways=two"])
    assert code == 2
    assert 'natGateways: must be one of "perAz", "single", got "two"' in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["natGateways=perAz", "compute:x=1", "network:=1", "network:key"])
def test_a_malformed_override_says_the_expected_form(bad):
    with pytest.raises(plan.PlanRefusedError, match="expected <layer>:<key>=<value>"):
        plan.parse_overrides([bad])


def test_a_malformed_override_is_refused_with_exit_2_and_a_misspelled_layer_is_named(tmp_path, capsys):
    assert plan.main(["--out", str(tmp_path / "p.json"), "--config", "servics:maxCapacity=3"]) == 2
    assert "(did you mean 'services'?)" in capsys.readouterr().err


def test_suffix_and_a_different_configured_suffix_are_refused(tmp_path, capsys):
    argv = ["--out", str(tmp_path / "p.json"), "--suffix", "qa", "--config", "services:environmentSuffix=zz"]
    assert plan.main(argv) == 2
    assert "--suffix qa" in capsys.readouterr().err


def test_overrides_keep_scalars_as_strings_and_decode_json_lists():
    parsed = plan.parse_overrides(
        ["network:azCount=4", "network:interfaceEndpoints=true", 'network:availabilityZones=["a","b"]']
    )
    assert parsed == {
        "network": {"azCount": "4", "interfaceEndpoints": "true", "availabilityZones": ["a", "b"]}
    }
    with pytest.raises(plan.PlanRefusedError, match="not valid JSON"):
        plan.parse_overrides(["network:availabilityZones=[a"])


def test_the_plan_shows_the_egress_allowlist_under_pci_and_nothing_in_baseline(platform, platform_pci):
    from planning.plan import ALLOWLIST_ACL, SQUID_CONFIG_VARIABLE, egress_allowlist
    from stacks.platform.squid_config import CONFIG_VARIABLE, render

    # The report reads the proxy's config as stacks/platform/squid_config.py writes it.
    assert SQUID_CONFIG_VARIABLE == CONFIG_VARIABLE
    assert ALLOWLIST_ACL + "a.example b.example" in render(
        ("b.example", "a.example"), client_cidrs=["10.0.0.0/16"]
    )
    assert egress_allowlist(platform) is None
    assert egress_allowlist(platform_pci) == []  # no host allowed yet: every CONNECT refused
