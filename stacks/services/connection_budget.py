"""Whether the services' database pools fit the managed database's connections (docs/database.md).

Both numbers meet only here: the services layer knows its pool size and task ceiling, the platform
layer exports the database's estimated max_connections. A demand above it warns at `up` and preview,
naming the keys to change; it does not refuse, because the estimate is an upper bound and the pools
fill only under load.
"""

from __future__ import annotations

from collections.abc import Iterable

import pulumi

from shared.catalogue import ServiceSpec
from shared.config.services import ServicesConfig
from shared.database_connections import connection_budget_problem


def warn_when_pools_exceed_the_database(
    config: ServicesConfig, catalogue: Iterable[ServiceSpec], max_connections: pulumi.Output[int]
) -> pulumi.Output[str | None]:
    """The problem, if any (also logged as a warning), once the platform's estimate is known."""
    clients = sum(1 for spec in catalogue if spec.database_client)

    def check(limit: int) -> str | None:
        problem = (
            connection_budget_problem(
                config.task.database_pool_size, config.scaling.max_capacity, int(limit), clients
            )
            if clients
            else None
        )
        if problem is not None:
            pulumi.log.warn(problem)
        return problem

    return max_connections.apply(check)
