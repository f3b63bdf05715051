"""The release-safety and scale-out timelines that `plan` prints, per catalogue service.

Computed by shared/release_timeline.py from the services layer's merged config (Pulumi.yaml defaults,
the example stack, `--config services:<key>=<value>`), the same config the layer was evaluated with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from offline.layer_projects import Layer
from shared.catalogue import CATALOGUE
from shared.config.reader import ConfigReader
from shared.config.services import ServicesConfig
from shared.release_timeline import ReleaseTimeline, ScaleOutTimeline, release_timeline, scale_out_timeline

# The upstream stacks do not matter to the timelines; naming them avoids needing a Pulumi program.
_UPSTREAM = {
    "networkStack": "organization/payments-network/plan",
    "platformStack": "organization/payments-platform/plan",
}


def services_config(stack: str, overrides: Mapping[str, Any]) -> ServicesConfig:
    layer = Layer("services")
    merged = {**_UPSTREAM, **layer.defaults(), **layer.stack_config(stack), **overrides}
    return ServicesConfig.load(ConfigReader.from_mapping(merged))


def _clock(seconds: int) -> str:
    return f"{seconds // 60:>3}m{seconds % 60:02d}s"


def render_release(timeline: ReleaseTimeline) -> list[str]:
    lines = [f"   {timeline.service}: release"]
    lines += [f"     {_clock(p.start)} - {_clock(p.end)}  {p.label}" for p in timeline.phases]
    shifts = ", ".join(f"{percent} % at {_clock(at).strip()}" for at, percent in timeline.shifts)
    lines.append(f"     traffic on green: {shifts}")
    for alarm in timeline.alarms:
        verdict = "fires before the blue tasks go" if alarm not in timeline.too_slow else "TOO SLOW"
        lines.append(
            f"     rollback alarm {alarm.name}: worst case {alarm.worst_seconds} s "
            f"(bake {timeline.bake_seconds} s): {verdict}"
        )
    lines.append(
        f"     rollback: production traffic back on blue about {timeline.rollback_seconds} s after the alarm"
    )
    return lines


def render_scale_out(timeline: ScaleOutTimeline) -> list[str]:
    lines = ["   every service: scale-out"]
    lines += [f"     {_clock(p.start)} - {_clock(p.end)}  {p.label}" for p in timeline.phases]
    lines.append(
        f"     a new task serves about {timeline.total_seconds} s after load crosses the target; "
        f"the next step waits the {timeline.cooldown_seconds} s scale-out cooldown"
    )
    return lines


def render_for_plan(stack: str, overrides: Mapping[str, Any]) -> str:
    """The timelines section of `plan`'s output."""
    config = services_config(stack, overrides)
    lines = ["== release-safety timeline (worst cases; see docs/operations.md#release-safety-timeline)"]
    for spec in CATALOGUE:
        timeline = release_timeline(
            spec.name,
            edge=not spec.internal,
            task=config.task,
            traffic=config.traffic,
            release=config.release,
        )
        lines += render_release(timeline)
    lines += render_scale_out(scale_out_timeline(config.task, config.traffic, config.scaling))
    return "\n".join(lines)
