"""The services layer's task definitions and the apps agree: ports, health paths, env and secret names.

The container definitions come from the offline evaluation of `stacks/services`. Each app is started
with exactly that env (only the port, and each secret's ARN, moved to local ones: the secrets live in
the local emulated Secrets Manager), and the task definition's own health-check command must then
report it healthy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from apps.common.runtime_config import RuntimeConfig
from apps.payment_processor.ledger_connections import LedgerConnectionConfig
from localrun.local import MODULES, free_port
from shared.catalogue import CATALOGUE, PORT_ENV, secret_arn_env
from tests.services.conftest import one_owned

SPECS = [pytest.param(spec, id=spec.name) for spec in CATALOGUE]


def container(services, spec) -> dict:
    definition = one_owned(services, spec, "aws:ecs/taskDefinition:TaskDefinition")
    [only] = json.loads(definition.inputs["containerDefinitions"])
    return only


def task_env(services, spec) -> dict[str, str]:
    """The env ECS gives the container: its environment (ECS injects no secret)."""
    defined = container(services, spec)
    assert "secrets" not in defined
    return {item["name"]: item["value"] for item in defined["environment"]}


class Recording(dict):
    """A mapping that remembers which keys were read."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.read: set[str] = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)


@pytest.mark.parametrize("spec", SPECS)
def test_the_app_reads_every_variable_the_task_definition_sets_and_needs_no_other(services, spec):
    env = Recording(task_env(services, spec))
    config = RuntimeConfig.from_env(spec.name, env)
    if spec.database_client:  # its database module reads the pool size (TLS set here: no CA bundle)
        database = Recording({**env, "DATABASE_TLS": "require"})
        assert LedgerConnectionConfig.from_env(database).pool_size == int(env["DATABASE_POOL_SIZE"])
        env.read |= database.read
    assert set(env) <= env.read  # nothing injected goes unread
    assert config.port == container(services, spec)["portMappings"][0]["containerPort"]
    assert set(config.secret_arns) == set(spec.secrets)
    assert {secret_arn_env(name) for name in spec.secrets} <= set(env)
    for callee, url in config.downstream_urls.items():
        assert url.startswith(f"http://{callee}.payments-dev.local:")


@pytest.mark.parametrize("spec", SPECS)
def test_health_paths_agree_across_task_definition_target_groups_and_app(services, spec):
    command = container(services, spec)["healthCheck"]["command"]
    assert command[-1].endswith(f":{spec.container_port}{spec.health_path}")
    for group in [r for r in services.all("aws:lb/targetGroup:TargetGroup") if f"-{spec.code}-" in r.name]:
        assert group.inputs["healthCheck"]["path"] == spec.health_path
        assert group.inputs["port"] == spec.container_port


@pytest.mark.parametrize("spec", SPECS)
def test_the_app_started_with_the_task_env_passes_the_task_health_check(services, spec, backing):
    port = free_port()
    local = backing.service_env(spec)  # the local secrets' ARNs, and what the image sets (CA bundle)
    defined = task_env(services, spec)
    assert {name for name in local if name.endswith("_SECRET_ARN")} <= set(defined)
    env = {**os.environ, **defined, **local, PORT_ENV: str(port)}
    process = subprocess.Popen([sys.executable, "-m", MODULES[spec.name]], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        command = container(services, spec)["healthCheck"]["command"]
        assert command[0] == "CMD"
        probe = [sys.executable if part == "python" else part for part in command[1:]]
        probe[-1] = probe[-1].replace(f":{spec.container_port}/", f":{port}/")
        deadline = time.monotonic() + 20
        while subprocess.run(probe, check=False, timeout=10).returncode != 0:
            assert process.poll() is None, f"{spec.name} exited with {process.returncode}"
            assert time.monotonic() < deadline, f"{spec.name} never became healthy"
            time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_stopping_task_drains_before_sigkill_and_after_the_target_group_drained(services):
    """ECS deregisters the target, waits for the target group's drain, sends SIGTERM, then SIGKILL
    after stopTimeout. The service's own drain must fit between SIGTERM and SIGKILL, and cover the
    longest request it can be serving (every downstream attempt timing out)."""
    from apps.api_gateway.app import DEFAULT_RETRIES as GATEWAY_RETRIES
    from apps.api_gateway.app import DEFAULT_TIMEOUT_SECONDS as GATEWAY_TIMEOUT
    from apps.common.downstream import worst_case_seconds
    from apps.common.serve import GRACEFUL_SHUTDOWN_SECONDS
    from apps.payment_processor.app import DEFAULT_RETRIES, DEFAULT_TIMEOUT_SECONDS

    processor_worst = worst_case_seconds(DEFAULT_TIMEOUT_SECONDS, DEFAULT_RETRIES)
    assert processor_worst < GATEWAY_TIMEOUT  # the gateway outwaits the processor's own retries
    longest_request = worst_case_seconds(GATEWAY_TIMEOUT, GATEWAY_RETRIES)
    assert longest_request < GRACEFUL_SHUTDOWN_SECONDS
    for spec in CATALOGUE:
        assert container(services, spec)["stopTimeout"] > GRACEFUL_SHUTDOWN_SECONDS
    groups = services.all("aws:lb/targetGroup:TargetGroup")
    assert groups
    for group in groups:
        # Slow enough for an in-flight payment to finish at the ALB before ECS sends SIGTERM.
        assert longest_request <= group.inputs["deregistrationDelay"] <= 300
