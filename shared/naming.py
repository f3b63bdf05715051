"""Physical names: `{resource-type}[-{service}][-{qualifier}]-{environmentSuffix}`, checked against AWS.

Every name the project gives AWS is built here, so AWS's length and character rules live in one place
and a bad suffix fails at `Namer(...)`, before any resource is registered.

The suffix is capped at `MAX_SUFFIX_LENGTH` because of the tightest name the project makes: a target
group is auto-named (Pulumi appends "-" plus 7 random characters so a replacement can be created before
the old one is deleted) and AWS caps target-group names at 32 characters. "tg-fraud-green-" (15) + suffix
(8) + "-1a2b3c4" (8) = 31. `tests/shared/test_naming_properties.py` proves every name fits for every
valid suffix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from shared.errors import ConfigError

SUFFIX_KEY = "environmentSuffix"
MAX_SUFFIX_LENGTH = 8
PULUMI_AUTONAME_LENGTH = 8  # "-" + 7 random hex characters
# Single inner hyphens only: with "--" a suffix could end a bucket name in one of S3's reserved
# endings such as "--x-s3" or "--ol-s3" (S3 user guide, "General purpose bucket naming rules").
_SUFFIX_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def validate_suffix(value: str) -> str:
    """Return `value` if it can end every name the project makes, else raise `ConfigError`."""
    fix = f"choose 1-{MAX_SUFFIX_LENGTH} lowercase letters, digits or single inner hyphens, e.g. dev or pr-42"
    if not isinstance(value, str) or not value:
        raise ConfigError(SUFFIX_KEY, value, "the environment suffix is required", fix)
    if len(value) > MAX_SUFFIX_LENGTH:
        raise ConfigError(
            SUFFIX_KEY,
            value,
            f"must be at most {MAX_SUFFIX_LENGTH} characters so target-group names stay within AWS's 32",
            fix,
        )
    if not _SUFFIX_PATTERN.fullmatch(value):
        raise ConfigError(
            SUFFIX_KEY,
            value,
            "must use only lowercase letters, digits and single hyphens, and not start or end with a hyphen",
            fix,
        )
    if len(value.rsplit("-", 1)[-1]) == 6:
        raise ConfigError(
            SUFFIX_KEY,
            value,
            "must not end in a 6-character segment: Secrets Manager names ending in '-' plus six "
            "characters are confused with the random ARN suffix",
            fix,
        )
    return value


@dataclass(frozen=True)
class NameRule:
    """What AWS accepts for one kind of name."""

    what: str  # AWS's word for it, used in messages
    max_length: int
    allowed: re.Pattern[str]  # must match the whole name
    allowed_text: str
    min_length: int = 1
    autonamed: bool = False  # Pulumi appends PULUMI_AUTONAME_LENGTH characters
    forbidden_prefixes: tuple[str, ...] = ()
    forbidden_endings: tuple[str, ...] = ()
    extra: Callable[[str], str | None] | None = None  # returns a violated rule, or None

    @property
    def budget(self) -> int:
        """Characters our part of the name may use."""
        return self.max_length - (PULUMI_AUTONAME_LENGTH if self.autonamed else 0)

    def violation(self, name: str) -> str | None:
        """The first rule `name` breaks, or None."""
        if not self.min_length <= len(name) <= self.budget:
            extra = " before Pulumi's 8-character random suffix" if self.autonamed else ""
            return (
                f"{self.what} must be {self.min_length}-{self.budget} characters{extra}; "
                f"{name!r} has {len(name)}"
            )
        if not self.allowed.fullmatch(name):
            return f"{self.what} may contain only {self.allowed_text}; {name!r} does not"
        for prefix in self.forbidden_prefixes:
            if name.startswith(prefix):
                return f"{self.what} must not start with {prefix!r}; {name!r} does"
        for ending in self.forbidden_endings:
            if name.endswith(ending):
                return f"{self.what} must not end with {ending!r}; {name!r} does"
        return self.extra(name) if self.extra else None


def _no_random_looking_tail(name: str) -> str | None:
    if re.search(r"-[^-/]{6}$", name):
        return f"a secret name must not end in '-' plus six characters; {name!r} does"
    return None


def _no_double_dot(name: str) -> str | None:
    return f"an S3 bucket name must not contain '..'; {name!r} does" if ".." in name else None


_DNS_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ALNUM_HYPHEN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")

# Rules as the AWS API references state them (CreateLoadBalancer, CreateTargetGroup, CreateRole,
# CreateRepository, CreateLogGroup, CreateAlias, CreateSecret, CreateSecurityGroup, CreateBucket,
# CreateCluster, CreateService, RegisterTaskDefinition, CreateFunction, CreatePrivateDnsNamespace).
TAG_VALUE = NameRule("a Name tag", 255, re.compile(r"[\w .:/=+\-@]+"), "letters, digits, spaces and _.:/=+-@")
LOAD_BALANCER = NameRule(
    "a load balancer name",
    32,
    _ALNUM_HYPHEN,
    "letters, digits and inner hyphens",
    forbidden_prefixes=("internal-",),
)
TARGET_GROUP = NameRule(
    "a target group name", 32, _ALNUM_HYPHEN, "letters, digits and inner hyphens", autonamed=True
)
IAM_ROLE = NameRule("an IAM role name", 64, re.compile(r"[\w+=,.@-]+"), "letters, digits and +=,.@_-")
IAM_POLICY = NameRule("an IAM policy name", 128, re.compile(r"[\w+=,.@-]+"), "letters, digits and +=,.@_-")
ECR_REPOSITORY = NameRule(
    "an ECR repository name",
    256,
    # botocore's ecr model, shape RepositoryName (tests/shared/test_naming.py compares the two).
    re.compile(r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*"),
    "lowercase letters, digits and . _ __ - / separators",
    min_length=2,
)
LOG_GROUP = NameRule("a log group name", 512, re.compile(r"[\w./#-]+"), "letters, digits and _-./#")
KMS_ALIAS = NameRule(
    "a KMS alias",
    256,
    re.compile(r"alias/[\w/-]+"),
    "'alias/' then letters, digits and _-/",
    forbidden_prefixes=("alias/aws/",),
)
SECRET = NameRule(
    "a secret name",
    512,
    re.compile(r"[\w/+=.@-]+"),
    "letters, digits and /_+=.@-",
    extra=_no_random_looking_tail,
)
SECURITY_GROUP = NameRule(
    "a security group name",
    255,
    re.compile(r"[\w .:/()#,@\[\]+=&;{}!$*-]+"),
    "letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*",
    forbidden_prefixes=("sg-",),
)
S3_BUCKET = NameRule(
    "an S3 bucket name",
    63,
    re.compile(r"[a-z0-9][a-z0-9.-]*[a-z0-9]"),
    "lowercase letters, digits, dots and hyphens, starting and ending alphanumeric",
    min_length=3,
    forbidden_prefixes=("xn--", "sthree-", "amzn-s3-demo-"),
    forbidden_endings=("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"),
    extra=_no_double_dot,
)
ECS_NAME = NameRule("an ECS name", 255, re.compile(r"[A-Za-z0-9_-]+"), "letters, digits, _ and -")
LAMBDA_FUNCTION = NameRule(
    "a Lambda function name", 64, re.compile(r"[A-Za-z0-9_-]+"), "letters, digits, _ and -"
)
CODEDEPLOY = NameRule("a CodeDeploy name", 100, re.compile(r"[\w.+-]+"), "letters, digits and _.+-")
CLOUDWATCH = NameRule(
    "a CloudWatch alarm or scaling policy name",
    255,
    re.compile(r"[\w.:/-]+"),
    "letters, digits and _.:/-",
)
# CreateTopic: 1-256 letters, digits, hyphens and underscores. PutRule: 1-64 of [.-_A-Za-z0-9].
# PutDashboard: DashboardName, up to 255 letters, digits, hyphens and underscores.
SNS_TOPIC = NameRule("an SNS topic name", 256, re.compile(r"[A-Za-z0-9_-]+"), "letters, digits, _ and -")
EVENT_RULE = NameRule("an EventBridge rule name", 64, re.compile(r"[\w.-]+"), "letters, digits and _.-")
DASHBOARD = NameRule(
    "a CloudWatch dashboard name", 255, re.compile(r"[A-Za-z0-9_-]+"), "letters, digits, _ and -"
)
DNS_NAME = NameRule(
    "a private DNS namespace",
    253,
    re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})+"),
    "dot-separated labels of lowercase letters, digits and inner hyphens, 63 characters at most each",
)
DNS_LABEL = NameRule("a DNS label", 63, re.compile(_DNS_LABEL), "lowercase letters, digits and inner hyphens")
# botocore's wafv2 model: EntityName (web ACL, rule) and MetricName (a rule's CloudWatch metric).
WAF_ENTITY = NameRule("a WAF name", 128, re.compile(r"[\w-]+"), "letters, digits, _ and -")
WAF_METRIC = NameRule("a WAF metric name", 255, re.compile(r"[\w#:./-]+"), "letters, digits and _#:./-")
# botocore's firehose model, DeliveryStreamName: 1-64 of [a-zA-Z0-9_.-]. backup model: BackupVaultName
# 2-50 of [a-zA-Z0-9\-\_], BackupPlanName and BackupSelection's SelectionName 1-50 (the plan's also dots).
FIREHOSE_STREAM_RULE = NameRule(
    "a Firehose stream name", 64, re.compile(r"[\w.-]+"), "letters, digits and _.-"
)
BACKUP_NAME = NameRule(
    "an AWS Backup name", 50, re.compile(r"[\w-]+"), "letters, digits, _ and -", min_length=2
)
PREFIX_LIST = NameRule(
    "a managed prefix list name",
    255,
    re.compile(r"[\w .:/=+@-]+"),
    "letters, digits, spaces and _.:/=+@-",
    forbidden_prefixes=("com.amazonaws",),
)
# RDS (CreateDBInstance DBInstanceIdentifier, CreateDBParameterGroup DBParameterGroupName,
# DeleteDBInstance FinalDBSnapshotIdentifier): letters, digits and hyphens, starting with a letter, no
# trailing or doubled hyphen; identifiers 1-63, the others 1-255. RDS stores them in lowercase and names
# the instance's log groups after the lowercase identifier, so only lowercase is produced.
_RDS_NAME = re.compile(r"[a-z](?:-?[a-z0-9])*")
_RDS_NAME_TEXT = "lowercase letters, digits and single inner hyphens, starting with a letter"
RDS_IDENTIFIER = NameRule("an RDS DB instance identifier", 63, _RDS_NAME, _RDS_NAME_TEXT)
RDS_PARAMETER_GROUP = NameRule("an RDS parameter group name", 255, _RDS_NAME, _RDS_NAME_TEXT)
RDS_SNAPSHOT = NameRule("an RDS DB snapshot identifier", 255, _RDS_NAME, _RDS_NAME_TEXT)
# CreateDBSubnetGroup DBSubnetGroupName: up to 255 letters, digits, periods, underscores, spaces or
# hyphens, not "default" (stored lowercase, hence lowercase only).
RDS_SUBNET_GROUP = NameRule(
    "an RDS DB subnet group name",
    255,
    re.compile(r"(?!default$)[a-z0-9 ._-]+"),
    "lowercase letters, digits, spaces and ._-, not 'default'",
)


def _dashed(label: str, parts: tuple[str, ...], suffix: str) -> str:
    return "-".join((label, *parts, suffix))


def _log_path(label: str, parts: tuple[str, ...], suffix: str) -> str:
    return f"/{label}/" + "-".join((*parts, suffix))


def _lambda_log_path(label: str, parts: tuple[str, ...], suffix: str) -> str:
    # Lambda writes to /aws/lambda/<function name>; owning that group keeps it encrypted and retained.
    return "/aws/lambda/" + _dashed(label, parts, suffix)


def _rds_log_path(label: str, parts: tuple[str, ...], suffix: str) -> str:
    # RDS exports log type <log> of instance <identifier> to /aws/rds/instance/<identifier>/<log> (RDS
    # user guide, "Publishing database logs to Amazon CloudWatch Logs"). The parts are the instance's
    # parts then the log type; the wildcard ("*",) covers every log of every instance of the stack.
    if parts == ("*",):
        return f"/aws/rds/instance/{label}-*-{suffix}/*"
    *instance, log = parts
    return f"/aws/rds/instance/{_dashed(label, tuple(instance), suffix)}/{log}"


def _kms_alias(label: str, parts: tuple[str, ...], suffix: str) -> str:
    return "alias/" + _dashed(label, parts, suffix)


@dataclass(frozen=True)
class NameKind:
    """One kind of named thing: its `{resource-type}` label, AWS's rule and how the parts join."""

    label: str
    rule: NameRule
    render: Callable[[str, tuple[str, ...], str], str] = field(default=_dashed)


