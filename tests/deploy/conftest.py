"""Fakes for the deploy command: an in-memory Pulumi backend, and a copy of the layers' stack files."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

import offline.layer_projects
from deploy import task_definitions
from deploy.account import no_account_problems
from deploy.backend import Identity, NotLoggedInError, OperationError, StackMissingError, StackOutput
from deploy.preflight import AwsIdentity
from deploy.stacks import StackId
from offline.layer_projects import LAYER_ORDER

ORG = "organization"  # what a self-managed backend calls every organization
REAL_ROOT = offline.layer_projects.REPO_ROOT
# What each layer's fake `up` leaves behind: a resource count and its outputs.
DEPLOYED = {
    "network": (41, {"vpcId": StackOutput("vpc-0abc", False)}),
    "platform": (63, {"clusterName": StackOutput("ecs-cluster-dev", False)}),
    "services": (120, {"publicUrl": StackOutput("http://alb", False), "token": StackOutput("s3cr3t", True)}),
}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The layers' Pulumi.yaml and Pulumi.dev.yaml in a temp tree that `offline.layer_projects` reads
    instead."""
    for layer in LAYER_ORDER:
        source = REAL_ROOT / "stacks" / layer
        target = tmp_path / "stacks" / layer
        target.mkdir(parents=True)
        for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
            shutil.copy(source / name, target / name)
    monkeypatch.setattr(offline.layer_projects, "REPO_ROOT", tmp_path)
    return tmp_path


def write_stack(repo: Path, layer: str, stack: str, **config: object) -> Path:
    """A `Pulumi.<stack>.yaml` for `layer` with the given keys (project prefix added)."""
    project = yaml.safe_load((repo / "stacks" / layer / "Pulumi.yaml").read_text())["name"]
    path = repo / "stacks" / layer / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": {f"{project}:{k}": v for k, v in config.items()}}))
    return path


def full(layer: str, stack: str = "dev") -> str:
    project = {
        "network": "payments-network",
        "platform": "payments-platform",
        "services": "payments-services",
    }
    return f"{ORG}/{project[layer]}/{stack}"


@dataclass
class FakeStack:
    backend: FakeBackend
    layer: str
    name: str

    @property
    def full(self) -> str:
        return full(self.layer, self.name)

    def preview(self, on_output):
        self.backend.calls.append(("preview", self.layer, self.name))
        on_output(f"previewing {self.layer}")
        return {"create": DEPLOYED[self.layer][0]}

    def up(self, on_output):
        self.backend.calls.append(("up", self.layer, self.name))
        on_output(f"updating {self.layer}")
        if self.layer in self.backend.fail:
            raise OperationError(f"{self.layer}: error: creating resource failed")
        count, outputs = DEPLOYED[self.layer]
        self.backend.resources[self.full] = count
        self.backend.outputs[self.full] = outputs
        return outputs

    def destroy(self, on_output, remove):
        self.backend.calls.append(("destroy", self.layer, self.name))
        on_output(f"destroying {self.layer}")
        self.backend.resources[self.full] = 0
        if remove:
            del self.backend.resources[self.full]

    def outputs(self):
        return self.backend.outputs.get(self.full, {})

    def set_secret(self, key, value):
        self.backend.secrets[(self.layer, self.name, key)] = value


@dataclass
class FakeBackend:
    """A logged-in self-managed backend whose stacks are a dict of resource counts by full name."""

    version: str | None = "3.210.0"
    logged_in: bool = True
    url: str = "file:///home/ops/.pulumi"
    resources: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, dict[str, StackOutput]] = field(default_factory=dict)
    secrets: dict[tuple[str, str, str], str] = field(default_factory=dict)
    fail: set[str] = field(default_factory=set)  # layers whose up fails
    calls: list[tuple[str, str, str]] = field(default_factory=list)

    def cli_version(self):
        return self.version

    def identity(self):
        if not self.logged_in:
            raise NotLoggedInError("error: PULUMI_ACCESS_TOKEN must be set for login")
        return Identity("ops", self.url)

    def default_organization(self, identity):
        return ORG

    def resource_count(self, stack: StackId):
        return self.resources.get(stack.full)

    def open_stack(self, layer, stack, *, create):
        name = full(layer, stack)
        if name not in self.resources:
            if not create:
                raise StackMissingError(name)
            self.calls.append(("create", layer, stack))
            self.resources[name] = 0
        return FakeStack(self, layer, stack)

    def deployed(self, *layers: str, stack: str = "dev") -> FakeBackend:
        for layer in layers:
            self.resources[full(layer, stack)] = DEPLOYED[layer][0]
            self.outputs[full(layer, stack)] = DEPLOYED[layer][1]
        return self

    def operations(self) -> list[tuple[str, str]]:
        return [(op, layer) for op, layer, _ in self.calls if op != "create"]


def aws_ok(region: str) -> AwsIdentity:
    return AwsIdentity("123456789012", "arn:aws:iam::123456789012:user/ops")


# Credentials that work, in an account with no quota or release in the way: for tests of everything else.
OFFLINE_AWS = {"aws_check": aws_ok, "account_check": no_account_problems}


@pytest.fixture
def passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "correct horse battery staple")


@pytest.fixture(autouse=True)
def task_definition_removals(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Destroy's clean-up of release revisions, recorded instead of sent to ECS: (region, suffix)."""
    calls: list[tuple[str, str]] = []

    def remove(region: str, suffix: str, out):
        calls.append((region, suffix))
        return task_definitions.Removal()

    monkeypatch.setattr(task_definitions, "remove_release_revisions", remove)
    return calls
