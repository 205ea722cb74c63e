"""Soak: join/leave cycles against one session of a real ``lingkar serve`` (issue 14).

A counselor leads one session; then, ``--cycles`` times, a member (an aiortc client with a
microphone tone and the control channel) joins, connects, is admitted, is heard by the
counselor, and leaves. The server process's RSS, open file descriptors and threads, and the
participants /metrics counts, are sampled at the start (after ``--warmup`` cycles, which let
caches and pools fill) and at the end. Nothing here is timed against a target; the figures go
to docs/reliability.md.

    .venv/bin/python -m bench.soak [--cycles 1000] [--warmup 20]

The last line is:
    cycles=<n> rss_start_mb=<f> rss_end_mb=<f> rss_change_pct=<f> fds_start=<n> fds_end=<n>
    threads_start=<n> threads_end=<n> members_left=<n> seconds=<f>
(on one line).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil

from bench.crowd import Http, counselor_session, participants_in, sample
from tests import serverproc
from tests.live.client import LiveClient

PASSWORD = "kata sandi soak panjang"


async def one_cycle(base: str, code: str, leader: LiveClient, index: int) -> None:
    async with aiohttp.ClientSession() as session:
        member = LiveClient(Http(base, session), code, f"Siswa {index}")  # type: ignore[arg-type]
        try:
            status, reply = await member.join()
            assert status == 200, reply
            await member.connect()
            leader.send({"type": "admit", "participant": member.id})
            await member.wait_message("status", lambda m: m["status"] == "admitted")
            member.send({"type": "microphone", "on": True})  # members enter muted

            async def heard() -> bool:
                return await leader.packets_from(member.id, "audio") > 10

            deadline = time.monotonic() + 15
            while not await heard():
                if time.monotonic() > deadline:
                    raise AssertionError(f"cycle {index}: the member was never heard")
                await asyncio.sleep(0.1)
            member.send({"type": "leave"})
            await asyncio.sleep(0.1)
        finally:
            await member.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--every", type=int, default=100, help="sample every N cycles")
    # One address may join a session 60 times a minute (server/platform/limits.py).
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between cycles")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="lingkar-soak-"))
    server = serverproc.start_server(data_dir, "--workers", "1")  # one process: its memory
    try:
        serverproc.add_counselor(data_dir, "soak", "Bu Soak", PASSWORD)
        process = psutil.Process(server.process.pid)
        async with aiohttp.ClientSession() as session:
            http = Http(server.base_url, session)
            code = await counselor_session(http, "soak", PASSWORD, "Soak")
            leader = LiveClient(http, code, "Bu Soak")  # type: ignore[arg-type]
            await leader.lead()
            await leader.connect()
            started = time.monotonic()
            for index in range(args.warmup):
                await one_cycle(server.base_url, code, leader, index)
                await asyncio.sleep(args.pause)
            await asyncio.sleep(2)
            rss0, fds0, threads0 = sample(process)
            for index in range(args.warmup, args.warmup + args.cycles):
                await one_cycle(server.base_url, code, leader, index)
                await asyncio.sleep(args.pause)
                if index % args.every == 0:
                    rss, fds, threads = sample(process)
                    lines = len(leader.rtc.pc.getTransceivers())
                    print(
                        f"cycle {index}: rss {rss:.1f} MB, fds {fds}, threads {threads}, "
                        f"the counselor's m-lines {lines}",
                        flush=True,
                    )
            await asyncio.sleep(5)  # the last departures settle
            rss1, fds1, threads1 = sample(process)
            left = await participants_in(http) - 1  # the counselor stays
            seconds = time.monotonic() - started
            await leader.close()
        print(
            f"cycles={args.cycles} rss_start_mb={rss0:.1f} rss_end_mb={rss1:.1f} "
            f"rss_change_pct={100 * (rss1 - rss0) / rss0:.1f} fds_start={fds0} fds_end={fds1} "
            f"threads_start={threads0} threads_end={threads1} members_left={left} "
            f"seconds={seconds:.0f}"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
