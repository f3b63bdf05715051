"""The published contract against the running services: schemathesis, every check it has.

The three services run as `python3 dev.py local` runs them (PostgreSQL ledger, emulated Secrets
Manager). schemathesis loads the document api-gateway serves at /openapi.json and generates
requests from it, valid and invalid: its coverage phase whole, then its fuzzing phase for
`FUZZING_SECONDS`, each with `--checks all`: no 5xx, statuses, content types, headers and bodies
as documented, schema-valid requests accepted, invalid ones refused, required headers enforced,
undeclared methods answered 405 with `Allow`. The only help it gets is one fresh Idempotency-Key
per valid payment (tests/apps/contract_hooks.py says why). The seed is fixed so that a run can be
repeated; a failure prints the requests that reproduce it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from apps.api_gateway import openapi

FUZZING_SECONDS = 12  # schemathesis's time budget for fuzzing; loading the document adds a few seconds
SEED = 20261206
HOOKS = Path(__file__).with_name("contract_hooks.py")
ROOT = Path(__file__).resolve().parents[2]


def test_api_gateway_serves_the_committed_document(stack):
    with urllib.request.urlopen(f"{stack.url('api-gateway')}{openapi.OPENAPI_PATH}", timeout=10) as answer:
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.read().decode() == openapi.COMMITTED_COPY.read_text()


@pytest.mark.parametrize(
    ("phase", "budget"),
    [
        # Finite (about a hundred cases, every documented status, header and undeclared method), so
        # it runs whole: under one --max-time, a loaded machine cut it short before the 405 cases.
        ("coverage", None),
        ("fuzzing", FUZZING_SECONDS),  # as many generated requests as fit in the budget
    ],
)
def test_schemathesis_finds_no_difference_between_the_document_and_the_services(
    stack, tmp_path, phase, budget
):
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{stack.url('api-gateway')}{openapi.OPENAPI_PATH}",
        "--checks",
        "all",
        "--phases",
        phase,
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--request-timeout",
        "10",
        *(["--max-time", str(budget)] if budget else []),
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(HOOKS),
        "PYTHONPATH": str(ROOT),
        "NO_COLOR": "1",
    }
    # In a directory of its own: hypothesis keeps its example database in the working directory.
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    output = result.stdout + result.stderr
    print(output)  # shown with -s or -rP: what was generated, per phase
    assert result.returncode == 0, output[-6000:]
    assert "No issues found" in output, output[-3000:]
    assert f"✅ {phase.capitalize()}" in output, output[-3000:]
