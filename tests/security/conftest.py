"""One trivy run and one checkov run per test session, over every layer's plan and a planted bad one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from offline.engine import Evaluation
from planning import terraform_plan
from tests.security.scanners import Finding, ProxyTrap, run_checkov, run_trivy, scanner_environment

# What a careless change could add: SSH open to the world, and a log group without a KMS key.
PLANTED = (
    (
        "aws_security_group",
        "planted_open_ssh",
        {
            "name": "planted-open-ssh",
            "description": "planted by the scanner tests",
            "vpc_id": "vpc-0planted",
            "ingress": [
                {
                    "description": "ssh from anywhere",
                    "from_port": 22,
                    "to_port": 22,
                    "protocol": "tcp",
                    "cidr_blocks": ["0.0.0.0/0"],
                    "ipv6_cidr_blocks": [],
                    "prefix_list_ids": [],
                    "security_groups": [],
                    "self": False,
                }
            ],
            "egress": [],
            "tags": {"Service": "planted"},
        },
    ),
    (
        "aws_cloudwatch_log_group",
        "planted_unencrypted",
        {"name": "/planted/unencrypted", "retention_in_days": 30, "tags": {"Service": "planted"}},
    ),
)


@dataclass(frozen=True)
class ScanResults:
    plans: Path
    trivy: list[Finding]
    checkov: list[Finding]
    proxied_connections: int

    @property
    def all(self) -> list[Finding]:
        return [*self.trivy, *self.checkov]


@pytest.fixture(scope="session")
def scan(
    tmp_path_factory: pytest.TempPathFactory,
    network: Evaluation,
    platform: Evaluation,
    services: Evaluation,
    network_ha: Evaluation,
    platform_alt: Evaluation,
    services_alt: Evaluation,
    network_pci: Evaluation,
    platform_pci: Evaluation,
    services_pci: Evaluation,
) -> Iterator[ScanResults]:
    """The example stacks (dev), the every-knob-changed stacks (qa-7, with a certificate), the example
    stacks with complianceProfile pci, and the planted resources, each as one plan file, scanned once by
    each scanner."""
    work = tmp_path_factory.mktemp("scan")
    plans = work / "plans"
    plans.mkdir()
    documents = {
        "dev": terraform_plan.render([network, platform, services]),
        "qa-7": terraform_plan.render([network_ha, platform_alt, services_alt]),
        "pci": terraform_plan.render([network_pci, platform_pci, services_pci]),
        "planted": terraform_plan.render([], extra=PLANTED),
    }
    for name, document in documents.items():
        (plans / f"{name}.tfplan.json").write_text(json.dumps(document))
    trap = ProxyTrap()
    try:
        env = {**scanner_environment(), **trap.environment()}
        trivy = run_trivy(plans, work, env)
        checkov = run_checkov(plans, work, env)
        yield ScanResults(plans, trivy, checkov, trap.connections)
    finally:
        trap.close()
