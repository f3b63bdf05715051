"""Checks that run before a deployment changes anything. Each failure says what is wrong and the fix.

In the order a newcomer meets them: the Pulumi CLI, the backend login and its secrets, the stack
config of every layer the command touches (validated by the layers' own typed config loaders, so a
bad services config stops `up` before the network is created), AWS credentials and region, the
permissions boundary every role must carry, and the links between layers (an upstream must exist; a
downstream with resources blocks a destroy).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    TokenRetrievalError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from deploy.backend import Backend, Identity, NotLoggedInError
from deploy.stacks import (
    StackId,
    downstream_stacks,
    layer_stack,
    upstream_config_key,
    upstream_stacks,
)
from offline.layer_projects import Layer, read_yaml
from shared.aws_context import AwsContext
from shared.config.common import DEFAULT_REGION
from shared.config.declared import refuse_values_pulumi_would_reject
from shared.config.network import NetworkConfig
from shared.config.platform import PlatformConfig
from shared.config.reader import ConfigReader
from shared.config.services import ServicesConfig
from shared.errors import ConfigError
from shared.naming import SUFFIX_KEY
from shared.role_boundary import role_boundary_arn

# Pulumi.yaml's `runtime.options.toolchain` needs 3.120; the SDK floor in pyproject.toml is 3.200, and
# an older CLI than the SDK it runs is not a combination Pulumi tests.
MINIMUM_CLI_VERSION = (3, 200, 0)
INSTALL_DOCS = "https://www.pulumi.com/docs/iac/download-install/"
PASSPHRASE_VARIABLES = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")
CONFIG_LOADERS: dict[str, Callable[[ConfigReader], object]] = {
    "network": NetworkConfig.load,
    "platform": PlatformConfig.load,
    "services": ServicesConfig.load,
}
SECRET_PLACEHOLDER = "<secret>"  # stands in for an encrypted value: only its presence is checked
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")
T = TypeVar("T")


class PreflightError(Exception):
    """Refused before anything changed; each problem says what is wrong and what to do."""

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Problems:
    """Every problem a run of checks finds, so one preflight reports them all at once."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def run(self, check: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """The check's result, or None after recording the problems it raised."""
        try:
            return check(*args, **kwargs)
        except PreflightError as error:
            self.found += error.problems
            return None

    def raise_if_any(self) -> None:
        if self.found:
            raise PreflightError(*self.found)


@dataclass(frozen=True)
class StackConfigFile:
    """One layer's `Pulumi.<stack>.yaml`, checked."""

    layer: str
    stack: str
    suffix: str
    region: str
    secrets_provider: str | None
    config: object = None  # the layer's typed config (NetworkConfig, ...), when it was validated


def parse_version(text: str) -> tuple[int, int, int] | None:
    match = _VERSION.search(text)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def check_cli(backend: Backend) -> str:
    version = backend.cli_version()
    wanted = ".".join(map(str, MINIMUM_CLI_VERSION))
    if version is None:
        raise PreflightError(
            f"the Pulumi CLI is not on PATH: install version {wanted} or newer ({INSTALL_DOCS}), "
            "open a new shell so PATH includes it, and check with `pulumi version`"
        )
    parsed = parse_version(version)
    if parsed is None:
        raise PreflightError(f"`pulumi version` printed {version!r}, not a version: reinstall the CLI")
    if parsed < MINIMUM_CLI_VERSION:
        raise PreflightError(
            f"the Pulumi CLI is {version}, older than {wanted}, the oldest this project supports: "
            f"upgrade it ({INSTALL_DOCS}; `brew upgrade pulumi` on macOS)"
        )
    return version


def check_login(backend: Backend) -> Identity:
    try:
        return backend.identity()
    except NotLoggedInError as error:
        raise PreflightError(
            f"no Pulumi backend is logged in ({error}). To try the project, keep state on this machine: "
            "`pulumi login --local`. For a team, share state in a versioned S3 bucket: "
            "`pulumi login 's3://<bucket>?region=us-east-1'` (or `pulumi login` for Pulumi Cloud)"
        ) from None


def _config_values(layer: str, stack: str) -> tuple[dict[str, Any], set[str], str | None]:
    """Pulumi.yaml defaults overlaid with the stack file; which keys are encrypted; its secrets provider."""
    definition = Layer(layer)
    path = definition.directory / f"Pulumi.{stack}.yaml"
    document = read_yaml(path) or {}
    prefix = f"{definition.project}:"
    values: dict[str, Any] = dict(definition.defaults())
    secret_keys: set[str] = set()
    for key, value in (document.get("config") or {}).items():
        name = str(key).removeprefix(prefix)
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[name] = SECRET_PLACEHOLDER
            secret_keys.add(name)
        else:
            values[name] = value
    provider = document.get("secretsprovider")
    return values, secret_keys, str(provider) if provider else None


