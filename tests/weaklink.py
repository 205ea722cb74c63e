"""A weak link for one browser: a network namespace joined to this host by a veth pair, with a
token-bucket (tbf) rate limit on each direction, as ../docs/performance.md's "adaptive media"
runs and tests/browser/test_adaptive_media.py use it.

A rate limit makes its own queueing and loss, as a weak mobile link does (this kernel has no
netem for artificial delay or loss). Needs root (``ip netns``, ``tc``). Always :meth:`close`:
the namespace and both veth ends go away with it, whatever happened.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# The queue a tbf keeps before it drops, as a mobile network's buffer: 200 ms.
QUEUE_LATENCY = "200ms"
BURST = "16kbit"


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True)


def available() -> str | None:
    """None when weak links can be made here, else why not."""
    if os.geteuid() != 0:
        return "weak links need root (ip netns, tc)"
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            return f"{tool} is missing (Debian package iproute2)"
    return None


class WeakLink:
    """``host_address`` is this machine's end (the server is reached there); the browser runs
    in the namespace at ``browser_address``."""

    def __init__(self, index: int = 1) -> None:
        suffix = f"{os.getpid() % 10000}x{index}"
        self.namespace = f"lk{suffix}"
        self._host_if = f"lkh{suffix}"
        self._ns_if = f"lkn{suffix}"
        third = 100 + (os.getpid() + index) % 150
        self.host_address = f"10.77.{third}.1"
        self.browser_address = f"10.77.{third}.2"
        self._dir = Path(tempfile.mkdtemp(prefix="weaklink-"))
        self._open = False

    def open(self) -> WeakLink:
        _run("ip", "netns", "add", self.namespace)
        self._open = True
        _run("ip", "link", "add", self._host_if, "type", "veth", "peer", "name", self._ns_if)
        _run("ip", "link", "set", self._ns_if, "netns", self.namespace)
        _run("ip", "addr", "add", f"{self.host_address}/24", "dev", self._host_if)
        _run("ip", "link", "set", self._host_if, "up")
        inside = ("ip", "netns", "exec", self.namespace)
        _run(*inside, "ip", "addr", "add", f"{self.browser_address}/24", "dev", self._ns_if)
        _run(*inside, "ip", "link", "set", self._ns_if, "up")
        _run(*inside, "ip", "link", "set", "lo", "up")
        return self

    def limit(self, down_kbit: int | None, up_kbit: int | None = None) -> None:
        """Rate-limit what reaches the browser (down) and what it sends (up); None: no limit."""
        self._shape(self._host_if, down_kbit, ())
        self._shape(self._ns_if, up_kbit, ("ip", "netns", "exec", self.namespace))

    def _shape(self, interface: str, kbit: int | None, prefix: tuple[str, ...]) -> None:
        subprocess.run(
            [*prefix, "tc", "qdisc", "del", "dev", interface, "root"], capture_output=True
        )
        if kbit is not None:
            _run(
                *prefix,
                *("tc", "qdisc", "add", "dev", interface, "root", "tbf"),
                *("rate", f"{kbit}kbit", "burst", BURST, "latency", QUEUE_LATENCY),
            )

    def cut(self) -> None:
        """The link goes down (a tunnel, a lift, a phone between cells): nothing passes."""
        _run("ip", "link", "set", self._host_if, "down")

    def restore(self) -> None:
        _run("ip", "link", "set", self._host_if, "up")

    def chromium(self) -> Path:
        """An executable that starts Debian's Chromium inside the namespace (for Playwright's
        ``executable_path``: ``ip netns exec`` keeps the pipes Playwright talks through)."""
        wrapper = self._dir / "chromium-in-namespace"
        wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {self.namespace} {CHROMIUM} "$@"\n')
        wrapper.chmod(0o755)
        return wrapper

    def close(self) -> None:
        if self._open:
            subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True)
            # Deleting the namespace deletes its veth end, and with it the host's.
            subprocess.run(["ip", "link", "del", self._host_if], capture_output=True)
            self._open = False
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> WeakLink:
        return self.open()

    def __exit__(self, *_: object) -> None:
        self.close()
