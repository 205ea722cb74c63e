"""The ``lingkar`` command: ``lingkar serve`` and the administrator's subcommands."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from server import __version__
from server.accounts.counselor_cli import add_counselor_commands, run_counselor_command
from server.db.database import MigrationError
from server.platform.allocator import restart_with_jemalloc
from server.platform.config_file import load_settings
from server.platform.errors import CannotStart
from server.platform.settings import Settings, SettingsError
from server.records.retention import add_retention_commands, run_retention_command
from server.workers.place import WORKER_VARIABLE, WorkerPlace, worker_count

log = logging.getLogger("lingkar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lingkar",
        description="Lingkar: a self-hosted WebRTC server for online group guidance.",
    )
    parser.add_argument("--version", action="version", version=f"lingkar {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="start the server (https on port 8443 by default)")
    serve.add_argument(
        "--config",
        type=Path,
        help="TOML settings file (default: $LINGKAR_CONFIG; variables and flags win over it)",
    )
    serve.add_argument("--host", help="address to listen on (default 0.0.0.0, all interfaces)")
    serve.add_argument("--port", type=int, help="TCP port (default 8443; 0 picks a free one)")
    serve.add_argument("--data-dir", type=Path, help="where the database and certificate live")
    serve.add_argument(
        "--database-url", help="SQLAlchemy URL (default: SQLite file in the data directory)"
    )
    serve.add_argument("--tls-cert", type=Path, help="PEM certificate (default: self-signed)")
    serve.add_argument("--tls-key", type=Path, help="PEM private key for --tls-cert")
    serve.add_argument(
        "--insecure-http",
        action="store_true",
        default=None,
        help="serve plain http (only behind a reverse proxy that terminates TLS)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        help="session worker processes (default: one per core; 1: a single process)",
    )
    serve.add_argument("--redis-url", help="a cluster's Redis (redis://host:6379/0)")
    serve.add_argument("--node-url", help="this node's address in a cluster (https://host:port)")
    add_counselor_commands(commands)
    add_retention_commands(commands)
    return parser


async def _serve(settings: Settings) -> None:
    """A session worker (started by a supervisor), a supervisor and its workers, or a single
    process. Each imports what it runs: the supervisor loads no application and no media."""
    place = os.environ.get(WORKER_VARIABLE)
    count = worker_count(settings)
    if not place and (count > 1 or settings.clustered):  # a cluster node always supervises
        from server.workers.supervisor import run_supervisor

        await run_supervisor(settings, count)
        return
    from rtc import SelfTestError
    from rtc.ports import PortRangeError

    try:
        if place:
            from server.workers.worker import run_worker

            await run_worker(settings, WorkerPlace.decode(place))
        else:
            from server.serve import run_server

            await run_server(settings)
    except (SelfTestError, PortRangeError) as exc:
        raise CannotStart(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # LINGKAR_DEBUG_LOGGERS=lingkar.rtc.bandwidth,...: those loggers at debug level (the
    # adaptation's decisions, say) without aiortc's and aiohttp's debug output.
    for name in filter(None, os.environ.get("LINGKAR_DEBUG_LOGGERS", "").split(",")):
        logging.getLogger(name.strip()).setLevel(logging.DEBUG)
    # Alembic announces every start at INFO; only its problems matter to the administrator.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # aioice and aiortc log candidates (addresses) and more at INFO: logs carry opaque ids only.
    for noisy in ("aioice", "aiortc"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command == "counselor":
        return run_counselor_command(args)
    if args.command == "retention":
        return run_retention_command(args)
    if args.command == "serve":
        # Before anything else (no thread, no socket yet): jemalloc when installed.
        restart_with_jemalloc()
        try:
            settings = load_settings(
                config=args.config,
                host=args.host,
                port=args.port,
                data_dir=args.data_dir,
                database_url=args.database_url,
                tls_cert=args.tls_cert,
                tls_key=args.tls_key,
                insecure_http=args.insecure_http,
                workers=args.workers,
                redis_url=args.redis_url,
                node_url=args.node_url,
            )
        except SettingsError as exc:
            print(f"lingkar: configuration error: {exc}", file=sys.stderr)
            return 2
        try:
            asyncio.run(_serve(settings))
        except KeyboardInterrupt:
            pass
        except (OSError, SettingsError, MigrationError, CannotStart) as exc:
            print(f"lingkar: cannot start: {exc}", file=sys.stderr)
            return 1
        return 0
    parser.error(f"unknown command {args.command!r}")


if __name__ == "__main__":
    sys.exit(main())
