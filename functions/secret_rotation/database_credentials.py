"""Rotation of a PostgreSQL connection secret: alternating users, or a single user.

With `masterarn` in the secret (the field AWS's multi-user templates read), rotation alternates
between two login users, `<user>` and `<user>_clone`, as AWS's
SecretsManagerRDSPostgreSQLRotationMultiUser template does
(github.com/aws-samples/aws-secrets-manager-rotation-lambdas,
SecretsManagerRDSPostgreSQLRotationMultiUser/lambda_function.py): each rotation gives a new password
to the user that is not current, logged in as the master, and AWSCURRENT then moves to it. The user
the running tasks hold keeps its password until the rotation after, so no cached credential breaks.
Unlike the template, the clone joins the group role that owns the ledger (not the current user), so
both users reach the same objects and neither inherits the other's grants.

Without `masterarn` (an external database the project holds no master for), the one user changes
its own password (AWS's SecretsManagerRDSPostgreSQLRotationSingleUser semantics).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from . import postgres
from .errors import RotationError
from .postgres import Connection

GROUP_ROLE = "payments_ledger"  # owns schema `ledger`; both login users are members
CLONE_SUFFIX = "_clone"
MAX_IDENTIFIER_LENGTH = 63  # PostgreSQL's NAMEDATALEN - 1
CONNECTION_FIELDS = ("engine", "host", "port", "username", "password", "dbname")
LOCATION_FIELDS = ("host", "port", "dbname")
MASTER_STAGES = ("AWSCURRENT", "AWSPENDING")
NewPassword = Callable[[], str]


def parse_connection(value: str) -> Connection:
    connection = json.loads(value)
    missing = [f for f in CONNECTION_FIELDS if f not in connection]
    if missing:
        raise RotationError(f"the connection secret lacks {', '.join(missing)}")
    return dict(connection)


def alternate_username(username: str) -> str:
    """`x` <-> `x_clone`, like the template's get_alt_username."""
    if username.endswith(CLONE_SUFFIX):
        return username[: -len(CLONE_SUFFIX)]
    clone = username + CLONE_SUFFIX
    if len(clone) > MAX_IDENTIFIER_LENGTH:
        raise RotationError(f"{clone!r} would exceed PostgreSQL's {MAX_IDENTIFIER_LENGTH}-character names")
    return clone


def _same_location(pending: Connection, current: Connection) -> None:
    for field in LOCATION_FIELDS:
        if pending[field] != current[field]:
            raise RotationError(f"the pending secret changes {field}; rotation only changes the login")


class SingleUser:
    """The user changes its own password; the old one stops working at once."""

    def __init__(self, new_password: NewPassword) -> None:
        self._new_password = new_password

    def create(self, current: str) -> str:
        return json.dumps({**parse_connection(current), "password": self._new_password()})

    def set(self, pending: str, current: str, previous: str | None) -> None:
        new, now = parse_connection(pending), parse_connection(current)
        _same_location(new, now)
        if new["username"] != now["username"]:
            raise RotationError("the pending secret changes username; single-user rotation keeps it")
        if postgres.check_login(new):
            return  # a retry after the password was already changed
        for candidate in (now, parse_connection(previous) if previous else None):
            if candidate is not None and postgres.check_login(candidate):
                postgres.set_password(candidate, str(new["username"]), str(new["password"]))
                return
        raise RotationError("cannot log in with the current or the previous credentials")

    def test(self, pending: str) -> None:
        if not postgres.check_login(parse_connection(pending)):
            raise RotationError("the pending credentials cannot log in")

    def retire(self, old: str, current: str) -> None:
        return None  # the old password no longer exists: set replaced it


class AlternatingUsers:
    """Two login users take turns; the master (from `masterarn`) sets the next one's password.

    The master secret is read afresh at every step, AWSCURRENT first and then AWSPENDING: RDS rotates
    the master secret on its own schedule (managed rotation), and while it does, the database may
    already hold the password that is still pending in the secret. If neither logs in the step fails,
    and Secrets Manager retries the rotation.
    """

    def __init__(self, client: Any, new_password: NewPassword) -> None:
        self._client = client
        self._new_password = new_password

    def create(self, current: str) -> str:
        now = parse_connection(current)
        if "masterarn" not in now:
            raise RotationError("alternating-users rotation needs masterarn in the connection secret")
        return json.dumps(
            {**now, "username": alternate_username(str(now["username"])), "password": self._new_password()}
        )

    def set(self, pending: str, current: str, previous: str | None) -> None:
        new, now = parse_connection(pending), parse_connection(current)
        if postgres.check_login(new):
            return  # a retry after the password was already set
        _same_location(new, now)
        if new["username"] != alternate_username(str(now["username"])):
            raise RotationError(
                f"the pending user {new['username']!r} is neither the current user nor its clone"
            )
        # The template's guard against a confused deputy: the secret being rotated must hold
        # credentials that work before the master acts on its behalf.
        if not postgres.check_login(now):
            raise RotationError("the current credentials cannot log in; refusing to act as the master")
        with postgres.session(self.master_connection(now)) as master:
            postgres.ensure_login_user(master, str(new["username"]), str(new["password"]), GROUP_ROLE)

    def test(self, pending: str) -> None:
        new = parse_connection(pending)
        try:
            with postgres.session(new) as opened:
                rows = opened.run("SELECT pg_has_role(current_user, :group, 'USAGE')", group=GROUP_ROLE)
        except postgres.LOGIN_ERRORS as error:
            raise RotationError("the pending credentials cannot log in") from error
        if not rows or rows[0][0] is not True:
            raise RotationError(f"the pending user logs in but cannot use the {GROUP_ROLE} role")

    def retire(self, old: str, current: str) -> None:
        return None  # the previous user keeps working until the next rotation, on purpose

    def master_connection(self, current: Connection) -> Connection:
        master_arn = str(current["masterarn"])
        tried = []
        for stage in MASTER_STAGES:
            try:
                response = self._client.get_secret_value(SecretId=master_arn, VersionStage=stage)
            except self._client.exceptions.ResourceNotFoundException:
                continue  # no AWSPENDING: RDS is not rotating the master right now
            master = json.loads(response["SecretString"])
            # An RDS-managed master secret holds only username and password; the host is the
            # connection secret's (the template looks it up through DescribeDBInstances instead).
            if "host" in master and master["host"] != current["host"]:
                raise RotationError("the master secret names another host than the connection secret")
            candidate = {
                **{field: current[field] for field in LOCATION_FIELDS},
                "username": master["username"],
                "password": master["password"],
            }
            if postgres.check_login(candidate):
                return candidate
            tried.append(stage)
        raise RotationError(
            f"cannot log in as the master with its secret's {' or '.join(tried) or 'value'}; "
            "if RDS is rotating the master password right now, a retry succeeds"
        )


def is_alternating(value: str) -> bool:
    return "masterarn" in parse_connection(value)
