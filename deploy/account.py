"""Preflight's checks of the AWS account itself, once the credentials work: the quotas an `up` needs
(deploy/quotas.py) and the releases a `destroy` of the services layer would stall on
(deploy/deployments.py). Each returns problems instead of raising, so they are all reported together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from deploy.deployments import deployments_in_progress
from deploy.preflight import QUICK, unreachable
from deploy.quotas import Clients, needs_of, quota_problems
from deploy.stacks import Command


@dataclass(frozen=True)
class AccountScope:
    """What a run would do to the account: the command, its layers and their validated configs."""

    command: Command
    layers: tuple[str, ...]
    region: str
    suffix: str
    configs: tuple[object, ...] = ()
    warn: Callable[[str], None] = print  # what preflight could not check, shown without refusing


def boto3_clients(region: str) -> Clients:
    import boto3

    session = boto3.Session()
    return lambda service: session.client(service, region_name=region, config=QUICK)


def check_account(scope: AccountScope, clients: Callable[[str], Clients] = boto3_clients) -> list[str]:
    """Every account problem of this run; [] when there is none."""
    make: Clients = clients(scope.region)
    problems: list[str] = []
    try:
        if scope.command == "up":
            problems += quota_problems(make, needs_of(scope.configs), scope.suffix, scope.region, scope.warn)
        if scope.command == "destroy" and "services" in scope.layers:
            try:
                problems += deployments_in_progress(make("codedeploy"), scope.suffix)
            except (ClientError, BotoCoreError) as error:
                if isinstance(error, (BotocoreConnectionError, HTTPClientError)):
                    raise
                problems.append(
                    f"the services' CodeDeploy deployments could not be listed ({error}): check that none is "
                    "in progress (`aws deploy list-deployments`) before destroy"
                )
    except (BotocoreConnectionError, HTTPClientError) as error:
        problems.append(unreachable(error))
    return problems


def no_account_problems(scope: AccountScope) -> list[str]:
    """For callers that have no AWS to ask (tests of the other checks)."""
    return []
