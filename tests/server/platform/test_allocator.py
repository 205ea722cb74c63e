"""``lingkar serve`` runs on jemalloc when the machine has it (its RSS stays flat over join and
leave cycles: docs/reliability.md), and on glibc's malloc when asked or when it is missing."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from server.platform.allocator import jemalloc_path
from tests.serverproc import ServerProcess, start_server


def _maps(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def _printed(server: ServerProcess, text: str) -> bool:
    """Whether the server printed ``text`` (its output is read by a thread: wait a little)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if any(text in line for line in server.output):
            return True
        time.sleep(0.1)
    return False


def test_the_server_runs_on_jemalloc_and_says_so(tmp_path: Path) -> None:
    if jemalloc_path() is None:
        pytest.fail("libjemalloc2 is not installed (scripts/test.sh installs it)")
    server = start_server(tmp_path / "data")
    try:
        assert "libjemalloc" in _maps(server.process.pid)
        assert _printed(server, "Memory allocator: jemalloc.")
    finally:
        server.stop()


def test_the_system_allocator_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(os.environ, "LINGKAR_ALLOCATOR", "system")
    server = start_server(tmp_path / "data")
    try:
        assert "libjemalloc" not in _maps(server.process.pid)
        assert _printed(server, "Memory allocator: glibc's malloc")
    finally:
        server.stop()
