"""AWS value sets the configuration is checked against, each with the document that states it."""

from __future__ import annotations

# Fargate task CPU units -> allowed memory (MiB). Source: "Troubleshoot Amazon ECS task definition
# invalid CPU or memory errors", docs.aws.amazon.com/AmazonECS/latest/userguide/task-cpu-memory-error.html
FARGATE_CPU_MEMORY: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

# CloudWatch Logs PutRetentionPolicy `retentionInDays` (0, "never expire", is excluded on purpose:
# the platform requires bounded retention). Source: CloudWatch Logs API reference, PutRetentionPolicy.
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)  # fmt: skip

# KMS ScheduleKeyDeletion PendingWindowInDays.
KMS_DELETION_WINDOW_DAYS = range(7, 31)

# VPC and subnet CIDR blocks: /16 to /28 (Amazon VPC user guide, "VPC CIDR blocks").
VPC_PREFIX_RANGE = range(16, 29)
