"""The fake key provider: its API, and `python -m localrun.fake_provider` as the local run starts it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from localrun.fake_provider.server import running_provider

KEY = "fk_initial_key_0123456789abcdef"


def call(url, method, path, key=None, headers=None):
    request = urllib.request.Request(url + path, method=method, headers=dict(headers or {}))
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            body = response.read()
            return response.status, json.loads(body) if body else None
    except urllib.error.HTTPError as error:
        return error.code, None


def test_the_key_api_creates_checks_and_deletes_keys():
    with running_provider(keys=[KEY]) as provider:
        status, me = call(provider.url, "GET", "/v1/keys/self", KEY)
        assert status == 200
        status, created = call(provider.url, "POST", "/v1/keys", KEY)
        assert status == 201
        assert created["key"] != KEY
        assert call(provider.url, "GET", "/v1/keys/self", created["key"]) == (200, {"id": created["id"]})
        assert call(provider.url, "DELETE", f"/v1/keys/{me['id']}", created["key"]) == (204, None)
        assert call(provider.url, "GET", "/v1/keys/self", KEY)[0] == 401
        assert call(provider.url, "DELETE", f"/v1/keys/{me['id']}", created["key"]) == (404, None)


@pytest.mark.parametrize("key", [None, "fk_not_a_key_of_this_provider"])
def test_a_request_without_a_valid_key_is_refused(key):
    with running_provider(keys=[KEY]) as provider:
        assert call(provider.url, "POST", "/v1/keys", key)[0] == 401
        assert len(provider.store.active) == 1


def test_an_outage_answers_503_to_everything():
    with running_provider(keys=[KEY]) as provider:
        provider.store.available = False
        assert call(provider.url, "GET", "/v1/keys/self", KEY)[0] == 503


def test_the_command_serves_on_loopback_until_sigterm_and_exits_0():
    env = {**os.environ, "FAKE_PROVIDER_KEYS": KEY}
    process = subprocess.Popen(
        [sys.executable, "-m", "localrun.fake_provider", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = process.stdout.readline()
        url = line.split(" on ")[1].split(" with ")[0]
        assert url.startswith("http://127.0.0.1:")
        assert call(url, "GET", "/v1/keys/self", KEY)[0] == 200
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_a_port_out_of_range_is_refused_with_exit_2():
    result = subprocess.run(
        [sys.executable, "-m", "localrun.fake_provider", "--port", "70000"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "--port must be 0-65535" in result.stderr
