"""The release-safety and scale-out timelines: computed from config, printed by `plan`, and a
configuration whose rollback alarms cannot fire before the blue tasks are terminated is refused with a
fix that works."""

from __future__ import annotations

import pytest

from planning import plan, timeline
from shared.config.keys import ECS_DEPLOYMENT_CONFIGS
from shared.config.reader import ConfigReader
from shared.config.services import ServicesConfig
from shared.errors import ConfigError
from shared.release_timeline import (
    METRIC_PUBLICATION_SECONDS,
    TASK_START_SECONDS,
    TRAFFIC_SHIFTS,
    release_timeline,
    scale_out_timeline,
)

BASE = {
    "environmentSuffix": "dev",
    "networkStack": "o/p/s",
    "platformStack": "o/p/s",
    "allowPlaintextHttp": "true",
}


def load(**values):
    return ServicesConfig.load(ConfigReader.from_mapping({**BASE, **values}))


def timeline_of(config, edge=True):
    return release_timeline(
        "api-gateway", edge=edge, task=config.task, traffic=config.traffic, release=config.release
    )


def test_every_selectable_deployment_configuration_has_its_traffic_steps():
    assert set(TRAFFIC_SHIFTS) == set(ECS_DEPLOYMENT_CONFIGS)
    for steps in TRAFFIC_SHIFTS.values():
        assert steps[0][0] == 0
        assert steps[-1][1] == 100
        assert [p for _, p in steps] == sorted(p for _, p in steps)


def test_the_release_phases_add_up_from_the_config():
    config = load(
        scanWaitSeconds=120,
        healthCheckStartPeriodSeconds=40,
        healthCheckIntervalSeconds=10,
        targetHealthIntervalSeconds=20,
        targetHealthyThreshold=3,
        smokeTimeoutSeconds=4,
        deploymentConfig="CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
        terminationWaitMinutes=10,
    )
    result = timeline_of(config)
    ends = {p.label: p.end for p in result.phases}
    healthy = 120 + TASK_START_SECONDS + (40 + 10) + 3 * 20
    assert ends["load balancer marks the target healthy"] == healthy
    smoke_end = healthy + 2 * 4
    assert result.shifts[0] == (smoke_end, 10)
    assert result.shifts[-1] == (smoke_end + 9 * 180, 100)
    assert ends["bake: blue tasks kept for rollback"] == smoke_end + 9 * 180 + 600
    assert result.rollback_seconds > config.traffic.deregistration_delay_seconds


def test_alarm_windows_grow_with_the_evaluation_and_the_unhealthy_detection():
    config = load(
        alarmEvaluationMinutes=3,
        targetUnhealthyThreshold=4,
        targetHealthIntervalSeconds=10,
        terminationWaitMinutes=15,
    )
    windows = {w.name: w.worst_seconds for w in timeline_of(config).alarms}
    evaluation = 3 * 60 + 60 + METRIC_PUBLICATION_SECONDS
    assert windows == {"5xx": evaluation, "latency": evaluation, "unhealthy-hosts": evaluation + 4 * 10}
    assert "latency" not in {w.name for w in timeline_of(config, edge=False).alarms}


@pytest.mark.parametrize(
    "values",
    [
        {"terminationWaitMinutes": 0},
        {"terminationWaitMinutes": 4},
        {"alarmEvaluationMinutes": 5},
        {"alarmEvaluationMinutes": 10, "terminationWaitMinutes": 8, "targetUnhealthyThreshold": 10},
    ],
)
def test_a_rollback_that_cannot_happen_in_time_is_refused_and_the_suggested_fixes_work(values):
    with pytest.raises(ConfigError, match="terminationWaitMinutes") as refused:
        load(**values)
    message = str(refused.value)
    assert "before a rollback could start" in message
    fix = message.split("Fix: ", 1)[1].split("; with plan: ", 1)[0]
    fixes = [part.split("pulumi config set ", 1)[1].split() for part in fix.split(", or ")]
    assert fixes
    for key, value in fixes:
        load(**{**values, key: int(value)})  # each suggested fix alone is accepted


def test_the_scale_out_timeline_counts_the_alarm_the_start_and_both_health_checks():
    config = load(
        healthCheckStartPeriodSeconds=0,
        healthCheckIntervalSeconds=6,
        targetHealthyThreshold=2,
        targetHealthIntervalSeconds=6,
        scaleOutCooldownSeconds=90,
    )
    result = scale_out_timeline(config.task, config.traffic, config.scaling)
    assert result.total_seconds == (3 * 60 + 60 + METRIC_PUBLICATION_SECONDS) + TASK_START_SECONDS + 6 + 2 * 6
    assert result.cooldown_seconds == 90


def test_plan_prints_the_timelines_per_service():
    text = timeline.render_for_plan("dev", {})
    for service in ("api-gateway", "payment-processor", "fraud-detector"):
        assert f"   {service}: release" in text
    assert (
        "rollback alarm unhealthy-hosts: worst case 285 s (bake 300 s): fires before the blue tasks go"
        in text
    )
    assert "every service: scale-out" in text


def test_plan_refuses_a_configuration_whose_rollback_cannot_happen(tmp_path, capsys):
    code = plan.main(["--config", "services:terminationWaitMinutes=3", "--out", str(tmp_path / "plan.json")])
    assert code == 2
    error = capsys.readouterr().err
    assert "terminationWaitMinutes" in error
    assert "pulumi config set terminationWaitMinutes 5" in error
