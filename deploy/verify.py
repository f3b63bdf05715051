"""What the integration test asks AWS about a deployment, with boto3: where the tasks run, what answers
on the public URL, and what is left once the stacks are destroyed."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deploy.task_definitions import families

Clients = Callable[[str], Any]  # service name -> boto3 client


@dataclass(frozen=True)
class RunningTask:
    arn: str
    subnet_id: str
    availability_zone: str


def running_tasks(ecs: Any, cluster: str, service: str) -> list[RunningTask]:
    """The service's RUNNING tasks with the subnet of each one's awsvpc network interface."""
    arns = ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus="RUNNING")["taskArns"]
    if not arns:
        return []
    tasks = []
    for task in ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]:
        if task.get("lastStatus") != "RUNNING":
            continue
        details = {
            d["name"]: d["value"]
            for attachment in task.get("attachments", [])
            if attachment.get("type") == "ElasticNetworkInterface"
            for d in attachment.get("details", [])
        }
        tasks.append(
            RunningTask(task["taskArn"], details.get("subnetId", ""), task.get("availabilityZone", ""))
        )
    return tasks


def http_answer(
    url: str,
    method: str = "GET",
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> tuple[int, Any]:
    """Status and parsed JSON body (or text) of one request; HTTP errors are answers, not exceptions."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def wait_for(
    check: Callable[[], bool],
    timeout: float,
    interval: float = 15,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        sleep(interval)
    return check()


def leftovers(clients: Clients, suffix: str, environment: str | None = None) -> list[str]:
    """Everything still in the account that carries the deployment's suffix or Environment tag.

    KMS keys are not leftovers once scheduled for deletion (the 7-day window is AWS's minimum). The
    tagging API can list a resource for a while after it is deleted, so callers retry before failing.
    """
    found: list[str] = []
    tagged = clients("resourcegroupstaggingapi").get_paginator("get_resources")
    for page in tagged.paginate(TagFilters=[{"Key": "Environment", "Values": [environment or suffix]}]):
        for item in page["ResourceTagMappingList"]:
            arn = item["ResourceARN"]
            if ":kms:" in arn and _key_pending_deletion(clients("kms"), arn):
                continue
            found.append(arn)
    ending = f"-{suffix}"
    for page in clients("iam").get_paginator("list_roles").paginate():
        found += [r["Arn"] for r in page["Roles"] if r["RoleName"].endswith(ending)]
    for page in clients("logs").get_paginator("describe_log_groups").paginate():
        found += [g["arn"] for g in page["logGroups"] if g["logGroupName"].endswith(ending)]
    for page in clients("ecr").get_paginator("describe_repositories").paginate():
        found += [r["repositoryArn"] for r in page["repositories"] if r["repositoryName"].endswith(ending)]
    # Revisions releases registered: ACTIVE or INACTIVE ones are left overs; DELETE_IN_PROGRESS ones
    # are on their way out (ECS removes them once nothing uses them).
    ecs = clients("ecs")
    for family in families(suffix):
        for status in ("ACTIVE", "INACTIVE"):
            pages = ecs.get_paginator("list_task_definitions").paginate(familyPrefix=family, status=status)
            found += [
                arn
                for page in pages
                for arn in page["taskDefinitionArns"]
                if arn.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family
            ]
    return sorted(set(found))


def _key_pending_deletion(kms: Any, arn: str) -> bool:
    try:
        return bool(kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "PendingDeletion")
    except kms.exceptions.NotFoundException:
        return True
