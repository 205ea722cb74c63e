"""A school's afternoon: N guidance sessions of M people at once, against a real ``lingkar serve
--workers W`` (issue 16).

Every person is a real ICE, DTLS-SRTP and SCTP peer of the server (aiortc, bench/crowd.py) with
cheap media, so that the clients cost about what the server does rather than several times it:
publishers send pre-encoded VP8 and Opus through one pacer per process (bench/rtp_replay.py, no
encoder, no aiortc sender loop), subscribers count whole frames from the RTP headers
(bench/header_counting.py, nothing decoded), and a session's people share one process
(``--per-process``). ``--aiortc-receivers`` gives the first version's clients instead (a full
aiortc peer a process). The counselor is on a laptop (9 videos shown), members on phones (4:
last-N), all admitted, cameras on, two members speaking.

``--settle`` seconds after the last session is up, the bench measures for ``--seconds``:

- sessions held: a session is held when every person received at least 90 % of the source's
  frame rate (``--fps``) from every video their page shows (the counselor: every member up to
  9; a member: 4 of the others); ``slowest_fps`` is the slowest of those videos;
- the server's CPU: the supervisor's and its workers' CPU time over the window (psutil), per
  session, in % of one core; the clients' is read from their processes apart;
- packets per second per worker: forwarded packets (``/metrics``, every worker's) over the
  window, divided by the workers.

On this 2-core machine the clients share the cores with the server. ``--worker-cpu 0.35`` (root)
puts each worker (or the single process) in a CPU cgroup of its own capped at that share of a
core (bench/cpu_cap.py): a model of one core per worker that leaves the clients the rest;
``throttled_pct`` is the share of the window a worker waited for its quota.

    .venv/bin/python -m bench.school --sessions 10 --workers 2 --fps 25 --settle 20 [--verbose]

The last line is:
    workers=<w> sessions=<n> people=<n> held=<n> server_cpu_pct=<f> cpu_pct_per_session=<f>
    packets_per_s_per_worker=<f> clients_cpu_pct=<f> worker_cpu=<f> throttled_pct=<f>
    fps=<n> slowest_fps=<f>
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil

from bench.cpu_cap import CpuCaps
from bench.crowd import LAPTOP_VIDEOS, PHONE_VIDEOS, VIDEO_FPS, Crowd, room_specs
from server.accounts.counselors import create_counselor
from server.db.database import open_database
from server.platform.settings import Settings
from server.sessions.store import create_session
from tests import serverproc
from tests.deploy.coturn import free_listening_port

PASSWORD = "kata sandi sekolah panjang"
HELD_SHARE = 0.9  # of the source's frame rate, from every video a page shows


async def _sessions(data_dir: Path, count: int) -> list[str]:
    db = await open_database(Settings(data_dir=data_dir))
    try:
        counselor = await create_counselor(db, "sekolah", PASSWORD, "Bu Guru")
        made = [
            await create_session(db, counselor.id, title=f"Kelompok {i + 1}", template="online")
            for i in range(count)
        ]
        return [m.code for m in made]
    finally:
        await db.dispose()


def _cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (user and system) of these processes so far; a gone one counts nothing."""
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _server_pids(server: serverproc.ServerProcess) -> list[int]:
    """The supervisor and its workers."""
    main = psutil.Process(server.process.pid)
    return [main.pid, *(child.pid for child in main.children(recursive=True))]


async def _forwarded(base: str) -> float:
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session,
        session.get(f"{base}/metrics") as answer,
    ):
        text = await answer.text()
    found = re.findall(r"^lingkar_packets_forwarded_total(?:\{[^}]*\})? (\S+)$", text, re.M)
    return sum(float(x) for x in found)


