"""The bytes the server holds per participant, and where (issue 15).

The server runs in this process, as ``lingkar serve`` builds it (migrated by its child process,
self-signed TLS, SQLite), with ``tracemalloc`` on; a counselor and ``--members`` members, each
an aiortc peer in a process of its own with pre-encoded media (bench/crowd.py, bench/replay.py),
enter one session, cameras on, pages saying how many cameras they show (laptop 9, phone 4).
Python's allocations are compared between the idle server and the full room after
``--settle`` seconds, by the file that allocated them, and divided by the people in the room.

    .venv/bin/python -m bench.participant_memory [--members 7] [--settle 20]

tracemalloc sees Python's allocations (objects, bytes, buffers made through Python's
allocator), not what C libraries allocate on their own (libsrtp's and OpenSSL's contexts): the
RSS change is printed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import tracemalloc
from collections import Counter
from pathlib import Path

import aiohttp
import psutil
from aiohttp import web

from bench.crowd import Crowd, Http, Spec, counselor_session, sample
from server.app import create_app
from server.db.database import MIGRATED, migrate_in_child
from server.platform.settings import Settings
from server.platform.startup import bound_port, tls_context
from tests import serverproc

PASSWORD = "kata sandi memori panjang"
COUNSELOR = "Bu Memori"
# Which part of the code allocated the bytes (by the allocating file's path).
PARTS = (
    ("rtc/leg.py, rtc/vp8.py: forwarded packets kept for NACKs", ("rtc/leg.py", "rtc/vp8.py")),
    ("rtc/: the core's other state", ("/rtc/",)),
    ("aiortc: RTP parse (packets, extensions)", ("aiortc/rtp.py",)),
    ("aiortc: peer connections, transceivers", ("aiortc/",)),
    ("aioice: ICE", ("aioice/",)),
    ("pylibsrtp, cryptography, OpenSSL (Python side)", ("pylibsrtp", "cryptography", "OpenSSL")),
    ("server/: sessions, live state", ("/server/",)),
    ("asyncio", ("asyncio/",)),
    ("aiohttp", ("aiohttp/",)),
)


def rss_mb() -> float:
    return sample(psutil.Process())[0]


def part_of(filename: str) -> str:
    for part, needles in PARTS:
        if any(needle in filename for needle in needles):
            return part
    return "other"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=7)
    parser.add_argument("--settle", type=float, default=20)
    args = parser.parse_args()
    tracemalloc.start()
    data_dir = Path(tempfile.mkdtemp(prefix="lingkar-participant-memory-"))
    settings = Settings(data_dir=data_dir, host="127.0.0.1", port=0)
    context, _, _ = tls_context(settings, [])
    await migrate_in_child(settings)
    app = create_app(settings)
    app[MIGRATED] = True
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    base = f"https://localhost:{bound_port(site, 0)}"
    loop = asyncio.get_running_loop()
    crowd = Crowd()
    try:
        await loop.run_in_executor(
            None, serverproc.add_counselor, data_dir, "memori", COUNSELOR, PASSWORD
        )
        async with aiohttp.ClientSession() as session:
            code = await counselor_session(Http(base, session), "memori", PASSWORD, "Memori")
        await asyncio.sleep(2)
        gc.collect()
        idle, idle_rss = tracemalloc.take_snapshot(), rss_mb()
        names = [f"Siswa {i + 1}" for i in range(args.members)]
        counselor = Spec(base, code, COUNSELOR, ("memori", PASSWORD), max_videos=9, replay=True)
        members = [
            Spec(base, code, n, speaks=i < 2, max_videos=4, replay=True)
            for i, n in enumerate(names)
        ]
        await loop.run_in_executor(None, crowd.fill, counselor, members)
        await asyncio.sleep(args.settle)
        gc.collect()
        full, full_rss = tracemalloc.take_snapshot(), rss_mb()
    finally:
        await loop.run_in_executor(None, crowd.stop)
        await runner.cleanup()
    people = args.members + 1
    parts: Counter[str] = Counter()
    files: Counter[str] = Counter()
    for stat in full.compare_to(idle, "filename"):
        filename = stat.traceback[0].filename
        parts[part_of(filename)] += stat.size_diff
        files[filename] += stat.size_diff
    total = sum(parts.values())
    print(f"people={people} rss_idle_mb={idle_rss:.1f} rss_full_mb={full_rss:.1f}")
    print("| part | KB per person | share |\n|---|---|---|")
    for part, size in parts.most_common():
        print(f"| {part} | {size / people / 1024:.1f} | {100 * size / total:.0f} % |")
    print(f"| all Python allocations | {total / people / 1024:.1f} | 100 % |")
    print(f"| RSS | {(full_rss - idle_rss) * 1024 / people:.1f} | |")
    print("\nfiles that allocated most (KB per person):")
    for filename, size in files.most_common(12):
        print(f"  {size / people / 1024:8.1f}  {filename}")


if __name__ == "__main__":
    asyncio.run(main())
