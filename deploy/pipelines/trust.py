"""The IAM documents of a layer's pipeline roles, filled in for one repository, account and stack.

    python -m deploy.pipelines.trust deployer-trust --layer network --stack prod \\
        --repository acme/payments --account 123456789012 > trust.json

Documents (templates beside this file, placeholders in angle brackets):
  deployer-trust   who may assume `payments-<layer>-<stack>-deployer`: the layer's `up` and `destroy`
                   environments, on main only
  previewer-trust  who may assume `payments-<layer>-<stack>-previewer`: a pull request's preview
  state-access     the deployer's use of the Pulumi state bucket and the secrets key
  state-preview    the previewer's: read the state, take the stack's lock, decrypt the secrets

The trust policies' `sub` conditions name the repository, the GitHub environment and the branch (or
pull-request ref): that subject exists only once the repository's OIDC subject template includes
`repo`, `context` and `ref` (docs/deploying.md, "A pipeline per layer"). Exit codes: 0 printed, 2 refused.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from deploy.pipelines.layer_pipelines import PIPELINES

TEMPLATES = {
    "deployer-trust": "trust-deployer.json",
    "previewer-trust": "trust-previewer.json",
    "state-access": "state-access.json",
    "state-preview": "state-preview.json",
}
DIRECTORY = Path(__file__).resolve().parent
_PLACEHOLDER = re.compile(r"<[a-z-]+>")
# GitHub: an owner is 1-39 alphanumerics or single hyphens; a repository name letters, digits, `.`, `-`, `_`.
_REPOSITORY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}/[A-Za-z0-9._-]{1,100}")
_ACCOUNT = re.compile(r"\d{12}")
# A stack name that is also safe inside an environment name and an IAM role name (64 characters at most).
_STACK = re.compile(r"[a-z0-9][a-z0-9-]{0,19}")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# A key ARN, not an alias ARN: an alias in a policy's Resource does not grant use of the key it names
# (KMS developer guide, "Using aliases to control access to KMS keys": use kms:RequestAlias instead).
_KEY_ARN = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+")


class TemplateError(ValueError):
    """A value the document needs is missing or malformed; the message names it and the fix."""


def template(document: str) -> Any:
    if document not in TEMPLATES:
        raise TemplateError(f"unknown document {document!r}: use one of {', '.join(TEMPLATES)}")
    return json.loads((DIRECTORY / TEMPLATES[document]).read_text())


def placeholders(value: Any) -> set[str]:
    """Every `<name>` left in a document."""
    if isinstance(value, str):
        return set(_PLACEHOLDER.findall(value))
    if isinstance(value, Mapping):
        return {found for item in value.values() for found in placeholders(item)}
    if isinstance(value, list):
        return {found for item in value for found in placeholders(item)}
    return set()


def _fill(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for placeholder, replacement in values.items():
            value = value.replace(placeholder, replacement)
        return value
    if isinstance(value, Mapping):
        return {key: _fill(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, values) for item in value]
    return value


def _checked(name: str, value: str | None, pattern: re.Pattern[str], example: str) -> str:
    if value is None:
        raise TemplateError(f"--{name} is required for this document, e.g. --{name} {example}")
    if not pattern.fullmatch(value):
        raise TemplateError(f"--{name} {value!r} is not valid, e.g. --{name} {example}")
    return value


def render(
    document: str,
    *,
    layer: str,
    stack: str,
    repository: str | None = None,
    account: str | None = None,
    state_bucket: str | None = None,
    secrets_key: str | None = None,
) -> Any:
    """The document with every placeholder it holds filled; refuses a missing or malformed value."""
    if layer not in PIPELINES:
        raise TemplateError(f"unknown layer {layer!r}: use one of {', '.join(PIPELINES)}")
    raw = template(document)
    needed = placeholders(raw)
    given = {"<layer>": layer, "<stack>": _checked("stack", stack, _STACK, "prod")}
    if "<owner>" in needed or "<repository>" in needed:
        given["<owner>/<repository>"] = _checked("repository", repository, _REPOSITORY, "acme/payments")
    if "<account-id>" in needed:
        given["<account-id>"] = _checked("account", account, _ACCOUNT, "123456789012")
    if "<state-bucket>" in needed:
        given["<state-bucket>"] = _checked("state-bucket", state_bucket, _BUCKET, "acme-pulumi-state")
    if "<secrets-key-arn>" in needed:
        example = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        given["<secrets-key-arn>"] = _checked("secrets-key", secrets_key, _KEY_ARN, example)
    filled = _fill(raw, given)
    left = placeholders(filled)
    if left:
        raise TemplateError(f"{TEMPLATES[document]} still holds {', '.join(sorted(left))}")
    return filled


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.pipelines.trust",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("document", choices=TEMPLATES)
    parser.add_argument("--layer", required=True, choices=PIPELINES)
    parser.add_argument("--stack", required=True, help="the stack the pipeline deploys, e.g. prod")
    parser.add_argument("--repository", help="<owner>/<name> of the GitHub repository")
    parser.add_argument("--account", help="the AWS account id the OIDC provider is in")
    parser.add_argument("--state-bucket", help="the S3 bucket of the Pulumi backend")
    parser.add_argument("--secrets-key", help="the ARN of the KMS key of the stacks' secrets provider")
    args = parser.parse_args(argv)
    try:
        document = render(
            args.document,
            layer=args.layer,
            stack=args.stack,
            repository=args.repository,
            account=args.account,
            state_bucket=args.state_bucket,
            secrets_key=args.secrets_key,
        )
    except TemplateError as error:
        print(f"refused: {error}", file=sys.stderr)
        return 2
    print(json.dumps(document, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
