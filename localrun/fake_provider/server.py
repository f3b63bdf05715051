"""The fake provider: the key API the rotation function's `http-key-api` strategy calls.

    POST   /v1/keys        Bearer <a valid key>  -> 201 {"id", "key"}   (Idempotency-Key honoured)
    GET    /v1/keys/self   Bearer <key>          -> 200 {"id"} | 401
    DELETE /v1/keys/{id}   Bearer <a valid key>  -> 204 | 404 (unknown id) | 401
Any other request with a valid key (e.g. `GET /v1/ping`) answers 200 `{"ok": true}`, so a service
can check that its key still works. It serves on 127.0.0.1 only, one thread per request, and keeps
its keys in memory. `available = False` makes every request fail with 503, to test an outage.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"
KEYS_PATH = "/v1/keys"
SELF_PATH = "/v1/keys/self"


@dataclass
class KeyStore:
    """Valid keys by id, retired ids, and the key each idempotency key produced."""

    active: dict[str, str] = field(default_factory=dict)  # id -> key
    retired: set[str] = field(default_factory=set)
    created_for: dict[str, str] = field(default_factory=dict)  # Idempotency-Key -> id
    available: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, key: str) -> str:
        with self.lock:
            key_id = "key_" + secrets.token_hex(6)
            self.active[key_id] = key
            return key_id

    def id_of(self, key: str) -> str | None:
        with self.lock:
            return next((key_id for key_id, value in self.active.items() if value == key), None)

    def create(self, idempotency_key: str | None) -> tuple[str, str]:
        with self.lock:
            if idempotency_key and idempotency_key in self.created_for:
                key_id = self.created_for[idempotency_key]
                if key_id in self.active:
                    return key_id, self.active[key_id]
            key_id, key = "key_" + secrets.token_hex(6), "fk_" + secrets.token_urlsafe(32)
            self.active[key_id] = key
            if idempotency_key:
                self.created_for[idempotency_key] = key_id
            return key_id, key

    def delete(self, key_id: str) -> bool:
        with self.lock:
            if self.active.pop(key_id, None) is None:
                return False
            self.retired.add(key_id)
            return True

    def accepts(self, key: str) -> bool:
        return self.id_of(key) is not None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        return None  # quiet: tests and the local run have their own output

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        store = self.server.store
        if not store.available:
            self._answer(503, {"error": "unavailable"})
            return
        caller = self._bearer()
        caller_id = store.id_of(caller) if caller else None
        if caller_id is None:
            self._answer(401, {"error": "invalid key"})
            return
        if method == "GET" and self.path == SELF_PATH:
            self._answer(200, {"id": caller_id})
        elif method == "POST" and self.path == KEYS_PATH:
            key_id, key = store.create(self.headers.get("Idempotency-Key"))
            self._answer(201, {"id": key_id, "key": key})
        elif method == "DELETE" and self.path.startswith(KEYS_PATH + "/"):
            found = store.delete(self.path[len(KEYS_PATH) + 1 :])
            self._answer(204 if found else 404, None)
        else:
            self._answer(200, {"ok": True})

    def _bearer(self) -> str | None:
        header = self.headers.get("Authorization", "")
        return header[len("Bearer ") :] if header.startswith("Bearer ") else None

    def _answer(self, status: int, body: dict[str, object] | None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, store: KeyStore) -> None:
        super().__init__((HOST, port), _Handler)
        self.store = store


@dataclass(frozen=True)
class RunningProvider:
    url: str  # http://127.0.0.1:<port>, the keyApiUrl to configure
    store: KeyStore


@contextmanager
def running_provider(keys: Iterable[str] = (), port: int = 0) -> Iterator[RunningProvider]:
    """Serve in a background thread until the block ends; `port` 0 picks a free one."""
    store = KeyStore()
    for key in keys:
        store.add(key)
    server = _Server(port, store)
    # A short poll interval: shutdown() waits up to one interval (0.5 s by default).
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-provider", daemon=True
    )
    thread.start()
    try:
        yield RunningProvider(url=f"http://{HOST}:{server.server_address[1]}", store=store)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