def _held(
    rooms: list[tuple[str, list[str]]],
    ids: dict[str, str],
    before: dict[str, tuple],
    after: dict[str, tuple],
    seconds: float,
    fps: int,
    verbose: bool = False,
) -> tuple[int, float]:
    """Sessions where every person got >= HELD_SHARE of the frame rate from every video their
    page shows (the best-served ones: last-N picks which); and the slowest such video's rate."""
    held = 0
    slowest = float("inf")
    for counselor, members in rooms:
        people = [counselor, *members]
        ok = True
        worst = (float("inf"), "")
        for viewer in people:
            shows = LAPTOP_VIDEOS if viewer == counselor else PHONE_VIDEOS
            publishers = [ids[p] for p in people if p != viewer]
            every = [
                (after[viewer][0].get(pid, 0) - before[viewer][0].get(pid, 0)) / seconds
                for pid in publishers
            ]
            rates = sorted(every, reverse=True)[: min(shows, len(publishers))]
            if verbose:
                print(f"    {viewer}: {' '.join(f'{r:.0f}' for r in every)}")
            if not rates or min(rates) < HELD_SHARE * fps:
                ok = False
            worst = min(worst, (min(rates, default=0.0), viewer))
        print(
            f"  {counselor}: {'held' if ok else 'NOT held'}, slowest video {worst[0]:.1f} fps"
            f" (at {worst[1]})",
            flush=True,
        )
        held += ok
        slowest = min(slowest, worst[0])
    return held, slowest


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=2)
    parser.add_argument("--members", type=int, default=7, help="besides the counselor")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--worker-cpu",
        type=float,
        default=0.0,
        help="cap each worker (the server, with --workers 1) at this share of a core by a "
        "cgroup: a core stood for while the clients use the rest (root only)",
    )
    parser.add_argument(
        "--settle", type=float, default=8.0, help="seconds after the last session is up"
    )
    parser.add_argument("--fps", type=int, default=VIDEO_FPS, help="the cameras' frame rate")
    parser.add_argument("--verbose", action="store_true", help="every viewer's frame rates")
    parser.add_argument(
        "--per-process",
        type=int,
        default=0,
        help="people in one client process (default: a session's; 1 with --aiortc-receivers)",
    )
    parser.add_argument(
        "--aiortc-receivers",
        action="store_true",
        help="receive through aiortc's receivers instead of counting frames from the headers",
    )
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="lingkar-school-"))
    codes = await _sessions(data_dir, args.sessions)
    port = str(free_listening_port())
    caps = CpuCaps(args.worker_cpu) if args.worker_cpu else None
    server = serverproc.start_server(data_dir, "--port", port, "--workers", str(args.workers))
    if caps is not None:
        workers = _server_pids(server)[1:] if args.workers > 1 else [server.process.pid]
        for pid in workers:
            caps.cap(pid)
    per_process = args.per_process or (1 if args.aiortc_receivers else args.members + 1)
    crowd = Crowd(per_process)
    try:
        base = server.base_url
        rooms: list[tuple[str, list[str]]] = []
        for s, code in enumerate(codes):
            counselor = f"Guru {s + 1}"
            names = [f"Siswa {s + 1}.{i + 1}" for i in range(args.members)]
            lead, members = room_specs(
                base,
                code,
                counselor,
                ("sekolah", PASSWORD),
                names,
                2,
                replay=True,
                lean_media=not args.aiortc_receivers,
                fps=args.fps,
            )
            crowd.fill(lead, members)
            rooms.append((counselor, names))
            print(f"session {s + 1} of {len(codes)} up {time.strftime('%X')}", flush=True)
        await asyncio.sleep(args.settle)  # estimates grow, last-N picks, keyframes arrive
        clients = [process.pid for process in crowd.processes]
        before = crowd.marks()
        cpu0 = _cpu_seconds(_server_pids(server))
        clients0 = _cpu_seconds(clients)
        sent0 = await _forwarded(base)
        throttled0 = caps.throttled_s() if caps is not None else 0.0
        start = time.monotonic()
        await asyncio.sleep(args.seconds)
        after = crowd.marks()
        cpu1 = _cpu_seconds(_server_pids(server))
        clients1 = _cpu_seconds(clients)
        sent1 = await _forwarded(base)
        seconds = time.monotonic() - start
        throttled = (caps.throttled_s() if caps is not None else 0.0) - throttled0
        held, slowest = _held(rooms, crowd.ids, before, after, seconds, args.fps, args.verbose)
        if args.verbose:
            crowd.poll()
            for at, who, state in crowd.states:
                print(f"  {at - start:+.1f} s {who}: {state}")
        server_pct = 100 * (cpu1 - cpu0) / seconds
        clients_pct = 100 * (clients1 - clients0) / seconds
        rate = (sent1 - sent0) / seconds / args.workers
        people = args.sessions * (args.members + 1)
        print(
            f"workers={args.workers} sessions={args.sessions} people={people} held={held} "
            f"server_cpu_pct={server_pct:.1f} "
            f"cpu_pct_per_session={server_pct / args.sessions:.1f} "
            f"packets_per_s_per_worker={rate:.0f} clients_cpu_pct={clients_pct:.1f} "
            f"worker_cpu={args.worker_cpu:g} "
            f"throttled_pct={100 * throttled / seconds / args.workers:.1f} "
            f"fps={args.fps} slowest_fps={slowest:.1f}"
        )
    except BaseException:
        print("".join(server.output[-30:]), file=sys.stderr)
        raise
    finally:
        crowd.stop()
        server.stop()
        if caps is not None:
            caps.remove()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
