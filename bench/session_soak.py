"""Soak: one 1+N session with cameras and microphones on, for a long time (issue 14).

A real ``lingkar serve`` (SQLite, self-signed TLS); a counselor and ``--members`` members, each an
aiortc peer in a process of its own with a small synthetic camera (bench/crowd.py) and a tone,
all admitted, cameras on; the counselor and ``--speakers`` members speak, the others keep the
microphone off as members enter. Nothing else happens: the session runs for ``--minutes``.
Every ``--every`` seconds a line reports:

- the server process's RSS, open descriptors and threads;
- video frames per second for the pairs every page shows (the counselor's laptop shows every
  member, each member's phone the counselor: pages say how many cameras they show, as the web
  client does): the lowest and the median;
- audio packets per second each speaking member brings the counselor: the lowest;
- the delay the path adds to video (a publisher's RTP send to the counselor's RTP receive,
  matched by payload bytes, on the machine's one monotonic clock): median and 95th percentile.

The last line compares the first and the last ``--compare`` windows:

    windows=<n> rss_first_mb=<f> rss_last_mb=<f> rss_change_pct=<f> fps_min_first=<f>
    fps_min_last=<f> fps_median_first=<f> fps_median_last=<f> delay_p50_first_ms=<f>
    delay_p50_last_ms=<f> delay_p95_first_ms=<f> delay_p95_last_ms=<f> fds_first=<n>
    fds_last=<n> participants=<n>

Bounded and on demand (not in CI): the figures go to docs/reliability.md.

    .venv/bin/python -m bench.session_soak [--minutes 120] [--members 7] [--every 60] [--replay]

``--replay``: the people send pre-encoded media and decode no audio (bench/replay.py); the
server's work is the same, the peers' much smaller.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil

from bench.crowd import (
    Crowd,
    Http,
    counselor_session,
    matched_delays,
    merge_stamps,
    participants_in,
    room_specs,
    sample,
)
from tests import serverproc

PASSWORD = "kata sandi soak panjang"
COUNSELOR = "Bu Soak"


def pair_frames(marks: dict[str, tuple], ids: dict[str, str]) -> dict[tuple[str, str], int]:
    """(viewer, publisher) -> video frames so far, for the pairs every page shows: the
    counselor's laptop shows every member (up to 9), each member's phone the counselor (the
    members a phone shows besides follow who speaks: last-N, not a fixed pair)."""
    members = [n for n in marks if n != COUNSELOR]
    pairs = [(COUNSELOR, n) for n in members] + [(n, COUNSELOR) for n in members]
    return {
        (viewer, publisher): marks[viewer][0].get(ids[publisher], 0) for viewer, publisher in pairs
    }


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=120)
    parser.add_argument("--members", type=int, default=7)
    # A discussion: the counselor and a few members speak; the others' microphones stay off.
    parser.add_argument("--speakers", type=int, default=2, help="members with the microphone on")
    parser.add_argument("--every", type=float, default=60, help="seconds per reported window")
    parser.add_argument("--compare", type=int, default=10, help="windows compared at each end")
    parser.add_argument("--server-log", type=Path, help="write the server's output here")
    parser.add_argument(
        "--replay",
        action="store_true",
        help="pre-encoded media, no encoders or audio decoders in the people (bench/replay.py)",
    )
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="lingkar-session-soak-"))
    server = serverproc.start_server(data_dir, "--workers", "1")  # one process: its memory
    crowd = Crowd()
    try:
        serverproc.add_counselor(data_dir, "soak", COUNSELOR, PASSWORD)
        process = psutil.Process(server.process.pid)
        async with aiohttp.ClientSession() as session:
            http = Http(server.base_url, session)
            code = await counselor_session(http, "soak", PASSWORD, "Soak 2 jam")
            base = server.base_url
            names = [f"Siswa {i + 1}" for i in range(args.members)]
            crowd.fill(
                *room_specs(
                    base,
                    code,
                    COUNSELOR,
                    ("soak", PASSWORD),
                    names,
                    args.speakers,
                    args.replay,
                    measures_delay=True,
                )
            )
            speakers = [crowd.ids[n] for n in names[: args.speakers]]
            started = time.monotonic()
            while True:
                marks = crowd.marks()
                if all(n >= 30 for n in pair_frames(marks, crowd.ids).values()):
                    break
                if time.monotonic() - started > 120:
                    short = {k: n for k, n in pair_frames(marks, crowd.ids).items() if n < 30}
                    crowd.send(COUNSELOR, "table")
                    print("ids:", crowd.ids, "\ncounselor's transceivers:", flush=True)
                    for row in crowd.take("table", 30, COUNSELOR)[2]:
                        print("  ", row, flush=True)
                    raise AssertionError(f"pairs short of 30 frames after 120 s: {short}")
                await asyncio.sleep(1)
            print(
                f"room of {len(marks)} up; every pair past 30 frames in "
                f"{time.monotonic() - started:.1f} s",
                flush=True,
            )
            rows: list[dict[str, float]] = []
            marks = crowd.marks()
            before = pair_frames(marks, crowd.ids)
            audio_before = marks[COUNSELOR][1]
            last = started = time.monotonic()
            while time.monotonic() - started < args.minutes * 60:
                await asyncio.sleep(args.every)
                marks = crowd.marks()
                now = time.monotonic()
                span, last = now - last, now
                frames = pair_frames(marks, crowd.ids)
                fps = sorted((frames[k] - before[k]) / span for k in frames)
                before = frames
                audio = marks[COUNSELOR][1]
                audio_min = min((audio.get(s, 0) - audio_before.get(s, 0)) / span for s in speakers)
                audio_before = audio
                if audio_min < 1:  # a speaker not heard: what the counselor's connection holds
                    crowd.send(COUNSELOR, "table")
                    print(f"  a speaker unheard; ids {crowd.ids}; the counselor's transceivers:")
                    for row in crowd.take("table", 30, COUNSELOR)[2]:
                        print("    ", row, flush=True)
                sent = merge_stamps([mark[2] for mark in marks.values()])
                delays = matched_delays(sent, marks[COUNSELOR][3])
                crowd.poll()
                for when, who, state in crowd.states:
                    if state in ("disconnected", "failed", "closed"):
                        print(f"  {who}: connection {state} at minute {(when - started) / 60:.1f}")
                crowd.states.clear()
                if args.server_log:
                    args.server_log.write_text("".join(server.output))
                rss, fds, threads = sample(process)
                row = {
                    "minute": (now - started) / 60,
                    "rss": rss,
                    "fds": fds,
                    "threads": threads,
                    "fps_min": fps[0],
                    "fps_median": statistics.median(fps),
                    "audio_min": audio_min,
                    "p50": percentile(delays, 0.5),
                    "p95": percentile(delays, 0.95),
                    "matched": len(delays),
                }
                rows.append(row)
                print(
                    f"{time.strftime('%H:%M:%S')} minute {row['minute']:.1f}: rss {rss:.1f} MB, "
                    f"fds {fds}, threads {threads}, "
                    f"video fps min {fps[0]:.1f} median {row['fps_median']:.1f}, audio "
                    f"packets/s min {audio_min:.1f}, delay p50 {row['p50']:.1f} ms p95 "
                    f"{row['p95']:.1f} ms ({len(delays)} packets)",
                    flush=True,
                )
            count = await participants_in(http)
        n = max(1, min(args.compare, len(rows) // 2))
        first, final = rows[:n], rows[-n:]

        def mean(part: list[dict[str, float]], key: str) -> float:
            return statistics.fmean(r[key] for r in part)

        rss0, rss1 = mean(first, "rss"), mean(final, "rss")
        print(
            f"windows={len(rows)} rss_first_mb={rss0:.1f} rss_last_mb={rss1:.1f} "
            f"rss_change_pct={100 * (rss1 - rss0) / rss0:.1f} "
            f"fps_min_first={min(r['fps_min'] for r in first):.1f} "
            f"fps_min_last={min(r['fps_min'] for r in final):.1f} "
            f"fps_median_first={mean(first, 'fps_median'):.1f} "
            f"fps_median_last={mean(final, 'fps_median'):.1f} "
            f"delay_p50_first_ms={mean(first, 'p50'):.1f} "
            f"delay_p50_last_ms={mean(final, 'p50'):.1f} "
            f"delay_p95_first_ms={mean(first, 'p95'):.1f} "
            f"delay_p95_last_ms={mean(final, 'p95'):.1f} "
            f"fds_first={first[0]['fds']:.0f} fds_last={final[-1]['fds']:.0f} participants={count}"
        )
    except BaseException:
        print("".join(server.output[-30:]), file=sys.stderr)
        raise
    finally:
        crowd.stop()
        server.stop()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
