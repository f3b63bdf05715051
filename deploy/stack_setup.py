"""New stacks: the config file from the example stack, and credentials as Pulumi secrets.

`Pulumi.<stack>.yaml` is written from the layer's example (`Pulumi.dev.yaml`) with the new suffix, so a
new stack starts from settings that deploy. Credentials never pass through a file or the command line:
each comes from an environment variable named after its key (`PAYMENTS_PAYMENT_PROVIDER_API_KEY` for
`paymentProviderApiKey`) and is stored with `pulumi config set --secret`. A credential someone wrote
into the file as plaintext is moved into an encrypted value the same way.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from deploy.backend import LayerStack
from offline.layer_projects import Layer
from shared.config.platform import CREDENTIAL_KEYS
from shared.errors import ConfigError
from shared.naming import SUFFIX_KEY, validate_suffix

EXAMPLE_STACK = "dev"
# Which keys of which layer hold credentials (the layer reads them with ConfigReader.secret).
CREDENTIALS: dict[str, tuple[str, ...]] = {"platform": CREDENTIAL_KEYS}
ENV_PREFIX = "PAYMENTS_"
_STACK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")


class SetupError(Exception):
    """A stack that cannot be set up as asked; the message says what to do."""


def credential_variable(key: str) -> str:
    """`paymentProviderApiKey` -> `PAYMENTS_PAYMENT_PROVIDER_API_KEY`."""
    return ENV_PREFIX + re.sub(r"(?<!^)(?=[A-Z])", "_", key).upper()


@dataclass
class SetupReport:
    layer: str
    config_file: Path
    created_file: bool
    secrets_set: list[str] = field(default_factory=list)  # keys only: values are never reported


def stack_file(layer: str, stack: str) -> Path:
    return Layer(layer).directory / f"Pulumi.{stack}.yaml"


def write_stack_config(layer: str, stack: str, suffix: str, example: str = EXAMPLE_STACK) -> bool:
    """Create `Pulumi.<stack>.yaml` from the example with `suffix`; False when it already exists.

    An existing file is left alone, but must already carry the same suffix: two suffixes for one stack
    would give its resources two sets of names.
    """
    if not _STACK_NAME.fullmatch(stack):
        raise SetupError(f"stack name {stack!r} may hold only letters, digits, '-', '_' and '.'")
    try:
        validate_suffix(suffix)
    except ConfigError as error:
        raise SetupError(f"--suffix {suffix!r} {error.rule}. Fix: {error.fix}") from None
    definition = Layer(layer)
    target = stack_file(layer, stack)
    key = f"{definition.project}:{SUFFIX_KEY}"
    if target.exists():
        current = (yaml.safe_load(target.read_text()) or {}).get("config", {}).get(key)
        if current not in (None, suffix):
            raise SetupError(
                f"stacks/{layer}/Pulumi.{stack}.yaml already sets {SUFFIX_KEY} to {current!r}, not "
                f"{suffix!r}: use --suffix {current}, or delete the file to start over"
            )
        return False
    source = stack_file(layer, example)
    if not source.exists():
        raise SetupError(f"stacks/{layer} has no example stack Pulumi.{example}.yaml to copy")
    config = dict((yaml.safe_load(source.read_text()) or {}).get("config") or {})
    config[key] = suffix
    header = (
        f"# Stack {stack}: created by `python3 dev.py init` from Pulumi.{example}.yaml.\n"
        "# Credentials are never written here: they are set with `pulumi config set --secret`.\n"
    )
    target.write_text(header + yaml.safe_dump({"config": config}, sort_keys=False))
    return True


def plaintext_credentials(layer: str, stack: str) -> dict[str, str]:
    """Credentials written into the stack file as plaintext (a mistake this setup repairs)."""
    definition = Layer(layer)
    raw = (yaml.safe_load(stack_file(layer, stack).read_text()) or {}).get("config") or {}
    found = {}
    for key in CREDENTIALS.get(layer, ()):
        value = raw.get(f"{definition.project}:{key}")
        if isinstance(value, str) and value:
            found[key] = value
    return found


def set_credentials(
    layer: str, stack: str, selected: LayerStack, env: Mapping[str, str] | None = None
) -> list[str]:
    """Store every credential given in the environment (or as plaintext in the file) as a secret."""
    environment = os.environ if env is None else env
    values = plaintext_credentials(layer, stack)
    for key in CREDENTIALS.get(layer, ()):
        given = environment.get(credential_variable(key))
        if given:
            values[key] = given
    for key, value in values.items():
        selected.set_secret(key, value)
    return sorted(values)
