"""The container health probe: `python -m apps.probe <url>` exits 0 only when `url` answers 2xx.

Task definitions run it as their health check command (`ServiceSpec.health_probe`). Slim images have
no curl or wget, and a probe in the app's own language needs nothing extra in the image.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 2.0


def healthy(url: str, timeout: float = TIMEOUT_SECONDS) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m apps.probe <url>", file=sys.stderr)
        return 2
    return 0 if healthy(argv[0]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
