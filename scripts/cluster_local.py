"""A three-node Lingkar cluster on this one machine, to try the cluster (docs/deploy.md, "A
cluster"): a PostgreSQL and a Redis of its own, and three ``lingkar serve`` nodes on ports 8443,
8444 and 8445, everything under ``./data/cluster``. Ctrl+C stops it all; the folder stays (run
again to start the same cluster; delete it to start afresh).

    sh scripts/cluster.sh        (installs Debian's postgresql and redis-server when missing)

Each node's settings are in ``data/cluster/node<N>.toml``; ``LINGKAR_CONFIG=data/cluster/node1.toml
.venv/bin/lingkar counselor add NAME`` makes a counselor for the whole cluster (one database).
"""

from __future__ import annotations

import base64
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from server.platform.addresses import lan_ipv4_addresses
from server.platform.tls import ensure_self_signed

ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / "data" / "cluster"
PORTS = (8443, 8444, 8445)
PG_PORT, REDIS_PORT = 55432, 56379


def run(*command: str, user: str | None = None) -> None:
    as_user = ["runuser", "-u", user, "--"] if user and os.geteuid() == 0 else []
    subprocess.run([*as_user, *command], check=True, stdout=subprocess.DEVNULL)


def postgres() -> subprocess.Popen[bytes]:
    """Debian's PostgreSQL on loopback, in cluster/postgres (made on the first run)."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not bins:
        sys.exit("PostgreSQL is missing: sh scripts/cluster.sh installs it")
    data = HOME / "postgres"
    owner = "postgres" if os.geteuid() == 0 else None  # initdb refuses to run as root
    if not data.exists():
        data.mkdir(parents=True)
        if owner:
            shutil.chown(data, owner)
        run(str(bins[-1] / "initdb"), "-D", str(data), "-A", "trust", "-U", "lingkar", user=owner)
    as_user = ["runuser", "-u", owner, "--"] if owner else []
    options = ["-c", "listen_addresses=127.0.0.1", "-c", f"port={PG_PORT}"]
    options += ["-c", f"unix_socket_directories={data}"]
    return subprocess.Popen([*as_user, str(bins[-1] / "postgres"), "-D", str(data), *options])


def redis() -> subprocess.Popen[bytes]:
    if not Path("/usr/bin/redis-server").exists():
        sys.exit("redis-server is missing: sh scripts/cluster.sh installs it")
    return subprocess.Popen(
        [
            *("/usr/bin/redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(HOME)),
        ],
        stdout=subprocess.DEVNULL,
    )


def wait_for_postgres() -> None:
    deadline = time.monotonic() + 30
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    while time.monotonic() < deadline:
        ready = subprocess.run(
            [str(bins[-1] / "pg_isready"), "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "lingkar"],
            stdout=subprocess.DEVNULL,
            check=False,
        )
        if ready.returncode == 0:
            # The database itself, on the first run (initdb makes only "postgres").
            subprocess.run(
                [
                    *(str(bins[-1] / "createdb"), "-h", "127.0.0.1", "-p", str(PG_PORT)),
                    *("-U", "lingkar", "lingkar"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,  # it exists already
            )
            return
        time.sleep(0.2)
    sys.exit("PostgreSQL did not start (see above)")


def configs() -> list[Path]:
    """Each node's settings file (made on the first run, with keys made once)."""
    keys = HOME / "keys.toml"
    if not keys.exists():
        keys.write_text(
            f'secret_key = "{secrets.token_hex(32)}"\n'
            f'notes_key = "{base64.b64encode(secrets.token_bytes(32)).decode()}"\n'
        )
        keys.chmod(0o600)
    certs = []
    for index, _ in enumerate(PORTS):
        certs.append(ensure_self_signed(HOME / f"node{index + 1}" / "tls", lan_ipv4_addresses()))
    ca = HOME / "nodes.pem"
    ca.write_text("".join(files.cert.read_text() for files in certs))
    made = []
    for index, port in enumerate(PORTS):
        low = 41000 + index * 300
        path = HOME / f"node{index + 1}.toml"
        path.write_text(
            keys.read_text()
            + "\n".join(
                [
                    f'data_dir = "{HOME / f"node{index + 1}"}"',
                    f"port = {port}",
                    f'node_url = "https://localhost:{port}"',
                    f'redis_url = "redis://127.0.0.1:{REDIS_PORT}/0"',
                    f'database_url = "postgresql://lingkar@127.0.0.1:{PG_PORT}/lingkar"',
                    f'cluster_ca = "{ca}"',
                    f'media_ports = "{low}-{low + 299}"',
                    "workers = 1  # three nodes on one machine: one worker each is plenty",
                ]
            )
            + "\n"
        )
        path.chmod(0o600)
        made.append(path)
    return made


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    HOME.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        pwd.getpwnam("postgres")  # Debian's postgresql package made this user
    children = [postgres(), redis()]
    try:
        wait_for_postgres()
        lingkar = str(ROOT / ".venv" / "bin" / "lingkar")
        for config in configs():
            children.append(subprocess.Popen([lingkar, "serve", "--config", str(config)]))
        print(
            "\nA three-node cluster: https://localhost:8443/, https://localhost:8444/ and "
            "https://localhost:8445/ (one database, one Redis).\n"
            "A counselor for all three: "
            f"LINGKAR_CONFIG={HOME / 'node1.toml'} .venv/bin/lingkar counselor add NAME\n"
            "Stop with Ctrl+C.\n",
            flush=True,
        )
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("a part of the cluster stopped (see above); stopping the rest", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        for child in reversed(children):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in reversed(children):
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()


if __name__ == "__main__":
    main()
