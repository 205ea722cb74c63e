"""A throw-away PostgreSQL cluster from Debian's postgresql package, on loopback, for a test."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# Debian's postgresql package (installed by the README's test command) puts its server here.
PG_BINS = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """Start a cluster (trust authentication, loopback only); yield its URL; stop and delete it."""
    if not PG_BINS:
        pytest.fail("PostgreSQL is missing: the README's test command installs Debian's postgresql")
    pg_bin = PG_BINS[-1]
    # initdb refuses to run as root: run the cluster as the postgres system user then.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="lingkar-pg-"))
    if as_user:
        shutil.chown(root, "postgres")
    data = root / "data"
    port = _free_port()
    subprocess.run(
        [*as_user, str(pg_bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "lingkar"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root}"
    subprocess.run(
        [
            *as_user,
            str(pg_bin / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-w",
            "start",
            "-l",
            str(root / "log"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        yield f"postgresql://lingkar@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            check=False,
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)
