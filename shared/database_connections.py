"""How many connections the managed database takes, and how many the services may open (docs/database.md).

RDS for PostgreSQL sets `max_connections` by default to `LEAST({DBInstanceClassMemory/9531392}, 5000)`
(RDS user guide, "Maximum number of database connections",
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.MaxConnections).
DBInstanceClassMemory is the class's memory less what RDS reserves for the operating system and its own
processes, so the class's nominal memory gives an upper bound: a demand above it is certainly refused.

Each payment-processor task opens up to `databasePoolSize` connections, auto scaling runs up to
`maxCapacity` tasks, and during a blue/green release CodeDeploy runs a full replacement task set beside
the original one, so the peak is pool x maxCapacity x 2 per database client service.
"""

from __future__ import annotations

import re
from typing import Final

BYTES_PER_CONNECTION: Final = 9_531_392  # the divisor of RDS for PostgreSQL's default formula
MAX_CONNECTIONS_CEILING: Final = 5000  # ... and its ceiling
BLUE_GREEN_TASK_SETS: Final = 2  # CodeDeploy's original and replacement task sets during a release
GIB: Final = 1024**3

# Memory of the burstable sizes, GiB (the same as EC2's t3/t4g types of that size).
_BURSTABLE_GIB: Final = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32}
# Memory per vCPU of the fixed-ratio families, GiB: general purpose (m) 4, memory optimized (r) 8.
_GIB_PER_VCPU: Final = {"m": 4, "r": 8}
# The oldest generation each family's ratio holds for (m4, r4 and t2 differ: 7.5, 15.25, 0.5 GiB ...).
_FIRST_GENERATION: Final = {"t": 3, "m": 5, "r": 5}
_CLASS = re.compile(r"db\.(?P<kind>[a-z])(?P<generation>\d+)[a-z0-9-]*\.(?P<size>[a-z0-9]+)")
_XLARGE = re.compile(r"(?P<times>\d*)xlarge")


def instance_memory_gib(instance_class: str) -> int | None:
    """The nominal memory of a DB instance class, GiB; None for a class this module does not know.

    Known: the burstable t classes (t3 and later, micro to 2xlarge) and the m and r classes (5th
    generation and later, large and up), whose memory follows from their vCPUs (large 2, xlarge 4,
    Nxlarge 4N) at a fixed ratio. The test checks
    every answer against EC2's instance type data for the type of the same name (moto's copy).
    """
    match = _CLASS.fullmatch(instance_class)
    if match is None:
        return None
    kind, size = match["kind"], match["size"]
    if int(match["generation"]) < _FIRST_GENERATION.get(kind, 1_000):
        return None
    if kind == "t":
        return _BURSTABLE_GIB.get(size)
    if kind not in _GIB_PER_VCPU:
        return None
    if size == "large":
        vcpus = 2
    elif (xlarge := _XLARGE.fullmatch(size)) is not None:
        vcpus = 4 * int(xlarge["times"] or 1)
    else:
        return None
    return vcpus * _GIB_PER_VCPU[kind]


def instance_vcpus(instance_class: str) -> int | None:
    """The vCPUs of a DB instance class this module knows (see `instance_memory_gib`), else None.

    Burstable: 2 up to large, then xlarge 4 and 2xlarge 8; m and r: large 2, xlarge 4, Nxlarge 4N.
    The database-load alarm compares DBLoad, average active sessions, with this number.
    """
    if instance_memory_gib(instance_class) is None:
        return None
    match = _CLASS.fullmatch(instance_class)
    assert match is not None  # instance_memory_gib matched it
    size = match["size"]
    if match["kind"] == "t" and size in ("micro", "small", "medium", "large"):
        return 2
    if size == "large":
        return 2
    xlarge = _XLARGE.fullmatch(size)
    assert xlarge is not None  # the only other sizes instance_memory_gib knows
    return 4 * int(xlarge["times"] or 1)


def estimated_max_connections(instance_class: str) -> int | None:
    """RDS for PostgreSQL's default max_connections for the class, from its nominal memory (an upper
    bound, see the module docstring); None for an unknown class."""
    memory = instance_memory_gib(instance_class)
    if memory is None:
        return None
    return min(memory * GIB // BYTES_PER_CONNECTION, MAX_CONNECTIONS_CEILING)


def peak_connections(pool_size: int, max_tasks: int, clients: int = 1) -> int:
    """The most connections the client services open: every task of both task sets of a release."""
    return pool_size * max_tasks * BLUE_GREEN_TASK_SETS * clients


def connection_budget_problem(
    pool_size: int, max_tasks: int, max_connections: int, clients: int = 1
) -> str | None:
    """Why the services could exhaust the database's connections, naming the keys to change; None when
    they fit, or when `max_connections` is 0 (unknown: an external database or an unknown class)."""
    peak = peak_connections(pool_size, max_tasks, clients)
    if max_connections <= 0 or peak <= max_connections:
        return None
    per_pool = max_tasks * BLUE_GREEN_TASK_SETS * clients
    fitting_pool = max_connections // per_pool
    services = f" x {clients} client services" if clients > 1 else ""
    return (
        f"the database clients may open {peak} connections (databasePoolSize {pool_size} x maxCapacity "
        f"{max_tasks} x {BLUE_GREEN_TASK_SETS} task sets during a blue/green release{services}), more "
        f"than the managed database's estimated max_connections of {max_connections} (the default of "
        "its class, exported by the platform layer as databaseMaxConnections): lower databasePoolSize"
        + (f" to {fitting_pool} or less" if fitting_pool else "")
        + " or maxCapacity (services layer), or choose a larger databaseInstanceClass (platform layer); "
        "see docs/database.md, 'Connections'"
    )
