"""The managed database's connection budget: RDS's default max_connections for the instance class, and
the services' peak (pool x maxCapacity x 2 task sets during a release) checked against it.

Instance memory is checked against EC2's instance type data for the type of the same name (moto's copy
of DescribeInstanceTypes), which the project does not write."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import moto
import pytest

from apps.payment_processor import ledger_connections as app_database
from offline.layer_projects import Layer, evaluate_layer
from shared.catalogue import CATALOGUE
from shared.config.keys import SERVICES_KEYS
from shared.container_settings import DATABASE_POOL_SIZE
from shared.database_connections import (
    connection_budget_problem,
    estimated_max_connections,
    instance_memory_gib,
    peak_connections,
)

EC2_TYPES = json.loads(
    gzip.decompress((Path(moto.__file__).parent / "ec2/resources/instance_types.json.gz").read_bytes())
)


def test_every_known_class_has_the_memory_of_the_ec2_type_of_its_name():
    known = 0
    for name, described in EC2_TYPES.items():
        memory = instance_memory_gib(f"db.{name}")
        if memory is not None:
            known += 1
            assert memory * 1024 == described["MemoryInfo"]["SizeInMiB"], name
    assert known > 300
    for common in ("db.t4g.micro", "db.t4g.medium", "db.m7g.large", "db.r7g.xlarge", "db.m6i.24xlarge"):
        assert instance_memory_gib(common) is not None, common


@pytest.mark.parametrize(
    "unknown", ["db.t2.micro", "db.m4.large", "db.x2g.large", "db.m7g.metal", "m7g.large"]
)
def test_a_class_of_unknown_memory_gives_no_estimate(unknown):
    assert instance_memory_gib(unknown) is None
    assert estimated_max_connections(unknown) is None


def test_max_connections_follow_rds_default_formula_and_its_ceiling():
    # LEAST({DBInstanceClassMemory/9531392}, 5000) with the class's nominal memory.
    assert estimated_max_connections("db.t4g.micro") == 2**30 // 9531392 == 112
    assert estimated_max_connections("db.t4g.medium") == 450
    assert estimated_max_connections("db.m7g.large") == 901
    assert estimated_max_connections("db.r7g.16xlarge") == 5000


def test_the_peak_counts_both_task_sets_of_a_release():
    assert peak_connections(10, 10) == 200
    assert peak_connections(5, 10, clients=2) == 200


def test_pools_that_fit_pass_and_pools_that_do_not_name_the_keys_to_change():
    assert connection_budget_problem(10, 10, 450) is None
    assert connection_budget_problem(10, 10, 0) is None  # unknown: an external database
    problem = connection_budget_problem(10, 10, 112)
    assert problem is not None
    for words in ("200 connections", "112", "databasePoolSize", "maxCapacity", "databaseInstanceClass",
                  "to 5 or less", "docs/database.md"):  # fmt: skip
        assert words in problem
    hopeless = connection_budget_problem(1, 100, 112)
    assert hopeless is not None
    assert "or less" not in hopeless  # no pool size fits: the other keys must change


def test_the_pool_size_key_matches_what_payment_processor_accepts():
    [key] = [k for k in SERVICES_KEYS if k.name == "databasePoolSize"]
    assert key.default == app_database.DEFAULT_POOL_SIZE
    assert DATABASE_POOL_SIZE.env == app_database.POOL_SIZE_ENV
    config = app_database.LedgerConnectionConfig.from_env
    assert config({DATABASE_POOL_SIZE.env: str(key.maximum), "DATABASE_TLS": "require"}).pool_size == 100
    with pytest.raises(app_database.RuntimeConfigError):
        config({DATABASE_POOL_SIZE.env: str(key.maximum + 1), "DATABASE_TLS": "require"})


def test_the_platform_exports_its_estimate_and_zero_for_an_external_database(platform, platform_alt):
    assert platform.exports["databaseMaxConnections"] == 112  # the example's db.t4g.micro
    assert platform_alt.exports["databaseMaxConnections"] == 0


def environment(evaluation, service):
    [task] = [
        t for t in evaluation.all("aws:ecs/taskDefinition:TaskDefinition") if service in t.inputs["family"]
    ]
    [container] = json.loads(task.inputs["containerDefinitions"])
    return {e["name"]: e["value"] for e in container["environment"]}


def test_only_database_clients_get_the_pool_size(services):
    for spec in CATALOGUE:
        env = environment(services, spec.name)
        if spec.database_client:
            assert env[DATABASE_POOL_SIZE.env] == "5"  # stacks/services/Pulumi.dev.yaml
        else:
            assert DATABASE_POOL_SIZE.env not in env
    assert [s.name for s in CATALOGUE if s.database_client] == ["payment-processor"]


def services_warnings(monkeypatch, network, platform, config, max_connections):
    result = evaluate_layer(
        "services",
        config=config,
        upstream={
            Layer("network").stack_name("dev"): network.exports,
            Layer("platform").stack_name("dev"): {
                **platform.exports,
                "databaseMaxConnections": max_connections,
            },
        },
    )
    return [w for w in result.warnings if "databasePoolSize" in w]


def test_the_services_layer_warns_when_its_pools_exceed_the_database(monkeypatch, network, platform):
    [warning] = services_warnings(monkeypatch, network, platform, {"databasePoolSize": 11}, 112)
    assert "220 connections" in warning  # 11 per task x maxCapacity 10 x 2 task sets
    assert services_warnings(monkeypatch, network, platform, {}, 112) == []  # the example: 100 fit
    assert services_warnings(monkeypatch, network, platform, {"databasePoolSize": 11}, 0) == []