# The `{resource-type}` labels. Security groups cannot be called "sg-...", hence "security-group".
VPC = NameKind("vpc", TAG_VALUE)
SUBNET = NameKind("subnet", TAG_VALUE)
INTERNET_GATEWAY = NameKind("igw", TAG_VALUE)
NAT_GATEWAY = NameKind("nat", TAG_VALUE)
ELASTIC_IP = NameKind("eip", TAG_VALUE)
ROUTE_TABLE = NameKind("rtb", TAG_VALUE)
VPC_ENDPOINT = NameKind("vpce", TAG_VALUE)
FLOW_LOG = NameKind("flow-log", TAG_VALUE)
KMS_KEY = NameKind("kms", TAG_VALUE)
SECURITY_GROUP_NAME = NameKind("security-group", SECURITY_GROUP)
ALB = NameKind("alb", LOAD_BALANCER)
TARGET_GROUP_NAME = NameKind("tg", TARGET_GROUP)
ROLE = NameKind("role", IAM_ROLE)
POLICY = NameKind("policy", IAM_POLICY)
ECR = NameKind("ecr", ECR_REPOSITORY)
ECS_LOG_GROUP = NameKind("ecs", LOG_GROUP, _log_path)
VPC_LOG_GROUP = NameKind("vpc", LOG_GROUP, _log_path)
KMS_ALIAS_NAME = NameKind("kms", KMS_ALIAS, _kms_alias)
SECRET_NAME = NameKind("secret", SECRET)
BUCKET = NameKind("s3", S3_BUCKET)
ECS_CLUSTER = NameKind("ecs-cluster", ECS_NAME)
ECS_SERVICE = NameKind("ecs-service", ECS_NAME)
TASK_FAMILY = NameKind("task", ECS_NAME)
LAMBDA = NameKind("lambda", LAMBDA_FUNCTION)
LAMBDA_LOG_GROUP = NameKind("lambda", LOG_GROUP, _lambda_log_path)  # of the LAMBDA with the same parts
CODEDEPLOY_APP = NameKind("codedeploy", CODEDEPLOY)
DEPLOYMENT_GROUP = NameKind("deployment-group", CODEDEPLOY)
ALARM = NameKind("alarm", CLOUDWATCH)
SCALING_POLICY = NameKind("scaling", CLOUDWATCH)
PREFIX_LIST_NAME = NameKind("prefix-list", PREFIX_LIST)
WEB_ACL = NameKind("waf", WAF_ENTITY)
WAF_RULE = NameKind("rule", WAF_ENTITY)
WAF_METRIC_NAME = NameKind("waf", WAF_METRIC)
# WAF delivers only to log groups whose name starts with "aws-waf-logs-" (WAF developer guide,
# "CloudWatch Logs log group"): the label is that prefix.
WAF_LOG_GROUP = NameKind("aws-waf-logs", LOG_GROUP)
RDS_INSTANCE = NameKind("rds", RDS_IDENTIFIER)
RDS_LOG_GROUP = NameKind("rds", LOG_GROUP, _rds_log_path)  # of the RDS_INSTANCE with the same parts + log
RDS_SUBNET_GROUP_NAME = NameKind("rds-subnets", RDS_SUBNET_GROUP)
RDS_PARAMETER_GROUP_NAME = NameKind("rds-params", RDS_PARAMETER_GROUP)
RDS_FINAL_SNAPSHOT = NameKind("rds-final", RDS_SNAPSHOT)
LOG_RESOURCE_POLICY = NameKind("log-policy", TAG_VALUE)  # PutResourcePolicy: a free-form name
FIREHOSE_STREAM = NameKind("firehose", FIREHOSE_STREAM_RULE)
BACKUP_VAULT = NameKind("backup-vault", BACKUP_NAME)
BACKUP_PLAN = NameKind("backup-plan", BACKUP_NAME)
BACKUP_SELECTION = NameKind("backup-selection", BACKUP_NAME)
# PutSubscriptionFilter filterName: 1-512 characters, no ':' or '*' (botocore logs model, FilterName).
LOG_SUBSCRIPTION = NameKind("archive", TAG_VALUE)
TOPIC = NameKind("sns", SNS_TOPIC)
EVENTS_RULE = NameKind("events", EVENT_RULE)
DASHBOARD_NAME = NameKind("dashboard", DASHBOARD)
# Resources AWS gives no name of their own: the name is their logical name and `Name` tag.
LISTENER = NameKind("listener", TAG_VALUE)
CLOUD_MAP_SERVICE = NameKind("cloudmap", TAG_VALUE)
POLICY_ATTACHMENT = NameKind("attachment", TAG_VALUE)
TOPIC_POLICY = NameKind("sns-policy", TAG_VALUE)
TOPIC_SUBSCRIPTION = NameKind("subscription", TAG_VALUE)
EVENTS_TARGET = NameKind("events-target", TAG_VALUE)

