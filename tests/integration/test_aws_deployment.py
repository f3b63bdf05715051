"""Opt-in: deploy all three layers to a real AWS account under a throwaway suffix, check them with
boto3, release an image, destroy everything and verify that nothing with the suffix is left.

    PAYMENTS_INTEGRATION=1 AWS_PROFILE=<sandbox> python3 dev.py integration

Needs the Pulumi CLI, Docker and credentials that the deployer policies (deploy/iam) allow. State goes
to a throwaway local backend unless PAYMENTS_INTEGRATION_BACKEND names one. It takes 30-45 minutes
and costs about a dollar (NAT gateway, ALBs and 6 Fargate tasks for under an hour). The report is
written to out/integration-<suffix>.json.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from offline.layer_projects import LAYER_ORDER, REPO_ROOT

ENABLE = "PAYMENTS_INTEGRATION"


def _missing() -> list[str]:
    if os.environ.get(ENABLE) != "1":
        return [
            f"{ENABLE}=1 is not set (this test creates real AWS resources; it also needs AWS credentials)"
        ]
    import boto3

    missing = (
        [] if boto3.Session().get_credentials() else ["no AWS credentials (AWS_PROFILE or AWS_ACCESS_KEY_ID)"]
    )
    missing += [f"no `{tool}` on PATH" for tool in ("pulumi", "docker") if shutil.which(tool) is None]
    return missing


MISSING = _missing()
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(bool(MISSING), reason="opt-in integration test: " + "; ".join(MISSING)),
]
REGION = "us-east-1"
# A release must pass the scan gate; the public base image may carry HIGH findings on any given day.
STACK_CONFIG = {"services": {"scanSeverityThreshold": "CRITICAL"}}
TASKS_PER_SERVICE = 2


def clients(service: str) -> Any:
    import boto3

    return boto3.client(service, region_name=REGION)


class Deployment:
    """One throwaway stack in every layer, with a timed log of what happened to it."""

    def __init__(self) -> None:
        self.suffix = "it-" + secrets.token_hex(2)
        self.stack = self.suffix
        self.report: dict[str, Any] = {"suffix": self.suffix, "phases": {}, "checks": {}}
        self.destroyed = False

    def deploy(self, *argv: str) -> int:
        from deploy import cli

        started = time.monotonic()
        code = cli.main([*argv])
        self.report["phases"][" ".join(argv[:1] + argv[2:]) or argv[0]] = round(time.monotonic() - started)
        return code

    def outputs(self, layer: str) -> dict[str, Any]:
        from deploy.backend import AutomationBackend

        stack = AutomationBackend().open_stack(layer, self.stack, create=False)
        return {name: output.value for name, output in stack.outputs().items()}

    def set_config(self) -> None:
        import yaml

        for layer, values in STACK_CONFIG.items():
            path = REPO_ROOT / "stacks" / layer / f"Pulumi.{self.stack}.yaml"
            document = yaml.safe_load(path.read_text())
            project = yaml.safe_load((path.parent / "Pulumi.yaml").read_text())["name"]
            document["config"].update({f"{project}:{k}": v for k, v in values.items()})
            path.write_text(yaml.safe_dump(document, sort_keys=False))

    def push_images(self, tags: tuple[str, ...]) -> None:
        import base64

        token = clients("ecr").get_authorization_token()["authorizationData"][0]
        user, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
        registry = token["proxyEndpoint"].removeprefix("https://")
        subprocess.run(
            ["docker", "login", "-u", user, "--password-stdin", registry], input=password.encode(), check=True
        )
        for service, url in self.outputs("services")["repositoryUrls"].items():
            dockerfile = REPO_ROOT / "apps" / service.replace("-", "_") / "Dockerfile"
            names = [arg for tag in tags for arg in ("-t", f"{url}:{tag}")]
            subprocess.run(
                [
                    "docker",
                    "build",
                    "--platform",
                    "linux/amd64",
                    "-f",
                    str(dockerfile),
                    *names,
                    str(REPO_ROOT),
                ],
                check=True,
            )
            for tag in tags:
                subprocess.run(["docker", "push", f"{url}:{tag}"], check=True)

    def remove_stack_files(self) -> None:
        for layer in LAYER_ORDER:
            (REPO_ROOT / "stacks" / layer / f"Pulumi.{self.stack}.yaml").unlink(missing_ok=True)

    def write_report(self) -> Path:
        path = REPO_ROOT / "out" / f"integration-{self.suffix}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(self.report, indent=2, default=str))
        return path


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    from deploy.verify import running_tasks, wait_for

    run = Deployment()
    with pytest.MonkeyPatch.context() as env:
        if not os.environ.get("PAYMENTS_INTEGRATION_BACKEND"):
            env.setenv("PULUMI_BACKEND_URL", f"file://{tmp_path_factory.mktemp('pulumi-state')}")
            env.setenv("PULUMI_CONFIG_PASSPHRASE", secrets.token_urlsafe(24))
        else:
            env.setenv("PULUMI_BACKEND_URL", os.environ["PAYMENTS_INTEGRATION_BACKEND"])
        env.setenv("AWS_REGION", REGION)
        try:
            assert run.deploy("init", run.stack, "--suffix", run.suffix) == 0
            run.set_config()
            assert run.deploy("up", run.stack) == 0
            run.push_images(("v1", "v2"))
            network, platform = run.outputs("network"), run.outputs("platform")
            services = run.outputs("services")["serviceNames"]

            def all_running() -> bool:
                ecs = clients("ecs")
                return all(
                    len(running_tasks(ecs, platform["clusterName"], name)) >= TASKS_PER_SERVICE
                    for name in services.values()
                )

            started = time.monotonic()
            assert wait_for(all_running, timeout=20 * 60), "the services did not reach 2 running tasks each"
            run.report["phases"]["tasks running after push"] = round(time.monotonic() - started)
            run.report["network"] = network
            yield run
        finally:
            if not run.destroyed:
                run.deploy("destroy", run.stack, "--yes", "--remove-stack")
            run.remove_stack_files()
            print(f"integration report: {run.write_report()}")


def test_the_public_alb_answers_the_health_path(deployment: Deployment) -> None:
    from deploy.verify import http_answer, wait_for
    from shared.catalogue import API_GATEWAY

    url = deployment.outputs("services")["publicUrl"].rstrip("/") + API_GATEWAY.health_path
    answers: list[int] = []

    def healthy() -> bool:
        answers.append(http_answer(url)[0])
        return answers[-1] == 200

    assert wait_for(healthy, timeout=5 * 60, interval=10), f"{url} answered {answers[-5:]}"
    deployment.report["checks"]["health"] = {"url": url, "status": answers[-1]}


def test_each_service_runs_two_tasks_in_the_private_subnets(deployment: Deployment) -> None:
    from deploy.verify import running_tasks

    private = set(deployment.outputs("network")["privateSubnetIds"])
    cluster = deployment.outputs("platform")["clusterName"]
    for service, name in deployment.outputs("services")["serviceNames"].items():
        tasks = running_tasks(clients("ecs"), cluster, name)
        assert len(tasks) >= TASKS_PER_SERVICE, service
        assert {t.subnet_id for t in tasks} <= private, f"{service} has a task outside the private subnets"
        assert len({t.availability_zone for t in tasks}) == len(tasks), f"{service}'s tasks share a zone"
        deployment.report["checks"][service] = [t.__dict__ for t in tasks]


def test_the_cloud_map_names_resolve_inside_the_vpc(deployment: Deployment) -> None:
    """A payment goes api-gateway -> payment-processor -> fraud-detector by their Cloud Map names only
    (the task definitions' env), so a scored payment proves both names resolved inside the VPC."""
    from deploy.verify import http_answer

    outputs = deployment.outputs("services")
    url = outputs["publicUrl"].rstrip("/") + "/payments"
    payment = {"amount": "12.50", "currency": "USD", "card_token": "tok_4242424242424242"}
    status, body = http_answer(url, "POST", payment, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert status == 201, body
    assert isinstance(body["risk_score"], int)  # only fraud-detector computes it
    namespace = deployment.outputs("platform")["namespaceId"]
    registered = {s["Name"] for s in clients("servicediscovery").list_services(
        Filters=[{"Name": "NAMESPACE_ID", "Values": [namespace]}]
    )["Services"]}  # fmt: skip
    assert {"payment-processor", "fraud-detector"} <= registered
    deployment.report["checks"]["cloud map"] = {"names": sorted(registered), "payment": body}


def test_a_release_through_the_release_command_completes(deployment: Deployment) -> None:
    from release import cli as release_cli

    started = time.monotonic()
    code = release_cli.main([deployment.stack, "api-gateway", "v2", "--poll", "10"])
    deployment.report["phases"]["release api-gateway v2"] = round(time.monotonic() - started)
    assert code == 0


def test_destroy_leaves_nothing_with_the_suffix(deployment: Deployment) -> None:
    from deploy.verify import leftovers, wait_for

    assert deployment.deploy("destroy", deployment.stack, "--yes", "--remove-stack") == 0
    deployment.destroyed = True
    left: list[str] = []

    def clean() -> bool:
        left[:] = leftovers(clients, deployment.suffix)
        return not left

    # The tagging API lists deleted resources for a few minutes; retry before calling it a leftover.
    assert wait_for(clean, timeout=10 * 60, interval=30), f"left behind: {left}"
    deployment.report["checks"]["leftovers"] = left
