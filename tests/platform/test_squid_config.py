"""The egress proxy's squid.conf: what it says, checked by the real Squid, and run on loopback.

The parse and loopback tests need Debian's `squid` package (`.ci/run` installs it); without it they are
skipped, saying so. The loopback test starts Squid on 127.0.0.1 with the container's own command
(`squid_config.COMMAND`) as a non-root user, a plain TCP listener standing in for an allowed host
(mapped to 127.0.0.1 by a `hosts_file` line added for the test), and checks that a CONNECT to it is
tunnelled and a CONNECT anywhere else answered 403. Every wait is bounded.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from shared.network_constants import EGRESS_PROXY_PORT
from stacks.platform.egress_proxy import HEALTH_COMMAND
from stacks.platform.squid_config import COMMAND, CONFIG_VARIABLE, INTERNAL_DESTINATIONS, render

SQUID = shutil.which("squid") or next((path for path in ("/usr/sbin/squid",) if Path(path).exists()), None)
needs_squid = pytest.mark.skipif(
    SQUID is None, reason="squid is not installed (apt-get install squid; .ci/run installs it)"
)
HOSTS = ("api.provider.example", "keys.fraud-scoring.example")
VPC = ("10.0.0.0/16",)


def _directives(config: str) -> list[str]:
    return [line for line in config.splitlines() if line and not line.startswith("#")]


def test_only_connect_to_443_on_the_allowed_hosts_from_the_clients_is_allowed() -> None:
    lines = _directives(render(HOSTS, client_cidrs=VPC))
    access = [line for line in lines if line.startswith("http_access")]
    assert access == [
        "http_access deny !clients",
        "http_access deny !CONNECT",
        "http_access deny !tls_port",
        "http_access deny allowed_hosts internal",
        "http_access allow allowed_hosts",
        "http_access deny all",
    ]
    assert "acl internal dst " + " ".join(INTERNAL_DESTINATIONS) in lines
    assert "acl clients src 10.0.0.0/16" in lines
    assert "acl tls_port port 443" in lines
    assert "acl allowed_hosts dstdomain -n api.provider.example keys.fraud-scoring.example" in lines


def test_an_empty_allowlist_refuses_everything() -> None:
    lines = _directives(render((), client_cidrs=VPC))
    assert [line for line in lines if line.startswith("http_access")][-1] == "http_access deny all"
    assert not [line for line in lines if "allow" in line.split()[1:2] or "allowed_hosts" in line]


def test_nothing_is_cached_or_written_and_the_access_log_is_stdout() -> None:
    lines = _directives(render(HOSTS, client_cidrs=VPC))
    for directive in (
        "cache deny all",
        "cache_mem 0 MB",
        "pid_filename none",
        "coredump_dir none",
        "access_log stdio:/dev/stdout",
        "cache_log /dev/stderr",
        "cache_store_log none",
    ):
        assert directive in lines
    assert not [line for line in lines if line.startswith("cache_dir")]


def test_a_proxy_without_clients_is_refused() -> None:
    with pytest.raises(ValueError, match="clients' CIDR"):
        render(HOSTS, client_cidrs=())


@needs_squid
@pytest.mark.parametrize("hosts", [HOSTS, ()], ids=["allowlist", "empty"])
def test_the_real_squid_parses_the_rendered_config(tmp_path: Path, hosts: tuple[str, ...]) -> None:
    config = tmp_path / "squid.conf"
    config.write_text(render(hosts, client_cidrs=VPC))
    result = subprocess.run(
        [str(SQUID), "-k", "parse", "-f", str(config)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "FATAL" not in result.stderr, result.stderr[-2000:]
    assert "ERROR" not in result.stderr, result.stderr[-2000:]


@needs_squid
def test_the_real_squid_refuses_a_broken_config(tmp_path: Path) -> None:
    """The parse check above can fail: a misspelled directive makes `squid -k parse` exit non-zero."""
    config = tmp_path / "squid.conf"
    config.write_text(render(HOSTS, client_cidrs=VPC).replace("http_access deny all", "http_acess deny all"))
    result = subprocess.run(
        [str(SQUID), "-k", "parse", "-f", str(config)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listener() -> tuple[socket.socket, threading.Thread]:
    """A plain TCP server on 127.0.0.1 that greets each connection: the 'allowed host'."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(10)

    def serve() -> None:
        try:
            while True:
                connection, _ = server.accept()
                with connection:
                    connection.sendall(b"hello from the allowed host")
        except OSError:
            return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, thread


def _connect(proxy_port: int, target: str) -> bytes:
    """CONNECT `target` through the proxy; everything it answers within 5 s."""
    with socket.create_connection(("127.0.0.1", proxy_port), timeout=5) as client:
        client.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
        answer = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and b"hello" not in answer:
            if b"\r\n\r\n" in answer and not answer.startswith(b"HTTP/1.1 200"):
                break  # a refusal: its headers are all we need
            try:
                chunk = client.recv(4096)
            except TimeoutError:
                break
            if not chunk:
                break
            answer += chunk
        return answer


