"""A real Lingkar server in its own process, as a user starts it, for browser and CLI tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

URL_PATTERN = re.compile(r"(https?)://localhost:(\d+)/")
START_DEADLINE_S = 30.0


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    base_url: str
    output: list[str] = field(default_factory=list)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(data_dir: Path, *extra: str, host: str = "127.0.0.1") -> ServerProcess:
    """Start ``lingkar serve`` on a free port of ``host`` (loopback by default) and wait until
    it prints its URL (``base_url`` is on localhost either way)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "server.cli", "serve"),
            *("--host", host, "--port", "0", "--data-dir", str(data_dir)),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )
    output: list[str] = []
    found = threading.Event()
    url: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            match = URL_PATTERN.search(line)
            if match and not url:
                url.append(f"{match.group(1)}://localhost:{match.group(2)}")
                found.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + START_DEADLINE_S
    while not found.wait(0.1):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("lingkar serve did not start:\n" + "".join(output))
    return ServerProcess(process, url[0], output)


def add_counselor(data_dir: Path, username: str, display_name: str, password: str) -> None:
    """``lingkar counselor add`` against a server's data directory, as an administrator would."""
    subprocess.run(
        [
            *(sys.executable, "-m", "server.cli", "counselor", "add", username),
            *("--display-name", display_name, "--password-stdin", "--data-dir", str(data_dir)),
        ],
        input=password + "\n",
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        check=True,
        capture_output=True,
        timeout=60,
    )
