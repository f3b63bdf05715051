"""A service's own stdout: one JSON object per line, no ANSI colour codes, listening on loopback."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys

from apps.common.logs import JsonFormatter
from localrun.local import MODULES, LocalStack, free_port, service_env
from shared.catalogue import by_name


def test_the_formatter_drops_uvicorns_colour_copy_of_the_message():
    record = logging.makeLogRecord(
        {"msg": "Started server process [%d]", "args": (7,), "color_message": "\x1b[36m%d\x1b[0m"}
    )
    entry = json.loads(JsonFormatter("fraud-detector").format(record))
    assert entry["message"] == "Started server process [7]"
    assert "color_message" not in entry


def test_a_service_started_locally_logs_json_only_and_listens_on_loopback(backing):
    spec = by_name("fraud-detector")
    stack = LocalStack({"fraud-detector": free_port()})
    env = {**os.environ, **backing.service_env(spec), **service_env(spec, stack.ports)}
    env.pop("LISTEN_HOST", None)
    process = subprocess.Popen(
        [sys.executable, "-m", MODULES[spec.name]], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    stack.processes[spec.name] = process
    try:
        stack.wait_healthy(spec.name)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    lines = output.decode().splitlines()
    assert lines
    assert all("\x1b" not in line for line in lines)
    entries = [json.loads(line) for line in lines]
    assert not [entry for entry in entries if "color_message" in entry]
    [access] = [entry for entry in entries if entry["message"] == "request"]  # the health checks'
    assert access["service"] == "fraud-detector"
    assert access["method"] == "GET"
    assert access["status"] == 200
    assert len(access["request_id"]) == 32
    running = [entry["message"] for entry in entries if "Uvicorn running on" in entry["message"]]
    assert running == [f"Uvicorn running on http://127.0.0.1:{stack.ports[spec.name]} (Press CTRL+C to quit)"]
