"""A stand-in `pulumi` executable for the tests: answers the commands the deploy backend runs, the way
the real CLI does (exit code, stdout JSON, an `error: ...` line on stderr).

    FAKE_PULUMI_VERSION    what `pulumi version` prints (without the v)
    FAKE_PULUMI_LOGGED_IN  "0" makes `whoami` fail like a CLI with no backend
    FAKE_PULUMI_STATE      a JSON file {"<org>/<project>/<stack>": <resource count>}
    FAKE_PULUMI_LOG        every invocation's arguments, one JSON list a line
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 255


def main(argv: list[str]) -> int:
    args = [a for a in argv if a not in ("--non-interactive", "--json", "--show-secrets")]
    if log := os.environ.get("FAKE_PULUMI_LOG"):
        with Path(log).open("a") as handle:
            handle.write(json.dumps(argv) + "\n")
    if args[:1] == ["version"]:
        print("v" + os.environ.get("FAKE_PULUMI_VERSION", "3.210.0"))
        return 0
    if args[:1] == ["whoami"]:
        if os.environ.get("FAKE_PULUMI_LOGGED_IN", "1") == "0":
            return fail("PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions")
        print(json.dumps({"user": "ops", "url": "file:///home/ops/.pulumi", "organizations": []}))
        return 0
    if args[:2] == ["stack", "export"]:
        name = args[args.index("--stack") + 1]
        state = json.loads(Path(os.environ["FAKE_PULUMI_STATE"]).read_text())
        if name not in state:
            return fail(f"no stack named '{name}' found")
        resources = [{"urn": f"urn:pulumi:{i}"} for i in range(state[name])]
        print(json.dumps({"version": 3, "deployment": {"resources": resources}}))
        return 0
    return fail(f"the fake CLI does not know {' '.join(args)!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