def required_keys(layer: str) -> list[str]:
    """The keys Pulumi.yaml declares without a default: every stack must set them."""
    return [key for key, spec in Layer(layer).config_schema().items() if "default" not in spec]


def check_stack_config(layer: str, stack: str, *, validate: bool = True) -> StackConfigFile:
    """The stack file exists, sets every required key, and (with `validate`) passes the layer's own
    config validation: the same `ConfigError` the program would raise, before anything is created."""
    directory = f"stacks/{layer}"
    path = Layer(layer).directory / f"Pulumi.{stack}.yaml"
    needed = required_keys(layer)
    if not path.exists():
        raise PreflightError(
            f"{directory}/Pulumi.{stack}.yaml does not exist; a stack of this layer must set "
            f"{', '.join(needed)}. Create it from the example with "
            f"`python3 dev.py init -- {stack} --suffix <suffix>` (or `pulumi stack init {stack}` and "
            f"`pulumi config set {needed[0]} <value>` in {directory})"
        )
    values, secret_keys, provider = _config_values(layer, stack)
    missing = [key for key in needed if values.get(key) in (None, "")]
    if missing:
        raise PreflightError(
            f"{directory}/Pulumi.{stack}.yaml does not set {', '.join(missing)}: "
            + "; ".join(
                f"`pulumi config set {key} <value> --stack {stack}` in {directory}" for key in missing
            )
        )
    config = None
    try:
        if validate:
            refuse_values_pulumi_would_reject(layer, values)
            config = _run_loader(layer, ConfigReader.from_mapping(values, secret_keys))
    except ConfigError as error:
        where = "" if f"stacks/{layer}" in error.fix else f" (in {directory})"  # the fix names it already
        raise PreflightError(f"{directory}/Pulumi.{stack}.yaml: {error}{where}") from None
    return StackConfigFile(
        layer=layer,
        stack=stack,
        suffix=str(values[SUFFIX_KEY]),
        region=str(values.get("region") or DEFAULT_REGION),
        secrets_provider=provider,
        config=config,
    )


def _run_loader(layer: str, reader: ConfigReader) -> object:
    """Run a layer's config loader outside a Pulumi program.

    Credentials become `pulumi.Output`s, which need an event loop; give them a private one and
    settle it, so nothing leaks into the caller's loop or warns at exit.
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return CONFIG_LOADERS[layer](reader)
    finally:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
        asyncio.set_event_loop(None)


def check_stack_configs(layers: tuple[str, ...], stack: str) -> list[StackConfigFile]:
    """Every layer's stack file, and that the layers agree on what must be the same across them.

    The suffix must match: the platform key's policy admits only log groups ending in its own suffix,
    and the release command names the services layer's resources from it. The region must match:
    subnet and security group ids from another region mean nothing.
    """
    problems = Problems()
    settings = [problems.run(check_stack_config, layer, stack) for layer in layers]
    problems.raise_if_any()
    return check_layers_agree([s for s in settings if s is not None], stack)


def check_layers_agree(settings: list[StackConfigFile], stack: str) -> list[StackConfigFile]:
    """The suffix and the region are the same in every layer's stack file."""
    for field, why in (("suffix", SUFFIX_KEY), ("region", "region")):
        seen = {getattr(s, field) for s in settings}
        if len(seen) > 1:
            listed = ", ".join(f"{s.layer} has {getattr(s, field)!r}" for s in settings)
            raise PreflightError(
                f"the layers of stack {stack!r} disagree on {why} ({listed}): set the same value in "
                f"every stacks/<layer>/Pulumi.{stack}.yaml"
            )
    return settings


def check_secrets_provider(
    identity: Identity, settings: list[StackConfigFile], env: Mapping[str, str] | None = None
) -> None:
    """A self-managed backend encrypts config secrets with a passphrase unless a KMS provider is set."""
    environment = os.environ if env is None else env
    if not identity.self_managed or any(environment.get(v) for v in PASSPHRASE_VARIABLES):
        return
    without = [s.layer for s in settings if not s.secrets_provider]
    if without:
        raise PreflightError(
            f"the backend {identity.url} keeps secrets encrypted with a passphrase, and none is set for "
            f"{', '.join(without)}: export PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE), "
            "or create the stacks with `--secrets-provider awskms://alias/<key>` so no passphrase is needed"
        )


