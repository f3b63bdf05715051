"""Checks of values AWS accepts only in certain combinations, shared by the layers' configs."""

from __future__ import annotations

from shared.config.aws_limits import FARGATE_CPU_MEMORY, LOG_RETENTION_DAYS
from shared.config.reader import ConfigReader
from shared.errors import ConfigError


def log_retention(reader: ConfigReader, key: str) -> int:
    """A CloudWatch Logs retention, which AWS accepts only from a fixed list of day counts."""
    days = reader.integer(key)
    if days not in LOG_RETENTION_DAYS:
        raise ConfigError(
            key,
            days,
            "must be a CloudWatch Logs retention period: " + ", ".join(str(d) for d in LOG_RETENTION_DAYS),
            example="30",
        )
    return days


def fargate_size(cpu: int, memory: int, *, cpu_key: str, memory_key: str) -> tuple[int, int]:
    """A task CPU/memory pair that Fargate can place."""
    if cpu not in FARGATE_CPU_MEMORY:
        raise ConfigError(
            cpu_key,
            cpu,
            "must be a Fargate CPU size: " + ", ".join(str(c) for c in FARGATE_CPU_MEMORY),
            example="1024",
        )
    allowed = FARGATE_CPU_MEMORY[cpu]
    if memory not in allowed:
        raise ConfigError(
            memory_key,
            memory,
            f"is not a Fargate memory size for {cpu} CPU units; allowed: "
            f"{allowed[0]}-{allowed[-1]} MiB in steps of {_step(allowed)}",
            example=str(allowed[0]),
        )
    return cpu, memory


def _step(values: tuple[int, ...]) -> int:
    return values[1] - values[0] if len(values) > 1 else values[0]


def capacity_range(minimum: int, maximum: int, *, min_key: str, max_key: str) -> tuple[int, int]:
    """Auto-scaling bounds: at least one task, and min <= max."""
    if minimum < 1:
        raise ConfigError(min_key, minimum, "must be at least 1 task", example="2")
    if minimum > maximum:
        raise ConfigError(
            max_key,
            maximum,
            f"must be at least {min_key} ({minimum})",
            f"raise {max_key} or lower {min_key}: pulumi config set {max_key} {max(minimum, 10)}",
            example=str(max(minimum, 10)),
        )
    return minimum, maximum


def probe_timing(reader: ConfigReader, *, interval_key: str, timeout_key: str) -> tuple[int, int]:
    """A health check's (interval, timeout); the timeout must be shorter than the interval, or one
    probe is still running when the next starts."""
    every = reader.integer(interval_key)
    within = reader.integer(timeout_key)
    if within >= every:
        raise ConfigError(
            timeout_key,
            within,
            f"must be shorter than {interval_key} ({every}), or probes overlap",
            example=str(max(reader.keys[timeout_key].minimum or 1, every // 3)),
        )
    return every, within
