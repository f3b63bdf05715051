"""A provider's key API, over HTTPS with the standard library (no dependency in the Lambda zip).

The API (localrun/fake_provider implements it for tests and local runs):
    POST   /v1/keys        Bearer <a valid key>  -> 201 {"id", "key"}  a new key
    GET    /v1/keys/self   Bearer <key>          -> 200 {"id"} | 401    which key this is, if valid
    DELETE /v1/keys/{id}   Bearer <a valid key>  -> 204 (404: already gone)
POST carries `Idempotency-Key: <the rotation's version id>`, so a retried createSecret gets the key
the first attempt made instead of a second one. No key ever appears in an error message.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from .errors import RotationError

TIMEOUT_SECONDS = 5
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class ProviderError(RotationError):
    """The provider refused a request or could not be reached."""


def checked_base_url(url: str) -> str:
    """https, or plain http to a loopback address only (the fake provider of tests and local runs)."""
    parts = urllib.parse.urlsplit(url)
    loopback = parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
    if not parts.hostname or not (parts.scheme == "https" or loopback):
        raise RotationError(f"the key API URL must be https://<host>[/<path>], got {url!r}")
    return url.rstrip("/")


class KeyApi:
    def __init__(self, base_url: str) -> None:
        self._base = checked_base_url(base_url)

    def create_key(self, bearer: str, idempotency_key: str) -> str:
        status, body = self._call("POST", "/v1/keys", bearer, {"Idempotency-Key": idempotency_key})
        if status == 401:
            raise ProviderError("the provider did not create a key (HTTP 401): it refuses the current key")
        if status != 201 or not isinstance(body.get("key"), str):
            raise ProviderError(f"the provider did not create a key (HTTP {status})")
        return str(body["key"])

    def key_id(self, key: str) -> str | None:
        """The id of `key` if the provider accepts it, None if it answers 401."""
        status, body = self._call("GET", "/v1/keys/self", key)
        if status == 401:
            return None
        if status != 200 or not isinstance(body.get("id"), str):
            raise ProviderError(f"the provider could not say whether a key is valid (HTTP {status})")
        return str(body["id"])

    def delete_key(self, key_id: str, bearer: str) -> None:
        path = "/v1/keys/" + urllib.parse.quote(key_id, safe="")
        status, _ = self._call("DELETE", path, bearer)
        if status not in (204, 404):
            raise ProviderError(f"the provider did not delete key {key_id} (HTTP {status})")

    def _call(
        self, method: str, path: str, bearer: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            self._base + path,
            method=method,
            headers={"Authorization": f"Bearer {bearer}", "Accept": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                return int(response.status), _json(response.read())
        except urllib.error.HTTPError as error:
            return int(error.code), {}
        except (urllib.error.URLError, OSError) as error:
            raise ProviderError(f"the provider's key API is unreachable: {_reason(error)}") from None


def _json(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        document = json.loads(raw)
    except json.JSONDecodeError:
        return {}
    return document if isinstance(document, dict) else {}


def _reason(error: Exception) -> str:
    reason = getattr(error, "reason", error)
    return type(reason).__name__ if not isinstance(reason, str) else reason
