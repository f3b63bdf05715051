"""Third-party API keys: one strategy per secret purpose (ROTATION_STRATEGIES names it).

`http-key-api`: the provider has a key API (key_provider.py). createSecret asks it for a new key,
authenticated with the current one; testSecret checks the pending key against it; the old key is
retired only after finishSecret has made the new one current, so a task that still holds the old key
keeps working until then.

`notify` (the default): the provider has no key API, so the function never invents a key (a random
string no provider knows would break every caller). When the schedule comes due it tells operators,
through the alarm topic, that the key is due for manual rotation and how to do it, and ends the
rotation as failed with no AWSPENDING left behind, so Secrets Manager records no rotation that did not
happen and the next one (the operator's) can start. A value an operator staged as AWSPENDING is tested
and promoted like any other.
"""

from __future__ import annotations

import os
import re
from typing import Literal, get_args

from .errors import ManualRotationError, RotationError
from .key_provider import KeyApi
from .operator_messages import Notifier

KeyRotation = Literal["notify", "http-key-api"]
KEY_ROTATIONS: tuple[KeyRotation, ...] = get_args(KeyRotation)
# Provider keys come in many shapes (sk_live_..., UUIDs); what every usable one has in common.
_API_KEY = re.compile(r"[\x21-\x7e]{16,}")


def _well_formed(key: str) -> None:
    if not _API_KEY.fullmatch(key):
        raise RotationError("the pending API key is not 16 or more printable characters without spaces")


class HttpKeyApi:
    """Create at the provider, test there, retire the old key after finishSecret."""

    def __init__(self, api: KeyApi, token: str) -> None:
        self._api = api
        self._token = token

    def create(self, current: str) -> str:
        return self._api.create_key(bearer=current, idempotency_key=self._token)

    def set(self, pending: str, current: str, previous: str | None) -> None:
        return None  # the provider made the key valid when it created it

    def test(self, pending: str) -> None:
        _well_formed(pending)
        if self._api.key_id(pending) is None:
            raise RotationError("the provider does not accept the pending key")

    def retire(self, old: str, current: str) -> None:
        if old == current:
            return
        key_id = self._api.key_id(old)
        if key_id is not None:  # None: the provider no longer accepts it, already retired
            self._api.delete_key(key_id, bearer=current)


class Notify:
    """Tell operators; test and promote only what an operator staged."""

    def __init__(self, secret_name: str, notifier: Notifier) -> None:
        self._name = secret_name
        self._notifier = notifier

    def create(self, current: str) -> str:
        told = self._notifier.publish(
            f"API key due for manual rotation: {self._name}", manual_rotation_steps(self._name)
        )
        notice = "operators were told" if told else "the notice to the alarm topic failed (see the log)"
        raise ManualRotationError(
            f"{self._name} has no key API: nothing was rotated, it is due for manual rotation; {notice}"
        )

    def set(self, pending: str, current: str, previous: str | None) -> None:
        if pending == current:
            raise RotationError("the staged key is the current key; stage the new key the provider issued")

    def test(self, pending: str) -> None:
        _well_formed(pending)

    def retire(self, old: str, current: str) -> None:
        return None  # the operator revokes the old key at the provider (step 4 of the message)


def manual_rotation_steps(name: str) -> str:
    """What an operator runs to rotate a notify key: stage it, then run the function's last three steps.

    Not `rotate-secret` once a key is staged: "If the AWSPENDING staging label is present but not
    attached to the same version as AWSCURRENT, then any later invocation of RotateSecret assumes that a
    previous rotation request is still in progress and returns an error" (RotateSecret, Secrets Manager
    API reference; botocore's secretsmanager/2017-10-17/service-2.json). The steps are the function's own,
    invoked with the staged version's id: testSecret checks the key before finishSecret promotes it.
    """
    # Lambda sets AWS_LAMBDA_FUNCTION_NAME in every function's environment (Lambda developer guide,
    # "Defined runtime environment variables").
    function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "<the secret's rotation function>")
    # JSON in single quotes for the shell, with $version and $step spliced in double-quoted.
    payload = f'{{"SecretId": "{name}", "ClientRequestToken": "\'"$version"\'", "Step": "\'"$step"\'"}}'
    return (
        f"The rotation schedule of {name} came due. Its provider has no key API, so no key was created "
        "and the secret is unchanged (Secrets Manager records this rotation as failed).\n"
        "To rotate it:\n"
        "1. Create a new key in the provider's console (keep the old one for now).\n"
        "2. Stage it as AWSPENDING under a version id you choose:\n"
        "   version=$(python3 -c 'import uuid; print(uuid.uuid4())')\n"
        f'   aws secretsmanager put-secret-value --secret-id {name} --client-request-token "$version" '
        "--version-stages AWSPENDING --secret-string file://new-key.txt\n"
        "3. Run the rotation function's steps on that version, not rotate-secret: with AWSPENDING on a "
        "version other than AWSCURRENT, RotateSecret returns an error (Secrets Manager API reference, "
        "RotateSecret). Each step must succeed before the next, so the key becomes AWSCURRENT only after "
        "testSecret passed (needs lambda:InvokeFunction):\n"
        "   for step in setSecret testSecret finishSecret; do\n"
        f"     failed=$(aws lambda invoke --function-name {function} --cli-binary-format raw-in-base64-out "
        f"--query FunctionError --output text --payload '{payload}' step.json)\n"
        '     [ "$failed" = "None" ] || { echo "$step failed:"; cat step.json; break; }\n'
        "   done\n"
        f"4. Check: aws secretsmanager describe-secret --secret-id {name} --query VersionIdsToStages\n"
        "5. After the tasks' secret cache TTL (secretCacheTtlSeconds), revoke the old key at the provider.\n"
        "See docs/secrets.md, 'Rotating a notify key by hand'."
    )


def for_secret(name: str, entry: dict[str, str], token: str) -> HttpKeyApi | Notify:
    strategy = entry.get("strategy", "notify")
    if strategy == "http-key-api":
        url = entry.get("keyApiUrl")
        if not url:
            raise RotationError(f"{name}: strategy http-key-api needs keyApiUrl")
        return HttpKeyApi(KeyApi(url), token)
    if strategy == "notify":
        return Notify(name, Notifier())
    raise RotationError(
        f"{name}: unknown key rotation {strategy!r}; expected one of {', '.join(KEY_ROTATIONS)}"
    )
