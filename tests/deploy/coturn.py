"""coturn from Debian's package, started on loopback ports chosen free, for the TURN tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

TURNSERVER = "/usr/bin/turnserver"
# aioice skips loopback host candidates, so the relay and the Lingkar server talk over the
# machine's non-loopback address; traffic between the machine's own addresses stays local.
START_DEADLINE_S = 15.0


@dataclass(frozen=True)
class Coturn:
    port: int
    relay_ip: str
    relay_ports: tuple[int, int]
    secret: str
    log: Path

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"


def require_turnserver() -> str:
    path = shutil.which("turnserver") or TURNSERVER
    if not Path(path).is_file():
        raise AssertionError(
            "coturn is not installed: the TURN tests need Debian's package "
            "(apt-get install coturn; scripts/test.sh installs it)"
        )
    return path


def free_port(kind: socket.SocketKind = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_listening_port() -> int:
    """A port free for UDP and TCP alike: coturn listens on both with one number (a port free
    for UDP only once left coturn retrying its TCP bind, never serving)."""
    for _ in range(200):
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            try:
                tcp.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise AssertionError("no port free for both UDP and TCP")


def free_udp_range(host: str, size: int) -> tuple[int, int]:
    """``size`` consecutive UDP ports free on ``host`` now (start found by trying)."""
    for _ in range(200):
        start = free_port()
        if start + size > 65000:
            continue
        socks = []
        try:
            for port in range(start, start + size):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(sock)
                sock.bind((host, port))
            return start, start + size - 1
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise AssertionError("no free UDP port range found")


def non_loopback_ipv4() -> str:
    import psutil

    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET and not address.address.startswith("127."):
                return str(address.address)
    raise AssertionError("the TURN test needs a non-loopback IPv4 interface")


@contextmanager
def running_coturn(workdir: Path, secret: str) -> Iterator[Coturn]:
    binary = require_turnserver()
    relay_ip = non_loopback_ipv4()
    port = free_listening_port()
    relay_ports = free_udp_range(relay_ip, 20)
    log = workdir / "turn.log"
    conf = workdir / "turnserver.conf"
    # The settings of deploy/turnserver.conf that matter to the scheme, on test addresses.
    conf.write_text(
        "\n".join(
            [
                "use-auth-secret",
                f"static-auth-secret={secret}",
                "realm=lingkar.test",
                "listening-ip=127.0.0.1",
                f"listening-port={port}",
                f"relay-ip={relay_ip}",
                f"min-port={relay_ports[0]}",
                f"max-port={relay_ports[1]}",
                "fingerprint",
                "no-tls",
                "no-dtls",
                "no-cli",
                "no-multicast-peers",
                f"userdb={workdir / 'turndb'}",
                f"pidfile={workdir / 'turn.pid'}",
                f"log-file={log}",
                "simple-log",
                "verbose",
                "",
            ]
        )
    )
    process = subprocess.Popen(
        [binary, "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_listening(process, port, log)
        yield Coturn(port, relay_ip, relay_ports, secret, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    # coturn listens on TCP and UDP alike; the TCP listener answers a connect once it is up.
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = log.read_text(errors="replace") if log.exists() else ""
            raise AssertionError(f"turnserver exited with {process.returncode}:\n{text}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("turnserver did not start listening in time")