NameRequest = tuple[NameKind, tuple[str, ...]]
_RECORDERS: list[set[NameRequest]] = []


@contextmanager
def recording() -> Iterator[set[NameRequest]]:
    """Collect every (kind, parts) that any `Namer` is asked for inside the block.

    Evaluating the layers inside it yields every name the project makes; the property test replays
    them with arbitrary valid suffixes.
    """
    requests: set[NameRequest] = set()
    _RECORDERS.append(requests)
    try:
        yield requests
    finally:
        _RECORDERS.remove(requests)


class NamingError(ConfigError):
    """A name built from configuration that AWS would reject."""


@dataclass(frozen=True)
class Namer:
    """Builds every physical name of one stack from its validated environment suffix."""

    suffix: str

    def __post_init__(self) -> None:
        validate_suffix(self.suffix)

    def name(self, kind: NameKind, *parts: str, key: str = SUFFIX_KEY) -> str:
        """`{kind.label}[-{part}...]-{suffix}`; `key` is the config key to blame if it breaks a rule."""
        for recorder in _RECORDERS:
            recorder.add((kind, parts))
        built = kind.render(kind.label, parts, self.suffix)
        return check(kind.rule, built, key)

    def wildcard(self, kind: NameKind) -> str:
        """Every name of `kind` in this stack, as an IAM/KMS ARN pattern: `/ecs/*-dev`, `role-*-dev`."""
        return kind.render(kind.label, ("*",), self.suffix)

    def namespace(self, base: str, domain: str, *, key: str = "namespaceName") -> str:
        """A Cloud Map private DNS namespace, `{base}-{suffix}.{domain}`, e.g. payments-dev.local."""
        return check(DNS_NAME, f"{base}-{self.suffix}.{domain}", key)


def check(rule: NameRule, name: str, key: str) -> str:
    """Return `name` if it satisfies `rule`, else raise `NamingError` blaming config `key`."""
    problem = rule.violation(name)
    if problem:
        raise NamingError(key, name, problem, f"shorten or correct {key}: pulumi config set {key} <value>")
    return name


def dns_label(value: str, *, key: str) -> str:
    """A single DNS label, such as a Cloud Map service name (`payment-processor`)."""
    return check(DNS_LABEL, value, key)
