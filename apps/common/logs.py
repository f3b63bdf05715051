"""Structured JSON logs, one object per line, each carrying the request id of the request it serves."""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

REQUEST_ID_HEADER = "X-Request-Id"
_request_id: ContextVar[str] = ContextVar("request_id", default="-")
REQUEST_ID_PATTERN = r"[A-Za-z0-9._-]{1,128}"  # a caller's X-Request-Id we adopt (the API contract says so)
_VALID_REQUEST_ID = re.compile(REQUEST_ID_PATTERN)
# Record attributes that are not ours to log: the standard ones, and uvicorn's `color_message`
# (the message again with ANSI colour codes, meant for a terminal, not for CloudWatch).
_NOT_LOGGED = {*vars(logging.makeLogRecord({})), "color_message"}


def request_id() -> str:
    return _request_id.get()


def bind_request_id(incoming: str | None) -> str:
    """Adopt the caller's request id when it is well formed, else start a new one: 32 random hex
    digits, as many random bits as a UUID4 and a third of the CPU of `uuid.uuid4().hex`."""
    value = incoming if incoming and _VALID_REQUEST_ID.fullmatch(incoming) else os.urandom(16).hex()
    _request_id.set(value)
    return value


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "request_id": request_id(),
            "message": record.getMessage(),
        }
        entry.update(
            {k: v for k, v in vars(record).items() if k not in _NOT_LOGGED and not k.startswith("_")}
        )
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class AccessLog:
    """The one line per request, in the same JSON shape as every other record, written directly.

    A record through `logging` (LogRecord, formatter, handler, lock) cost more CPU than the rest of
    fraud-detector's request together (docs/benchmarks.md), and every payment writes three of
    these lines. The `access` logger's level still decides whether the line is written.
    """

    def __init__(self, service: str) -> None:
        self.service = service
        self.logger = logging.getLogger("access")
        self._second = -1
        self._stamp = ""

    def write(self, fields: dict[str, Any]) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        now = time.time()
        second = int(now)
        if second != self._second:  # the date and time change once a second: format them then
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        entry = {
            "time": f"{self._stamp}.{int((now - second) * 1000):03d}+00:00",
            "level": "info",
            "service": self.service,
            "request_id": request_id(),
            "message": "request",
            **fields,
        }
        line = orjson.dumps(entry, default=str, option=orjson.OPT_APPEND_NEWLINE)
        stream = sys.stdout
        # The bytes as orjson made them, without decoding and encoding them again. Every text record
        # (`configure`'s handler) is flushed as it is written, so the lines cannot interleave.
        binary = getattr(stream, "buffer", None)
        if binary is None:
            stream.write(line.decode())
            stream.flush()
        else:
            binary.write(line)
            binary.flush()


def configure(service: str, level: str = "INFO") -> logging.Logger:
    """Send every log record, uvicorn's included, to stdout as JSON (awslogs ships stdout)."""
    # Skip what a record would otherwise collect and we never log: the caller's file and line (a
    # stack walk per record), thread, process and task names. The logging HOWTO's "Optimization":
    # https://docs.python.org/3/howto/logging.html#optimization
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # our middleware logs each request once
    return logging.getLogger(service)
