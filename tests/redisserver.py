"""A throw-away Redis from Debian's redis-server package, on loopback, for a test."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.deploy.coturn import free_listening_port

REDIS_SERVER = Path("/usr/bin/redis-server")
START_DEADLINE_S = 15.0


class RedisServer:
    """One redis-server on a fixed loopback port, with no persistence, that a test can stop
    and start again (the same port: the nodes' URL does not change)."""

    def __init__(self) -> None:
        if not REDIS_SERVER.exists():
            pytest.fail("redis-server is missing: the README's test command installs Debian's")
        self.port = free_listening_port()
        self.root = Path(tempfile.mkdtemp(prefix="lingkar-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                str(REDIS_SERVER),
                *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root)),
                *("--save", "", "--appendonly", "no", "--protected-mode", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_DEADLINE_S
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def _answers(self) -> bool:
        done = subprocess.run(
            ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, check=False
        )
        return done.stdout.strip() == b"PONG"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
