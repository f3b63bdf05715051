"""Releases still running, which a `destroy` of the services layer must not start under.

While a CodeDeploy blue/green deployment is active (including its wait before the old task set is
terminated), deleting its ECS service stalls on "The service cannot be stopped while deployments are
active", so preflight lists each active deployment with the command that ends it.
"""

from __future__ import annotations

from typing import Any

from shared import naming
from shared.catalogue import CATALOGUE

# CodeDeploy's statuses of a deployment that has not ended (botocore's codedeploy model, DeploymentStatus).
ACTIVE = ("Created", "Queued", "InProgress", "Baking", "Ready")


def deployments_in_progress(codedeploy: Any, suffix: str) -> list[str]:
    """One line per active deployment of the stack's services, naming the stop command."""
    namer = naming.Namer(suffix)
    application = namer.name(naming.CODEDEPLOY_APP, "payments")
    problems: list[str] = []
    for spec in CATALOGUE:
        group = namer.name(naming.DEPLOYMENT_GROUP, spec.name)
        try:
            running = codedeploy.list_deployments(
                applicationName=application, deploymentGroupName=group, includeOnlyStatuses=list(ACTIVE)
            )["deployments"]
        except (
            codedeploy.exceptions.ApplicationDoesNotExistException,
            codedeploy.exceptions.DeploymentGroupDoesNotExistException,
        ):
            continue  # nothing was ever released there
        problems += [
            f"deployment {deployment} of {spec.name} is still in progress, and ECS will not delete a service "
            f"while it runs: wait for it, or stop it with `aws deploy stop-deployment --deployment-id "
            f"{deployment} --auto-rollback-enabled`, then destroy"
            for deployment in running
        ]
    return problems
