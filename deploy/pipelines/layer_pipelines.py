"""Each layer's deployment pipeline, declared once: what triggers it, who owns it, what it may do in AWS.

The workflows in `.github/workflows/`, `.github/CODEOWNERS`, the trust policies (`trust.py`) and
docs/deploying.md follow this table; tests/deploy/test_pipelines.py checks that they agree with it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from shared.layers import LAYERS, Layer

# Every layer imports shared/: a change there is previewed (and deployed) by every layer's pipeline.
# shared/ and the locked dependencies (a pulumi-aws bump changes what every layer deploys) start them all.
SHARED_PATHS: tuple[str, ...] = ("shared/**", "pyproject.toml", "uv.lock")
# The reusable workflow every layer's workflow calls: a change to it is a change to every pipeline.
REUSABLE_WORKFLOW = ".github/workflows/layer-pipeline.yml"
DESTROY_WORKFLOW = ".github/workflows/destroy.yml"
DEPLOY_BRANCH = "main"
# The stack every layer's pipeline previews and deploys (its Pulumi.<stack>.yaml is committed).
PIPELINE_STACK = "prod"
# The IAM OIDC provider for GitHub Actions and the audience configure-aws-credentials asks for
# (its action.yml: `audience` defaults to sts.amazonaws.com).
OIDC_PROVIDER_HOST = "token.actions.githubusercontent.com"
OIDC_AUDIENCE = "sts.amazonaws.com"
# Who owns what no layer owns (CODEOWNERS' catch-all, the workflows, deploy/); shared/ is every layer's.
MAINTAINERS = "@payments-platform/maintainers"


@dataclass(frozen=True, kw_only=True)
class LayerPipeline:
    """One layer's pipeline.

    layer: the layer (`stacks/<layer>`), deployed only by this pipeline.
    paths: what else, besides `stacks/<layer>/**`, shared/ and the workflows, changes what the layer
        deploys (its Lambda code, the modules only it and another layer import). Default: none.
    owners: the GitHub teams CODEOWNERS names for the layer's folder; they approve its destroy.
    deployer_policies: the documents of deploy/iam/ attached to the layer's deployer role (without the
        `deployer-` prefix): every call its resources need is allowed by exactly these
        (tests/deploy/test_pipelines.py evaluates them, and removing any one denies a call).
    """

    layer: Layer
    paths: tuple[str, ...] = ()
    owners: tuple[str, ...]
    deployer_policies: tuple[str, ...]

    @property
    def workflow(self) -> str:
        return f".github/workflows/{self.layer}.yml"

    @property
    def folder(self) -> str:
        return f"stacks/{self.layer}/"

    @property
    def trigger_paths(self) -> tuple[str, ...]:
        """The `paths:` filter of the layer's workflow, for pull requests and pushes to main alike."""
        return (f"{self.folder}**", *self.paths, *SHARED_PATHS, self.workflow, REUSABLE_WORKFLOW)

    def environment(self, stack: str) -> str:
        """The GitHub environment `up` runs in: deployments from main only."""
        return f"{self.layer}-{stack}"

    def preview_environment(self, stack: str) -> str:
        """The GitHub environment a pull request's preview runs in."""
        return f"{self.layer}-{stack}-preview"

    def destroy_environment(self, stack: str) -> str:
        """The GitHub environment `destroy` runs in: the layer's owners approve each run."""
        return f"{self.layer}-{stack}-destroy"

    def deployer_role(self, stack: str) -> str:
        """The IAM role `up` and `destroy` assume (the layer's deployer policies)."""
        return f"payments-{self.layer}-{stack}-deployer"

    def previewer_role(self, stack: str) -> str:
        """The IAM role a pull request's preview assumes: read-only, since it runs the pull request's code."""
        return f"payments-{self.layer}-{stack}-previewer"


PIPELINES: dict[str, LayerPipeline] = {
    pipeline.layer: pipeline
    for pipeline in (
        LayerPipeline(
            layer="network",
            owners=("@payments-platform/network-owners",),
            deployer_policies=("foundation", "roles", "waf-and-alerting"),
        ),
        LayerPipeline(
            layer="platform",
            # The secret-rotation Lambda's code and its packaging ship with the platform layer.
            paths=("stacks/hardened_lambda.py", "functions/packaging.py", "functions/secret_rotation/**"),
            owners=("@payments-platform/platform-owners",),
            deployer_policies=(
                "foundation",
                "roles",
                "platform",
                "database",
                "waf-and-alerting",
                "compliance",
            ),
        ),
        LayerPipeline(
            layer="services",
            # The release hooks' Lambda code and its packaging ship with the services layer.
            paths=("stacks/hardened_lambda.py", "functions/packaging.py", "functions/release_hooks/**"),
            owners=("@payments-platform/services-owners",),
            # ECS services and task definitions are in the platform document (IAM's 6,144-character cap
            # split the documents by size, not by layer: docs/deployer-iam.md).
            deployer_policies=(
                "foundation",
                "roles",
                "platform",
                "services",
                "waf-and-alerting",
                "compliance",
            ),
        ),
    )
}
assert tuple(PIPELINES) == LAYERS, "one pipeline per layer, in deploy order"


def main(argv: list[str] | None = None) -> int:
    """`python -m deploy.pipelines.layer_pipelines <layer>`: its deployer role's documents, one a line."""
    names = sys.argv[1:] if argv is None else argv
    if len(names) != 1 or names[0] not in PIPELINES:
        print(f"usage: python -m deploy.pipelines.layer_pipelines {{{','.join(PIPELINES)}}}", file=sys.stderr)
        return 2
    print("\n".join(PIPELINES[names[0]].deployer_policies))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
