"""squid.conf of the egress proxy, rendered from the allowlist, and the command that runs Squid with it.

What it allows: `CONNECT <allowed host>:443` from the clients' addresses, and nothing else; every other
request, method, port or host is answered 403 before Squid opens any connection. Nothing is cached.

Squid writes no file on the root filesystem, so it is read-only and needs no volume (a Fargate bind
mount is writable by root only, aws/containers-roadmap#938, and the container runs as `proxy`). Its only
writes are three small shared-memory segments (`squid-cf__*.shm`, even with -N) in /dev/shm, the
runtime's own tmpfs (mode 1777), which a read-only root does not cover; Squid stops at start without
it (tests/platform/test_squid_config.py). The config comes from the task's environment through a pipe,
there is no pid file and no core dump,
the access log goes to stdout and Squid's own log to stderr. Those two are a pipe the container's own
user creates (`> >(exec cat)`): a non-root process cannot reopen `/dev/stdout` when the runtime made
that pipe as root (EACCES on the pipe inode, mode 0600), and Squid opens its logs by path.

Squid's directives as documented in its configuration reference (squid-cache.org, "Squid configuration
directives"): `acl dstdomain -n` matches the CONNECT host by name only (no reverse lookup of an IP
literal, so `CONNECT 192.0.2.1:443` cannot match an allowed name); `http_access` rules are checked in
order and the first match wins; `cache deny all` stores nothing. `tests/platform/test_squid_config.py`
checks the output with the real `squid -k parse` and runs `COMMAND` on loopback.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.network_constants import EGRESS_PROXY_PORT, HTTPS_PORT

CONFIG_VARIABLE = "SQUID_CONFIG"  # the task's environment variable holding the rendered squid.conf
# The container's command: bash (Ubuntu's) reads the config from CONFIG_VARIABLE through a pipe, and Squid
# replaces it (`exec`), so ECS's SIGTERM reaches Squid itself and it shuts down within SHUTDOWN_SECONDS.
COMMAND = (
    "/bin/bash",
    "-c",
    f'exec squid -N -f <(printf "%s\\n" "${CONFIG_VARIABLE}") > >(exec cat) 2>&1',
)
VISIBLE_HOSTNAME = "egress-proxy"  # Squid refuses to start when it cannot find its own hostname
# Where an allowed name must not lead: loopback, link-local (the metadata and ECS credential addresses),
# the private and shared ranges (the VPC, its endpoints and load balancers) and their IPv6 kin (RFC 6890).
# An allowed host whose DNS answer points there (a hijacked or rebinding record) gets 403, not a tunnel.
INTERNAL_DESTINATIONS = (
    "127.0.0.0/8",
    "169.254.0.0/16",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "0.0.0.0/8",
    "::1",
    "fc00::/7",
    "fe80::/10",
)
# Under ECS's default 30 s stopTimeout, so open tunnels get most of it and Squid still exits by itself.
SHUTDOWN_SECONDS = 20


def render(
    allowed_hosts: Sequence[str],
    *,
    client_cidrs: Sequence[str],
    proxy_port: int = EGRESS_PROXY_PORT,
    listen_address: str | None = None,
    tls_port: int = HTTPS_PORT,
    internal_destinations: Sequence[str] = INTERNAL_DESTINATIONS,
) -> str:
    """The whole squid.conf.

    allowed_hosts: DNS names clients may CONNECT to (exact names: `api.example.com` does not admit
        `x.api.example.com`); none: every request is refused.
    client_cidrs: who may use the proxy at all (the VPC's CIDR); the security group says it again.
    proxy_port, listen_address: where Squid listens; default 3128 on every interface.
    tls_port: the only port a CONNECT may name; 443, a test's own listener otherwise.
    internal_destinations: addresses an allowed name may not resolve to; default INTERNAL_DESTINATIONS
        (a loopback test passes none, its stand-in host being 127.0.0.1).
    """
    if not client_cidrs:
        raise ValueError("the egress proxy needs the clients' CIDR blocks")
    listen = f"{listen_address}:{proxy_port}" if listen_address else str(proxy_port)
    lines = [
        "# Rendered by stacks/platform/squid_config.py from egressAllowedHosts; do not edit.",
        f"http_port {listen}",
        f"visible_hostname {VISIBLE_HOSTNAME}",
        "pid_filename none",
        "coredump_dir none",
        "pinger_enable off",
        f"shutdown_lifetime {SHUTDOWN_SECONDS} seconds",
        "",
        "acl clients src " + " ".join(client_cidrs),
        *(
            ["acl allowed_hosts dstdomain -n " + " ".join(sorted(set(allowed_hosts)))]
            if allowed_hosts
            else []
        ),
        f"acl tls_port port {tls_port}",
        *(["acl internal dst " + " ".join(internal_destinations)] if internal_destinations else []),
        "acl CONNECT method CONNECT",
        "",
        "# First match wins: CONNECT only, to the TLS port, to an allowed host, from a client.",
        "http_access deny !clients",
        "http_access deny !CONNECT",
        "http_access deny !tls_port",
        # Only an allowed name is resolved, and its answer must be a public address.
        *(["http_access deny allowed_hosts internal"] if allowed_hosts and internal_destinations else []),
        *(["http_access allow allowed_hosts"] if allowed_hosts else []),
        "http_access deny all",
        "",
        "# A tunnel, not a cache: nothing is stored, in memory or on disk.",
        "cache deny all",
        "cache_mem 0 MB",
        "",
        "# Logs: access to stdout, Squid's own messages to stderr (both to CloudWatch Logs).",
        "access_log stdio:/dev/stdout",
        "cache_log /dev/stderr",
        "cache_store_log none",
        "logfile_rotate 0",
        "",
        "# Say less about the proxy and the clients: no version in error pages, no client address upstream.",
        "httpd_suppress_version_string on",
        "forwarded_for delete",
        "",
    ]
    return "\n".join(lines)
