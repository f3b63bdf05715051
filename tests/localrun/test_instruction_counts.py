"""The instruction counter: what it reads from callgrind, what it refuses, and the wrapper it relies on."""

from __future__ import annotations

import subprocess
import sys

import pytest

from localrun import instruction_counts
from localrun.instruction_counts import (
    PLACES,
    Count,
    CountUnreadableError,
    callgrind_command,
    table,
    total_instructions,
)
from localrun.local import LocalStack, free_port, running
from shared.catalogue import CATALOGUE

# A dump `vgdb --pid=N dump` made (valgrind 3.19), its middle cut: `summary:` is the cost since the
# counters were zeroed; `totals:` at the end also carries cost from before.
DUMP = """# callgrind format
version: 1
creator: callgrind-3.19.0
pid: 9233
cmd:  /work/main/.venv/bin/python -m apps.payment_processor
part: 1


desc: I1 cache:
desc: Timerange: Basic block 0 - 17372866
desc: Trigger: dump

positions: line
events: Ir
summary: 463312009


ob=(2) ???
0 10868

totals: 464330114
"""


def test_the_count_since_the_zero_is_read_from_the_summary_not_the_totals():
    assert total_instructions(DUMP) == 463_312_009


@pytest.mark.parametrize("dump", ["", "events: Ir\n", "summary:\n", "summary: many\n", "totals: 12\n"])
def test_a_dump_without_a_total_is_an_error_not_a_zero(dump):
    with pytest.raises(CountUnreadableError, match="no summary"):
        total_instructions(dump)


def test_callgrind_counts_per_function_into_the_named_file(tmp_path):
    command = callgrind_command(tmp_path / "callgrind.hop-2")
    assert command[:2] == ("valgrind", "--tool=callgrind")
    assert f"--callgrind-out-file={tmp_path / 'callgrind.hop-2'}" in command


def test_each_service_is_set_beside_the_chain_hop_in_its_place():
    assert PLACES == (("api-gateway", "hop 1"), ("payment-processor", "hop 2"), ("fraud-detector", "hop 3"))
    assert [service for service, _ in PLACES] == [spec.name for spec in CATALOGUE]


def test_the_table_gives_each_ratio_and_the_sum():
    counts = {name: Count(name, n, 1) for name, n in zip(
        ["api-gateway", "hop 1", "payment-processor", "hop 2", "fraud-detector", "hop 3"],
        [700_000, 560_000, 1_400_000, 1_250_000, 320_000, 180_000], strict=True)}  # fmt: skip
    text = table(counts)
    assert "payment-processor      1,400   hop 2            1,250    1.12x" in text
    assert "all three              2,420   all three        1,990    1.22x" in text


def test_it_refuses_without_valgrind_naming_the_install(monkeypatch, capsys):
    monkeypatch.setattr(instruction_counts.shutil, "which", lambda tool: None)
    assert instruction_counts.main([]) == 2
    assert "sudo apt-get install valgrind" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--payments", "0"], ["--warmup", "-1"]])
def test_it_refuses_a_count_of_nothing(args, capsys):
    assert instruction_counts.main(args) == 2
    assert "--payments must be at least 1" in capsys.readouterr().err


def test_a_wrapper_runs_in_front_of_the_service_it_names():
    """`env` in front of api-gateway (it needs no secret): env execs the service, which serves."""
    ports = {spec.name: free_port() for spec in CATALOGUE}
    stack = LocalStack(ports, skip=frozenset({"payment-processor", "fraud-detector"}),
                       wrappers={"api-gateway": ("env", "WRAPPED=yes")})  # fmt: skip
    with running(stack):
        pid = stack.processes["api-gateway"].pid
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            argv = cmdline.read().split(b"\0")
        with open(f"/proc/{pid}/environ", "rb") as environ:
            env = environ.read().split(b"\0")
    assert argv[:3] == [sys.executable.encode(), b"-m", b"apps.api_gateway"]
    assert b"WRAPPED=yes" in env


def test_a_process_vgdb_cannot_reach_is_an_error_naming_it(monkeypatch):
    def refused(command, **kwargs):
        raise subprocess.CalledProcessError(1, command, "", "vgdb error: no FIFO found matching pid 4242")

    monkeypatch.setattr(instruction_counts.subprocess, "run", refused)
    with pytest.raises(CountUnreadableError, match="vgdb zero to 4242 failed: vgdb error: no FIFO"):
        instruction_counts.control("zero", 4242)
