"""Container settings: declared once (`shared/container_settings.py`), and every route derived from it.

The duplicate-default test reads every tracked Python and Markdown file: a declared default written
next to its setting's name (the config key, the environment variable, or two consecutive words of
them such as `pool_size` or "cache TTL", not the first two alone) is a second copy that can go
stale. Generated tables, which are rewritten from the declaration, are left out.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import get_args

import pytest

from apps.common.runtime_config import RuntimeConfig, RuntimeConfigError
from apps.payment_processor.ledger_connections import DatabaseTls as AppDatabaseTls
from apps.payment_processor.ledger_connections import LedgerConnectionConfig
from functions.secret_rotation import postgres
from policy.model import Context, Resource
from policy.rules import RULES
from shared.catalogue import CATALOGUE
from shared.config.keys import LAYER_KEYS, SERVICES_KEYS
from shared.config.platform import DatabaseTls as PlatformDatabaseTls
from shared.config.render import SETTINGS_BEGIN, SETTINGS_END, TABLE_BEGIN, TABLE_END
from shared.container_settings import (
    CONTAINER_SETTINGS,
    DATABASE_POOL_SIZE,
    DATABASE_TLS_MODES,
    SECRET_CACHE_TTL,
    ContainerSetting,
    environment,
)

ROOT = Path(__file__).resolve().parents[2]
DECLARATION = "shared/container_settings.py"
GENERATED = ((TABLE_BEGIN, TABLE_END), (SETTINGS_BEGIN, SETTINGS_END))
SETTINGS = [pytest.param(setting, id=setting.key) for setting in CONTAINER_SETTINGS]


def words(setting: ContainerSetting) -> list[str]:
    """`secretCacheTtlSeconds` -> secret, cache, ttl, seconds."""
    return [w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", setting.key)]


def name_pattern(parts: list[str], at: int) -> str:
    """Two consecutive words of the key from `at`, and any of its later words, as a whole name:
    `pool_size`, `PoolSize`, "cache TTL", `TTL_SECONDS`, but not `DATABASE_POOL_MAX_LIFETIME_SECONDS`.
    The first word alone with the second (`secret_cache`, `database_pool`) names other things."""
    rest = "".join(rf"(?:[\s_-]?{word}" for word in parts[at + 2 :]) + ")?" * len(parts[at + 2 :])
    return rf"{parts[at]}[\s_-]?{parts[at + 1]}{rest}(?![_-]?[a-z0-9])"


def copies(setting: ContainerSetting, text: str) -> list[str]:
    """Each place in `text` where the setting is named and its default follows within the sentence
    (80 characters, no blank line): `DEFAULT_POOL_SIZE = 10`, "`SECRET_CACHE_TTL_SECONDS` (300 s)"."""
    parts = words(setting)
    names = "|".join(name_pattern(parts, at) for at in range(1, len(parts) - 1))
    number = rf"(?<![\w.,]){setting.default}(?![\w]|[.,]\d)"
    pattern = re.compile(rf"(?:{names})(?:(?!\n[ \t]*\n)[\s\S]){{0,80}}?{number}", re.IGNORECASE)
    return [match.group(0) for match in pattern.finditer(text)]


def without_generated(text: str) -> str:
    for begin, end in GENERATED:
        while begin in text and end in text:
            start = text.index(begin)
            text = text[:start] + text[text.index(end, start) + len(end) :]
    return text


def tracked_sources() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "*.py", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    this = str(Path(__file__).resolve().relative_to(ROOT))
    return [ROOT / name for name in listed if name and name not in (DECLARATION, this)]


def test_no_source_or_doc_repeats_a_declared_default():
    found = []
    for path in tracked_sources():
        if not path.is_file():
            continue
        text = without_generated(path.read_text(encoding="utf-8", errors="replace"))
        for setting in CONTAINER_SETTINGS:
            found += [f"{path.relative_to(ROOT)}: {hit!r}" for hit in copies(setting, text)]
    assert found == [], (
        "a container setting's default is written again; name the setting and link "
        "docs/services.md#container-settings, or import it from shared/container_settings.py:\n"
        + "\n".join(found)
    )


@pytest.mark.parametrize(
    "planted",
    [
        # What the tree held before the declaration (the copies this test exists to refuse):
        "DEFAULT_TTL_SECONDS = 300",
        "    secret_cache_ttl_seconds: int = 300  # `secretCacheTtlSeconds`: SECRET_CACHE_TTL_SECONDS",
        "`RuntimeSecrets` keeps the value it last got for `SECRET_CACHE_TTL_SECONDS` (default 300), so a",
        "switch within their secret cache TTL (300 s); then revoke the old key at the provider.",
        "DEFAULT_POOL_SIZE = 10",
        "    database_pool_size: int = 10  # `databasePoolSize`: DATABASE_POOL_SIZE of the database clients",
        "| `databasePoolSize` (services layer) | `10` | most connections one payment-processor task opens",
        "each task opens up to `databasePoolSize` connections (services\nlayer, default 10, in its task",
    ],
)
def test_the_scan_finds_the_copies_the_old_tree_had(planted):
    assert [hit for setting in CONTAINER_SETTINGS for hit in copies(setting, planted)]


@pytest.mark.parametrize(
    "fine",
    [
        "RuntimeSecrets({'KEY': ARN}, 300, source)",  # a test's own number, not named as the setting
        "the example services stack sets `databasePoolSize: 5`",
        "`SECRET_CACHE_TTL_SECONDS=1` and a pool of 32 connections instead of 10",
        "secretCacheTtlSeconds at most 3000",
        "`databasePoolSize` x maxCapacity x 2\n\nat 10 tasks",  # a blank line ends the sentence
    ],
)
def test_the_scan_leaves_other_numbers_alone(fine):
    assert [hit for setting in CONTAINER_SETTINGS for hit in copies(setting, fine)] == []


@pytest.mark.parametrize("setting", SETTINGS)
def test_the_config_key_is_the_declaration(setting):
    [key] = [k for k in SERVICES_KEYS if k.name == setting.key]
    assert (key.type, key.default, key.minimum, key.maximum) == (
        "integer",
        setting.default,
        setting.minimum,
        setting.maximum,
    )
    assert key.description == setting.description
    assert [layer for layer, keys in LAYER_KEYS.items() if setting.key in keys] == ["services"]


@pytest.mark.parametrize("setting", SETTINGS)
def test_the_task_environment_holds_it_for_exactly_its_receivers(setting):
    assert {spec.name for spec in CATALOGUE if setting.reaches(spec)}  # it reaches some service
    for spec in CATALOGUE:
        env = environment(spec, {setting.key: setting.maximum})
        assert env.get(setting.env) == (str(setting.maximum) if setting.reaches(spec) else None)
        assert environment(spec, {}).get(setting.env) == (
            str(setting.default) if setting.reaches(spec) else None
        )
    assert SECRET_CACHE_TTL.reaches(next(s for s in CATALOGUE if s.secrets))
    assert not SECRET_CACHE_TTL.reaches(next(s for s in CATALOGUE if not s.secrets))
    assert DATABASE_POOL_SIZE.reaches(next(s for s in CATALOGUE if s.database_client))


def read_by_the_service(setting: ContainerSetting, raw: str | None) -> int:
    """The value the service that reads `setting` starts with when its variable is `raw`."""
    env = {} if raw is None else {setting.env: raw}
    if setting is SECRET_CACHE_TTL:
        arns = {f"{name}_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:111111111111:secret:x-AbCdEf"
                for name in CATALOGUE[2].secrets}  # fmt: skip
        return RuntimeConfig.from_env(CATALOGUE[2].name, {**arns, **env}).secret_cache_ttl_seconds
    return LedgerConnectionConfig.from_env({**env, "DATABASE_TLS": "require"}).pool_size


@pytest.mark.parametrize("setting", SETTINGS)
def test_the_service_reads_the_declared_default_and_bounds(setting):
    assert setting in (SECRET_CACHE_TTL, DATABASE_POOL_SIZE), "add its reader to read_by_the_service"
    assert read_by_the_service(setting, None) == read_by_the_service(setting, "") == setting.default
    assert read_by_the_service(setting, str(setting.minimum)) == setting.minimum
    assert read_by_the_service(setting, str(setting.maximum)) == setting.maximum
    for bad, message in [
        (str(setting.minimum - 1), f"{setting.env} must be a whole number from {setting.minimum} to"),
        (str(setting.maximum + 1), f"to {setting.maximum}, got '{setting.maximum + 1}'"),
        (
            "ten",
            f"{setting.env} must be a whole number from {setting.minimum} to {setting.maximum}, got 'ten'",
        ),
        ("-1", "must be a whole number"),
    ]:
        with pytest.raises(RuntimeConfigError, match=re.escape(message)):
            read_by_the_service(setting, bad)


def task_definition(variables: dict[str, str]) -> Resource:
    container = {"name": "app", "readonlyRootFilesystem": True, "secrets": [],
                 "environment": [{"name": k, "value": v} for k, v in variables.items()]}  # fmt: skip
    return Resource(
        "aws:ecs/taskDefinition:TaskDefinition", "task", {"containerDefinitions": json.dumps([container])}
    )


def test_the_policy_lets_every_setting_through_as_a_whole_number_only():
    rule = next(rule for rule in RULES if rule.name == "secrets-not-in-environment")
    numbers = {setting.env: str(setting.maximum) for setting in CONTAINER_SETTINGS}
    assert rule.violations([task_definition(numbers)], Context(suffix="dev")) == []
    # SECRET_CACHE_TTL_SECONDS has a secret's word in it: only a number passes under that name.
    assert rule.violations([task_definition({SECRET_CACHE_TTL.env: "sk_live_1"})], Context(suffix="dev"))


def test_database_tls_is_defined_once_and_the_rotation_lambda_agrees():
    literals = [
        path.relative_to(ROOT)
        for path in tracked_sources()
        if path.suffix == ".py"
        and path.is_file()
        and re.search(r'Literal\[\s*"verify-full"', path.read_text())
    ]
    assert literals == []  # only shared/container_settings.py (not scanned) spells the Literal
    assert DATABASE_TLS_MODES == ("verify-full", "require", "disable")
    # The rotation function's archive holds functions/secret_rotation only: it keeps a checked copy.
    assert postgres._TLS_MODES == DATABASE_TLS_MODES
    assert get_args(PlatformDatabaseTls) == get_args(AppDatabaseTls) == DATABASE_TLS_MODES


NAMESPACE = ".payments-dev.local"
INTERNAL_ALB = "internal-alb-internal-dev-1.us-east-1.elb.amazonaws.com"


@pytest.mark.parametrize(
    ("url", "direct"),
    [
        ("https://secretsmanager.us-east-1.amazonaws.com/", True),  # an interface endpoint's name
        ("https://api.ecr.us-east-1.amazonaws.com/", True),
        ("https://s3.us-east-1.amazonaws.com/", True),
        ("http://169.254.170.2/v2/credentials/x", True),  # ECS's credentials endpoint
        ("http://169.254.169.254/latest/meta-data/", True),
        ("http://fraud-detector.payments-dev.local:8082/score", True),
        (f"http://{INTERNAL_ALB}:8081/", True),
        ("https://keys.provider.example/v1/keys", False),  # a third party: through the proxy
        ("https://api.provider.example/", False),
    ],
)
def test_no_proxy_sends_aws_the_metadata_and_the_vpc_direct_and_third_parties_to_the_proxy(
    url, direct, monkeypatch
):
    """As the clients read it: Python's urllib (the rotation function's key API calls) and botocore."""
    import urllib.request

    import botocore.utils

    from shared.container_settings import proxy_environment

    env = proxy_environment("http://egress-proxy.payments-dev.local:3128", (NAMESPACE, INTERNAL_ALB))
    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    host = urllib.parse.urlsplit(url).hostname
    assert bool(urllib.request.proxy_bypass_environment(host)) is direct
    assert botocore.utils.should_bypass_proxies(url) is direct
    if not direct:
        assert urllib.request.getproxies()["https"] == env["HTTPS_PROXY"]


def test_no_proxy_environment_without_a_proxy():
    from shared.container_settings import proxy_environment

    assert proxy_environment("", (NAMESPACE,)) == {}