# Preflight's reads: a few attempts with short timeouts, so an unreachable AWS is reported in seconds.
QUICK = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=5, read_timeout=10)


def unreachable(error: Exception) -> str:
    return (
        f"AWS could not be reached ({error}): check the network, any proxy (HTTPS_PROXY) and "
        "AWS_ENDPOINT_URL, then retry"
    )


@dataclass(frozen=True)
class AwsIdentity:
    account: str
    arn: str


def check_aws(region: str, session_factory: Callable[[], Any] | None = None) -> AwsIdentity:
    """Credentials that STS accepts, and no environment region that contradicts the stacks' region."""
    import boto3

    session = (session_factory or boto3.Session)()
    active = session.region_name
    if active and active != region:
        raise PreflightError(
            f"the AWS environment points at region {active} (AWS_REGION, AWS_DEFAULT_REGION or the "
            f"profile), but the stacks deploy to {region}: `export AWS_REGION={region}`, or set "
            "`region` in every layer's stack config to deploy there"
        )
    try:
        answer = session.client("sts", region_name=region, config=QUICK).get_caller_identity()
    except (BotocoreConnectionError, HTTPClientError) as error:
        raise PreflightError(unreachable(error)) from None
    except (NoCredentialsError, PartialCredentialsError):
        raise PreflightError(
            "no AWS credentials found: `aws sso login --profile <profile>` and "
            "`export AWS_PROFILE=<profile>`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; "
            "check with `aws sts get-caller-identity`"
        ) from None
    except TokenRetrievalError:
        raise PreflightError(
            "the AWS SSO session has expired: `aws sso login --profile <profile>`, then retry"
        ) from None
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        raise PreflightError(
            f"AWS STS rejected the credentials ({code}): they are expired or revoked; get fresh ones "
            "and check with `aws sts get-caller-identity`"
        ) from None
    identity = AwsIdentity(account=str(answer["Account"]), arn=str(answer["Arn"]))
    check_role_boundary(session, region, identity)
    return identity


def check_role_boundary(session: Any, region: str, identity: AwsIdentity) -> None:
    """The permissions boundary exists in the deployer's account: every role of the layers carries it,
    and the deployer may create or change no role without it (docs/deployer-iam.md)."""
    partition = identity.arn.split(":")[1]
    arn = role_boundary_arn(AwsContext(identity.account, region, partition))
    try:
        session.client("iam", region_name=region).get_policy(PolicyArn=arn)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        if code == "NoSuchEntity":
            raise PreflightError(
                f"the permissions boundary {arn} does not exist: every role the layers create carries it, "
                "and the deployer may create or change no role without it. An administrator creates it "
                "once per account: `aws iam create-policy --policy-name payments-role-boundary "
                "--policy-document file://deploy/iam/role-boundary.json` (docs/deployer-iam.md)"
            ) from None
        raise PreflightError(
            f"cannot read the permissions boundary {arn} ({code}): attach deploy/iam/deployer-roles.json "
            "to the deployer as payments-deployer-roles (docs/deployer-iam.md)"
        ) from None


def check_upstreams(backend: Backend, layer: str, stack: str, organization: str) -> dict[str, StackId]:
    """Every stack `layer` reads exists and holds resources: its StackReferences would fail otherwise."""
    upstreams = upstream_stacks(layer, stack, organization)
    for upstream, reference in upstreams.items():
        count = backend.resource_count(reference)
        key = upstream_config_key(layer, upstream)
        if count is None:
            raise PreflightError(
                f"{layer} reads {reference.full}, which does not exist in this backend: deploy it first "
                f"(`python3 dev.py up -- {reference.stack} --layer {upstream}`), or point {layer}'s "
                f"{key} at the stack that exists (`pulumi config set {key} <org>/<project>/<stack>`)"
            )
        if count == 0:
            raise PreflightError(
                f"{layer} reads {reference.full}, which exists but has no resources (destroyed?): "
                f"`python3 dev.py up -- {reference.stack} --layer {upstream}` first"
            )
    return upstreams


def check_no_downstream_resources(backend: Backend, layer: str, stack: str, organization: str) -> None:
    """Refuse to destroy a layer while a stack that reads its outputs still has resources."""
    target = layer_stack(layer, stack, organization)
    for downstream, reference in downstream_stacks(layer, stack, organization):
        count = backend.resource_count(reference)
        if count:
            raise PreflightError(
                f"refusing to destroy {layer} ({target.full}): {reference.full} still has {count} "
                f"resources built on its outputs, and destroying {layer} under them would strand them. "
                f"Destroy it first: `python3 dev.py destroy -- {reference.stack} --layer {downstream}`"
            )
