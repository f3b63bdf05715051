"""`python -m localrun.fake_provider --port N [--key KEY ...]`: serve the fake key API until interrupted.

Keys come from `--key` or, to keep them out of the process list, the environment variable
FAKE_PROVIDER_KEYS (comma-separated). Exit 0 on SIGINT/SIGTERM, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from types import FrameType

from localrun.fake_provider.server import running_provider

KEYS_VARIABLE = "FAKE_PROVIDER_KEYS"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localrun.fake_provider", description=__doc__)
    parser.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--key", action="append", default=[], help="a key the provider accepts at start")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be 0-65535, got {args.port}")
    keys = [*args.key, *filter(None, os.environ.get(KEYS_VARIABLE, "").split(","))]
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with running_provider(keys, args.port) as provider:
        print(f"fake provider on {provider.url} with {len(keys)} key(s)", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
