"""A served service has frozen what startup made, and still collects the cycles requests make.

Each case runs in a fresh interpreter: freezing is process-wide, and the test worker's own objects
must not be frozen by it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

# Drives a Service's ASGI lifespan as uvicorn does, then reports what the collector sees. Automatic
# collection is off, so only the service's own collection can free the garbage startup leaves.
PROBE = textwrap.dedent(
    """
    import asyncio, contextlib, gc, json, sys, weakref

    from apps.common.web import RequestLimits, Service

    MODE = sys.argv[1]
    gc.disable()
    left_by_startup = []

    class Node:
        pass

    @contextlib.asynccontextmanager
    async def lifespan():
        if MODE == "fail":
            raise RuntimeError("the database is not there")
        node = Node()
        node.me = node  # a cycle nothing else refers to: garbage only a collection frees
        left_by_startup.append(weakref.ref(node))
        del node
        yield

    async def main():
        service = Service("probe", {}, limits=RequestLimits(), lifespan=lifespan)
        service.freeze_after_startup = MODE != "in-process"  # what apps.common.serve sets
        inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
        sent, report = [], {}

        async def receive():
            return inbox.pop(0)

        async def send(message):
            sent.append(message["type"])
            if message["type"] == "lifespan.startup.complete":
                report["frozen"] = gc.get_freeze_count()
                report["startup_garbage_freed"] = left_by_startup[0]() is None
                later = Node()
                later.me = later  # a cycle a request could make after startup
                del later
                report["collected"] = gc.collect()

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
    report = probe("served")
    assert report["sent"][0] == "lifespan.startup.complete"
    # The modules the service imported: thousands of objects, none of them walked again.
    assert report["frozen"] > 10_000
    # Startup's garbage was collected before the freeze, not frozen with the rest.
    assert report["startup_garbage_freed"] is True
    # Freezing is not disabling: the cycle made after startup is found and freed.
    assert report["collected"] >= 1


def test_a_failed_startup_freezes_nothing() -> None:
    report = probe("fail")
    assert report["sent"] == ["lifespan.startup.failed"]
    assert report["frozen_at_exit"] == 0


def test_a_service_run_inside_another_program_leaves_its_heap_alone() -> None:
    report = probe("in-process")
    assert report["sent"][0] == "lifespan.startup.complete"
    assert report["frozen"] == 0


def test_the_serving_process_asks_for_the_freeze(monkeypatch) -> None:
    """`serve` is what sets the flag: the service uvicorn gets freezes once started."""
    from apps.api_gateway.app import build
    from apps.common import serve
    from apps.common.runtime_config import RuntimeConfig

    config = RuntimeConfig.from_env(
        "api-gateway", {"PORT": "8080", "PAYMENT_PROCESSOR_URL": "http://127.0.0.1:1"}
    )
    handed: list[Any] = []
    monkeypatch.setattr(serve, "configure", lambda service: None)  # leave the test's logging alone
    monkeypatch.setattr(serve.uvicorn, "run", lambda app, **options: handed.append(app))
    app = build(config)
    assert app.freeze_after_startup is False
    serve.serve(app, config)
    assert handed == [app]
    assert app.freeze_after_startup is True
