"""What a pipeline job needs to reach AWS and the Pulumi backend, from
deploy/pipelines/pipeline_config.toml.

    python -m deploy.pipelines.pipeline_config --layer network --stack prod --role deployer \
        >> "$GITHUB_OUTPUT"

prints `role-arn=...` (the role named in deploy/pipelines/layer_pipelines.py) and `backend-url=...`.
An unset or malformed setting is refused (exit 2) with the key and the fix, before any credential
is asked for.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from deploy.pipelines.layer_pipelines import PIPELINES

CONFIG_FILE = Path(__file__).resolve().parent / "pipeline_config.toml"
Role = Literal["deployer", "previewer"]
_ACCOUNT = re.compile(r"\d{12}")
# Self-managed backends a pipeline can share (a local file backend lives on one runner and dies with it).
_BACKEND = re.compile(r"(s3|azblob|gs|postgres)://\S+|https://\S+")


class PipelineConfigError(ValueError):
    """A setting is missing or malformed; the message names the key and how to set it."""


@dataclass(frozen=True, kw_only=True)
class PipelineConfig:
    """account_id: the AWS account of the OIDC provider and the roles.
    backend_url: the Pulumi backend of the stacks (`pulumi login <url>`).
    """

    account_id: str
    backend_url: str

    @classmethod
    def load(cls, path: Path = CONFIG_FILE) -> PipelineConfig:
        raw = tomllib.loads(path.read_text())
        account = str(raw.get("account_id", ""))
        backend = str(raw.get("backend_url", ""))
        where = f"{path.name}"
        if not _ACCOUNT.fullmatch(account):
            raise PipelineConfigError(
                f"{where}: account_id must be the 12-digit AWS account id of the pipeline roles, got "
                f'{account!r}: set it, e.g. account_id = "123456789012" (docs/deploying.md)'
            )
        if not _BACKEND.fullmatch(backend):
            raise PipelineConfigError(
                f"{where}: backend_url must be a shared Pulumi backend (s3://, azblob://, gs://, "
                f"postgres:// or https://), got {backend!r}: set it, e.g. "
                f'backend_url = "s3://acme-pulumi-state?region=us-east-1" (docs/deploying.md)'
            )
        return cls(account_id=account, backend_url=backend)

    def role_arn(self, layer: str, stack: str, role: Role) -> str:
        pipeline = PIPELINES[layer]
        name = pipeline.deployer_role(stack) if role == "deployer" else pipeline.previewer_role(stack)
        return f"arn:aws:iam::{self.account_id}:role/{name}"


def main(argv: Sequence[str] | None = None, path: Path = CONFIG_FILE) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.pipelines.pipeline_config", description=__doc__)
    parser.add_argument("--layer", required=True, choices=PIPELINES)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--role", required=True, choices=("deployer", "previewer"))
    args = parser.parse_args(argv)
    try:
        settings = PipelineConfig.load(path)
    except PipelineConfigError as error:
        print(f"refused: {error}", file=sys.stderr)
        return 2
    print(f"role-arn={settings.role_arn(args.layer, args.stack, args.role)}")
    print(f"backend-url={settings.backend_url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
