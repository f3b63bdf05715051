"""A started service has frozen what startup made, and still collects the cycles requests make.

Each case runs in a fresh interpreter: freezing is process-wide, and the test worker's own objects
must not be frozen by it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

# Drives a Service's ASGI lifespan as uvicorn does, then reports what the collector sees.
PROBE = textwrap.dedent(
    """
    import asyncio, contextlib, gc, json, sys

    from apps.common.web import RequestLimits, Service

    FAIL = sys.argv[1] == "fail"

    @contextlib.asynccontextmanager
    async def lifespan():
        if FAIL:
            raise RuntimeError("the database is not there")
        yield

    async def main():
        service = Service("probe", {}, limits=RequestLimits(), lifespan=lifespan)
        inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
        sent = []

        async def receive():
            return inbox.pop(0)

        async def send(message):
            sent.append(message["type"])
            if message["type"] == "lifespan.startup.complete":
                frozen = gc.get_freeze_count()
                ring = [None]
                ring[0] = ring  # a cycle a request could make after startup
                del ring
                report["frozen"], report["collected"] = frozen, gc.collect()

        report = {}
        await service({"type": "lifespan"}, receive, send)
        report["sent"], report["frozen_at_exit"] = sent, gc.get_freeze_count()
        print(json.dumps(report))

    asyncio.run(main())
    """
)


def probe(mode: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=60, check=True
    )
    return dict(json.loads(done.stdout.splitlines()[-1]))


def test_startup_objects_are_frozen_and_later_cycles_are_still_collected() -> None:
    report = probe("ok")
    assert report["sent"][0] == "lifespan.startup.complete"
    # The modules the service imported: thousands of objects, none of them walked again.
    assert report["frozen"] > 10_000
    # Freezing is not disabling: the cycle made after startup is found and freed.
    assert report["collected"] >= 1


def test_a_failed_startup_freezes_nothing() -> None:
    report = probe("fail")
    assert report["sent"] == ["lifespan.startup.failed"]
    assert report["frozen_at_exit"] == 0
