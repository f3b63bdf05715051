"""How long a bad release stays live, computed from the services config, and whether a rollback can
happen at all; and how long a scale-out takes.

A blue/green release (CodeDeploy, ECS) goes: green tasks start and become healthy, the hooks gate it
(image scan before install, smoke test on the test listener), traffic shifts to green in the steps of
the deployment configuration, then the blue tasks are kept `terminationWaitMinutes` (the bake time) and
terminated. Automatic rollback on DEPLOYMENT_STOP_ON_ALARM reroutes traffic to the blue tasks, so a
release alarm must be able to fire before they are gone. A problem that only shows under full traffic
starts at the last shift; the worst case for an alarm to fire is then

    detection (unhealthy hosts only: unhealthy threshold x target health interval)
  + datapoints x period              every datapoint of the evaluation window breaching
  + one period                       the breach can begin just after a period started
  + METRIC_PUBLICATION_SECONDS       ELB and ECS publish one-minute datapoints about a minute late

and the configuration is refused unless that is at most the bake time. Times AWS does not let us
configure (task start, the publication delay, CodeDeploy rerouting) are named assumptions below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.errors import ConfigError

if TYPE_CHECKING:
    from shared.config.services import ReleaseConfig, ScalingConfig, TaskConfig, TrafficConfig

PERIOD_SECONDS = 60  # the release alarms' period (stacks/services/release_alarms.py)
# Assumptions, not configuration: AWS documents no bound for these.
TASK_START_SECONDS = 60  # Fargate capacity, image pull and container start of a small image
METRIC_PUBLICATION_SECONDS = 60  # a one-minute ELB/ECS datapoint becomes visible about a minute later
REROUTE_SECONDS = 30  # CodeDeploy swapping the production listener back to the blue target group
# Target tracking's scale-out alarm needs 3 breaching one-minute datapoints (the alarms Application
# Auto Scaling creates for a target tracking policy, "TargetTracking-...-AlarmHigh"; Application Auto
# Scaling user guide, "How target tracking scaling works").
SCALE_OUT_DATAPOINTS = 3

# Traffic on green after each shift, as (seconds after the first shift, percent), per predefined ECS
# deployment configuration (CodeDeploy user guide, "Deployment configurations on an Amazon ECS compute
# platform", https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html).
TRAFFIC_SHIFTS: dict[str, tuple[tuple[int, int], ...]] = {
    "CodeDeployDefault.ECSAllAtOnce": ((0, 100),),
    "CodeDeployDefault.ECSCanary10Percent5Minutes": ((0, 10), (300, 100)),
    "CodeDeployDefault.ECSCanary10Percent15Minutes": ((0, 10), (900, 100)),
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes": tuple((60 * i, 10 * (i + 1)) for i in range(10)),
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes": tuple((180 * i, 10 * (i + 1)) for i in range(10)),
}


@dataclass(frozen=True)
class Phase:
    """One stretch of the timeline, in seconds from the start of the release."""

    label: str
    start: int
    end: int


@dataclass(frozen=True)
class AlarmWindow:
    """A release alarm and the worst case for it to fire after a problem starts."""

    name: str
    worst_seconds: int


@dataclass(frozen=True)
class ReleaseTimeline:
    service: str
    phases: tuple[Phase, ...]
    shifts: tuple[tuple[int, int], ...]  # (seconds from the release start, percent on green)
    bake_seconds: int
    alarms: tuple[AlarmWindow, ...]
    rollback_seconds: int  # from the alarm firing to production traffic back on blue

    @property
    def too_slow(self) -> tuple[AlarmWindow, ...]:
        """The alarms that cannot fire before the blue tasks are terminated."""
        return tuple(a for a in self.alarms if a.worst_seconds > self.bake_seconds)


@dataclass(frozen=True)
class ScaleOutTimeline:
    phases: tuple[Phase, ...]
    cooldown_seconds: int  # before the next scale-out step

    @property
    def total_seconds(self) -> int:
        return self.phases[-1].end


def green_healthy_seconds(task: TaskConfig, traffic: TrafficConfig) -> tuple[Phase, ...]:
    """A new task: start, container HEALTHY (start period, one more check), ALB healthy threshold."""
    check = task.health_check
    health = traffic.target_health
    container = check.start_period_seconds + check.interval_seconds
    target = health.healthy_threshold * health.interval_seconds
    start = Phase("task starts (assumed)", 0, TASK_START_SECONDS)
    healthy = Phase("container health check passes", start.end, start.end + container)
    in_service = Phase("load balancer marks the target healthy", healthy.end, healthy.end + target)
    return (start, healthy, in_service)


def alarm_windows(traffic: TrafficConfig, *, edge: bool) -> tuple[AlarmWindow, ...]:
    """The release alarms of a service (stacks/services/release_alarms.py) and their worst time to fire."""
    evaluation = traffic.alarm_evaluation_minutes * PERIOD_SECONDS + PERIOD_SECONDS
    evaluation += METRIC_PUBLICATION_SECONDS
    detection = traffic.target_health.unhealthy_threshold * traffic.target_health.interval_seconds
    windows = [AlarmWindow("5xx", evaluation), AlarmWindow("unhealthy-hosts", detection + evaluation)]
    if edge:
        windows.append(AlarmWindow("latency", evaluation))
    return tuple(windows)


def release_timeline(
    service: str, *, edge: bool, task: TaskConfig, traffic: TrafficConfig, release: ReleaseConfig
) -> ReleaseTimeline:
    green = green_healthy_seconds(task, traffic)
    # The scan gate runs before the green tasks start; counted first, it delays everything after it.
    scan = Phase("image scan gate, worst case (BeforeInstall)", 0, release.scan_wait_seconds)
    shifted_green = tuple(Phase(p.label, p.start + scan.end, p.end + scan.end) for p in green)
    smoke = Phase(
        "smoke test on the test listener, worst case (AfterAllowTestTraffic)",
        shifted_green[-1].end,
        shifted_green[-1].end + 2 * release.smoke_timeout_seconds,
    )
    shifts = tuple(
        (smoke.end + offset, percent) for offset, percent in TRAFFIC_SHIFTS[release.deployment_config]
    )
    full = shifts[-1][0]
    bake = release.termination_wait_minutes * 60
    phases = (
        scan,
        *shifted_green,
        smoke,
        Phase("traffic shifts to green", smoke.end, full),
        Phase("bake: blue tasks kept for rollback", full, full + bake),
    )
    return ReleaseTimeline(
        service=service,
        phases=phases,
        shifts=shifts,
        bake_seconds=bake,
        alarms=alarm_windows(traffic, edge=edge),
        rollback_seconds=REROUTE_SECONDS + traffic.deregistration_delay_seconds,
    )


def scale_out_timeline(task: TaskConfig, traffic: TrafficConfig, scaling: ScalingConfig) -> ScaleOutTimeline:
    """From load crossing the target to the new task serving."""
    alarm = SCALE_OUT_DATAPOINTS * PERIOD_SECONDS + PERIOD_SECONDS + METRIC_PUBLICATION_SECONDS
    decide = Phase("target tracking alarm fires (3 datapoints)", 0, alarm)
    green = green_healthy_seconds(task, traffic)
    started = tuple(Phase(p.label, p.start + decide.end, p.end + decide.end) for p in green)
    return ScaleOutTimeline(phases=(decide, *started), cooldown_seconds=scaling.scale_out_cooldown_seconds)


def check_rollback_window(traffic: TrafficConfig, release: ReleaseConfig) -> None:
    """Refuse a configuration whose release alarms cannot fire before the blue tasks are terminated."""
    # The public service has the most release alarms; its windows bound every service's.
    windows = alarm_windows(traffic, edge=True)
    bake = release.termination_wait_minutes * 60
    late = [w for w in windows if w.worst_seconds > bake]
    if not late:
        return
    worst = max(w.worst_seconds for w in late)
    slow = ", ".join(f"{w.name} worst case {w.worst_seconds} s" for w in late)
    needed = -(-worst // 60)
    # The longest evaluation window that would fit the bake time, if one does.
    fitting = (bake - METRIC_PUBLICATION_SECONDS - PERIOD_SECONDS - _detection(traffic)) // PERIOD_SECONDS
    raise ConfigError(
        "terminationWaitMinutes",
        release.termination_wait_minutes,
        f"is shorter than the time a release alarm needs to fire ({slow}, with alarmEvaluationMinutes="
        f"{traffic.alarm_evaluation_minutes}): the blue tasks would be "
        "terminated before a rollback could start",
        f"pulumi config set terminationWaitMinutes {needed}"
        + (
            f", or pulumi config set alarmEvaluationMinutes {fitting}"
            if 1 <= fitting < traffic.alarm_evaluation_minutes
            else ""
        ),
        example=str(needed),
    )


def _detection(traffic: TrafficConfig) -> int:
    return traffic.target_health.unhealthy_threshold * traffic.target_health.interval_seconds
