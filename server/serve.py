"""Running the application: TLS, the listening socket, the start-up banner, a clean stop."""

from __future__ import annotations

import asyncio
import signal

from aiohttp import web

from rtc import self_test_in_child
from server.accounts.counselors import count_counselors
from server.app import create_app
from server.db.database import DATABASE, MIGRATED, migrate_in_child
from server.platform.addresses import lan_ipv4_addresses
from server.platform.notes_key import load_or_create_notes_key
from server.platform.settings import Settings
from server.platform.startup import banner, bound_port, tls_context


async def run_server(settings: Settings) -> None:
    # The forwarding core relies on private aiortc internals: push a few frames through its
    # hooks on loopback before serving anyone, and refuse to start if they no longer work (in a
    # child process: the encoders it drives would leave their memory in the server's).
    await self_test_in_child()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Made on the first start, so a backup of the data directory holds it from day one.
    load_or_create_notes_key(settings)
    lan_ips = lan_ipv4_addresses()
    context, cert, created = tls_context(settings, lan_ips)
    # In a child process: the server itself never loads Alembic (server/db/schema_migrations.py).
    await migrate_in_child(settings)
    app = create_app(settings)
    app[MIGRATED] = True
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, ssl_context=context)
    await site.start()
    port = bound_port(site, settings.port)
    has_counselors = await count_counselors(app[DATABASE]) > 0
    print(banner(settings, port, lan_ips, cert, created, has_counselors=has_counselors), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