def _python_client_goes_through_the_proxy(proxy_port: int, target_port: int) -> None:
    """urllib with HTTPS_PROXY, as the rotation function calls a key API: the tunnel to an allowed host
    opens (the stand-in then fails TLS, it speaks none), and another host's tunnel is refused with 403."""
    import ssl
    import urllib.error
    import urllib.request

    from shared.container_settings import proxy_environment

    env = proxy_environment(f"http://127.0.0.1:{proxy_port}", ())
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"https": env["HTTPS_PROXY"]}))
    with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)) as allowed:
        opener.open(f"https://allowed.test:{target_port}/v1/keys", timeout=5)
    assert "403" not in str(allowed.value)
    with pytest.raises(OSError, match="403"):
        opener.open(f"https://denied.test:{target_port}/v1/keys", timeout=5)


@pytest.fixture
def proxy_user() -> Iterator[tuple[int, int] | None]:
    """Run Squid as `proxy` when the tests run as root (the container's user); else as ourselves."""
    if os.geteuid() != 0:
        yield None
        return
    try:
        entry = pwd.getpwnam("proxy")
    except KeyError:
        pytest.skip("running as root and there is no 'proxy' user to run Squid as")
    yield entry.pw_uid, entry.pw_gid


def _health_check(proxy_port: int) -> int:
    """Exit status of the container's health check (egress_proxy.HEALTH_COMMAND) against `proxy_port`."""
    command = [part.replace(str(EGRESS_PROXY_PORT), str(proxy_port)) for part in HEALTH_COMMAND[1:]]
    return subprocess.run(command, capture_output=True, timeout=10, check=False).returncode


# The container's read-only root filesystem, as far as a test can have it: a private mount namespace
# whose `/` is remounted read-only (as `readonlyRootFilesystem` does; /dev and /proc stay their own
# mounts, as in a container) and whose /dev/shm is a fresh tmpfs of mode 1777 (the runtime's own shm
# mount, which the read-only root does not cover), then the container's command as `proxy` without
# capabilities. Squid needs that /dev/shm: even with -N it puts three small shared-memory segments
# there (`squid-cf__*.shm`, collapsed forwarding's queues); test_squid_needs_a_writable_dev_shm.
READ_ONLY_ROOT_UNAVAILABLE = 97  # the wrapper's exit status when it cannot make the mount namespace


def _read_only_root_command(
    proxy_user: tuple[int, int], *, shm_options: str = "mode=1777,size=8m"
) -> list[str]:
    """COMMAND wrapped as described above; the caller skips when the tools are missing."""
    if not (shutil.which("unshare") and shutil.which("setpriv")):
        pytest.skip("unshare and setpriv (util-linux) are needed for a read-only root")
    script = (
        f"mount -o remount,bind,ro / && mount -t tmpfs -o {shm_options} tmpfs /dev/shm "
        f'|| exit {READ_ONLY_ROOT_UNAVAILABLE}; uid="$0" gid="$1"; shift; '  # $0 $1: user, group
        'exec setpriv --reuid "$uid" --regid "$gid" --clear-groups --inh-caps=-all --bounding-set=-all "$@"'
    )
    return [
        *("unshare", "--mount", "--propagation", "private", "sh", "-c", script),
        *(str(proxy_user[0]), str(proxy_user[1]), *COMMAND),
    ]


@contextmanager
def _running_squid(
    proxy_user: tuple[int, int] | None,
    target_port: int,
    *,
    internal_destinations: tuple[str, ...],
    read_only_root: bool = False,
) -> Iterator[tuple[int, list[str]]]:
    """Squid started with the container's command on a free loopback port, allowing `allowed.test` (which
    a hosts file maps to 127.0.0.1) on `target_port`; yields the port and, once stopped, its log.
    read_only_root: run it on a read-only root (needs root, to make the mount namespace)."""
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed: the container's command is a bash one-liner")
    scratch = Path(tempfile.mkdtemp(prefix="squid-test-"))
    scratch.chmod(0o755)  # Squid, as `proxy`, reads the hosts file here
    proxy_port = _free_port()
    hosts_file = scratch / "hosts"
    hosts_file.write_text("127.0.0.1 allowed.test\n")
    hosts_file.chmod(0o644)
    config = render(
        ("allowed.test",),
        client_cidrs=("127.0.0.1/32",),
        proxy_port=proxy_port,
        listen_address="127.0.0.1",
        tls_port=target_port,
        internal_destinations=internal_destinations,
    )
    # Only for the test: resolve the stand-in host to the listener (no DNS server needed), stop at once.
    config += f"hosts_file {hosts_file}\ndns_nameservers 127.0.0.1\nshutdown_lifetime 1 seconds\n"
    user = {"user": proxy_user[0], "group": proxy_user[1], "extra_groups": []} if proxy_user else {}
    command = list(COMMAND)
    if read_only_root:
        if proxy_user is None:
            pytest.skip("a read-only root needs a mount namespace, which needs root")
        command, user = _read_only_root_command(proxy_user), {}
    squid = subprocess.Popen(
        command,
        env={"PATH": f"{Path(str(SQUID)).parent}:/usr/bin:/bin", CONFIG_VARIABLE: config},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd="/",
        **user,  # type: ignore[arg-type]
    )
    log: list[str] = []
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and squid.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", proxy_port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        if read_only_root and squid.poll() == READ_ONLY_ROOT_UNAVAILABLE:
            pytest.skip("this machine does not allow a private mount namespace (no CAP_SYS_ADMIN)")
        assert squid.poll() is None, "squid exited at start"
        yield proxy_port, log
    finally:
        squid.send_signal(signal.SIGTERM)
        try:
            output, _ = squid.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            squid.kill()
            output, _ = squid.communicate(timeout=10)
        shutil.rmtree(scratch, ignore_errors=True)
        log.append(output.decode(errors="replace"))


