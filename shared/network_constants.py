"""Network values every layer uses, defined once."""

from __future__ import annotations

from typing import Final

ANYWHERE: Final = "0.0.0.0/0"  # every IPv4 address: default routes and egress to AWS's public endpoints
HTTP_PORT: Final = 80
HTTPS_PORT: Final = 443
EGRESS_PROXY_PORT: Final = 3128  # the egress proxy (Squid's default port): clients send HTTPS through it