@needs_squid
def test_squid_tunnels_to_an_allowed_host_and_answers_403_for_any_other(
    proxy_user: tuple[int, int] | None,
) -> None:
    server, _ = _listener()
    target_port = int(server.getsockname()[1])
    try:
        with _running_squid(proxy_user, target_port, internal_destinations=()) as (proxy_port, log):
            allowed = _connect(proxy_port, f"allowed.test:{target_port}")
            assert allowed.startswith(b"HTTP/1.1 200"), allowed[:200]
            assert b"hello from the allowed host" in allowed
            other_host = _connect(proxy_port, f"denied.test:{target_port}")
            assert other_host.startswith(b"HTTP/1.1 403"), other_host[:200]
            other_port = _connect(proxy_port, "allowed.test:22")
            assert other_port.startswith(b"HTTP/1.1 403"), other_port[:200]
            _python_client_goes_through_the_proxy(proxy_port, target_port)
    finally:
        server.close()
    # The access log reached stdout through the pipe the command makes: one line per request.
    text = log[0]
    assert text.count("TCP_TUNNEL/200") >= 2, text[-2000:]  # the raw CONNECT and urllib's
    assert "CONNECT allowed.test" in text, text[-2000:]
    assert "TCP_DENIED/403" in text, text[-2000:]
    assert "CONNECT denied.test" in text, text[-2000:]


@needs_squid
def test_an_allowed_name_that_resolves_to_an_internal_address_gets_403(
    proxy_user: tuple[int, int] | None,
) -> None:
    """With the default internal destinations the same allowed name, mapped to 127.0.0.1, is refused."""
    server, _ = _listener()
    target_port = int(server.getsockname()[1])
    try:
        with _running_squid(proxy_user, target_port, internal_destinations=INTERNAL_DESTINATIONS) as (
            proxy_port,
            _,
        ):
            answer = _connect(proxy_port, f"allowed.test:{target_port}")
            assert answer.startswith(b"HTTP/1.1 403"), answer[:200]
    finally:
        server.close()


@needs_squid
def test_squid_serves_as_proxy_on_a_read_only_root_and_writes_nothing(
    proxy_user: tuple[int, int] | None,
) -> None:
    """The task definition's `readonlyRootFilesystem` with `user` 13:13 and no capabilities: Squid
    starts with the container's command, tunnels and refuses as before, and logs no failed write."""
    server, _ = _listener()
    target_port = int(server.getsockname()[1])
    try:
        with _running_squid(proxy_user, target_port, internal_destinations=(), read_only_root=True) as (
            proxy_port,
            log,
        ):
            allowed = _connect(proxy_port, f"allowed.test:{target_port}")
            assert allowed.startswith(b"HTTP/1.1 200"), allowed[:200]
            denied = _connect(proxy_port, f"denied.test:{target_port}")
            assert denied.startswith(b"HTTP/1.1 403"), denied[:200]
            assert _health_check(proxy_port) == 0  # the task definition's check, on this port
    finally:
        server.close()
    assert _health_check(proxy_port) != 0  # and it fails once Squid has stopped
    text = log[0]
    assert "TCP_TUNNEL/200" in text, text[-2000:]
    assert "TCP_DENIED/403" in text, text[-2000:]
    for failure in ("Read-only file system", "Permission denied", "FATAL", "cannot open"):
        assert failure not in text, text[-3000:]


@needs_squid
def test_squid_needs_a_writable_dev_shm(proxy_user: tuple[int, int] | None) -> None:
    """Why the container relies on the runtime's writable /dev/shm: with it read-only Squid stops at
    start, naming the shared-memory segment it could not create."""
    if proxy_user is None:
        pytest.skip("a read-only root needs a mount namespace, which needs root")
    config = render(("allowed.test",), client_cidrs=("127.0.0.1/32",), proxy_port=_free_port())
    result = subprocess.run(
        _read_only_root_command(proxy_user, shm_options="ro"),
        env={"PATH": f"{Path(str(SQUID)).parent}:/usr/bin:/bin", CONFIG_VARIABLE: config},
        capture_output=True,
        timeout=30,
        check=False,
        cwd="/",
    )
    if result.returncode == READ_ONLY_ROOT_UNAVAILABLE:
        pytest.skip("this machine does not allow a private mount namespace (no CAP_SYS_ADMIN)")
    output = result.stdout.decode(errors="replace")
    assert result.returncode != 0, output[-2000:]
    assert "shm_open" in output, output[-2000:]
