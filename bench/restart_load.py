"""SIGTERM under load: a 1+N session with cameras on, the server stopped and started again
(issue 14); or, with ``--kill-worker``, two session workers and the one hosting the session
killed with SIGKILL (issue 16): nobody is told, each person notices a late ping as the web
client does, and the supervisor starts the worker again.

A real ``lingkar serve`` on a fixed port (SQLite, self-signed TLS); a counselor on a laptop and
``--members`` members on phones, each an aiortc peer in a process of its own (bench/crowd.py),
all admitted, cameras on, the counselor and ``--speakers`` members speaking. Each page says how
many cameras it shows, as the web client does (9 on a laptop, 4 on a phone: last-N). Once every
page receives its videos, the server gets SIGTERM, and a new one starts on the same port and
data directory. Every person comes back as the web client does: the counselor with ``lead``
(the login cookie), members with the rejoin token the ``restarting`` status carried, retried
until the counselor is back.

Reported: who was told (``restarting``), how long the old process took to exit, and, from the
moment the new one printed its address, when each person was in the room again and when the
videos flowed again (the counselor receiving every camera it shows, each member receiving the
counselor's).

    .venv/bin/python -m bench.restart_load [--members 15] [--speakers 2] [--replay] [--kill-worker]

``--replay`` gives every person pre-encoded media instead of encoders (bench/replay.py): 16
encoding aiortc peers and the server are more than this machine's two cores.

The last line is:
    people=<n> told=<n> exit_s=<f> start_s=<f> back_all_s=<f> media_all_s=<f>
(``exit_s``: SIGTERM to the old process's exit; ``start_s``: from then until the new one printed
its address; ``back_all_s`` and ``media_all_s``: from that moment until the last person was in
the room again, and until every page's videos flowed again. With ``--kill-worker``, ``told``
counts who noticed the death, and the times count from the kill.)
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil

from bench.crowd import LAPTOP_VIDEOS, Crowd, Http, counselor_session, room_specs
from server.workers.place import WORKER_VARIABLE
from server.workers.routing import spread
from tests import serverproc
from tests.deploy.coturn import free_listening_port

PASSWORD = "kata sandi restart panjang"
COUNSELOR = "Bu Restart"
FRAMES = 10  # new frames that count as "the video flows again"


def shortfall(
    marks: dict[str, tuple], ids: dict[str, str], since: dict[str, dict[str, int]]
) -> list[str]:
    """What is still missing: the counselor short of the cameras its page shows, members not
    receiving the counselor's camera (FRAMES new frames, counted from ``since``)."""
    counselor = ids[COUNSELOR]

    def new(viewer: str, publisher: str) -> int:
        return marks[viewer][0].get(publisher, 0) - since[viewer].get(publisher, 0)

    members = [n for n in marks if n != COUNSELOR]
    shown = sum(new(COUNSELOR, ids[n]) >= FRAMES for n in members)
    missing = []
    if shown < min(LAPTOP_VIDEOS, len(members)):
        missing.append(f"the counselor receives {shown} cameras")
    missing += [f"{n} lacks the counselor" for n in members if new(n, counselor) < FRAMES]
    return missing


def receiving(
    marks: dict[str, tuple], ids: dict[str, str], since: dict[str, dict[str, int]]
) -> bool:
    return not shortfall(marks, ids, since)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=15)
    parser.add_argument("--speakers", type=int, default=2)
    parser.add_argument(
        "--replay",
        action="store_true",
        help="pre-encoded media, no encoders (bench/replay.py): how 1+15 fits on two cores",
    )
    parser.add_argument(
        "--kill-worker",
        action="store_true",
        help="two session workers; SIGKILL the one hosting the session instead of SIGTERM",
    )
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="lingkar-restart-load-"))
    port = str(free_listening_port())
    workers = ("--workers", "2" if args.kill_worker else "1")
    servers = [serverproc.start_server(data_dir, "--port", port, *workers)]
    crowd = Crowd()
    try:
        serverproc.add_counselor(data_dir, "restart", COUNSELOR, PASSWORD)
        base = servers[0].base_url
        async with aiohttp.ClientSession() as session:
            code = await counselor_session(Http(base, session), "restart", PASSWORD, "Restart")
        names = [f"Siswa {i + 1}" for i in range(args.members)]
        crowd.fill(
            *room_specs(
                base, code, COUNSELOR, ("restart", PASSWORD), names, args.speakers, args.replay
            )
        )
        zero: dict[str, dict[str, int]] = {n: {} for n in [COUNSELOR, *names]}
        started = time.monotonic()
        while not receiving(crowd.marks(), crowd.ids, zero):
            if time.monotonic() - started > 120:
                missing = shortfall(crowd.marks(), crowd.ids, zero)
                raise AssertionError(f"the room's videos did not all flow within 120 s: {missing}")
            await asyncio.sleep(1)
        print(f"room of {len(names) + 1} up in {time.monotonic() - started:.1f} s", flush=True)
        await asyncio.sleep(5)
        before = crowd.marks()
        since = {n: dict(m[0]) for n, m in before.items()}
        old_ids = dict(crowd.ids)

        term = time.monotonic()
        if args.kill_worker:
            # One session on two empty workers: it went where its code spreads.
            host = kill_worker(servers[0], spread(code, 2))
            exited = up = time.monotonic()
            print(f"SIGKILL to session worker {host}", flush=True)
        else:
            code_exit = servers[0].stop()  # SIGTERM; waits for the exit
            exited = time.monotonic()
            servers.append(serverproc.start_server(data_dir, "--port", port, *workers))
            up = time.monotonic()
            print(
                f"SIGTERM: exit code {code_exit} after {exited - term:.1f} s; the new server "
                f"printed its address {up - exited:.1f} s later",
                flush=True,
            )
        media_at = None
        while time.monotonic() - up < 120:
            crowd.poll()
            # Back: entered again (members keep their participant id: a restored session).
            back = [n for n in old_ids if crowd.entered_at[n] > term]
            if len(back) == len(old_ids) and receiving(crowd.marks(), crowd.ids, since):
                media_at = time.monotonic()
                break
            await asyncio.sleep(0.5)
        crowd.poll()
        told = [n for n in crowd.told_at if crowd.told_at[n] >= term - 1]
        if args.kill_worker:  # nobody is told: each notices by a late ping
            told = [n for n in crowd.lost_at if crowd.lost_at[n] >= term]
        back_after_up = {n: crowd.entered_at[n] - up for n in old_ids if crowd.entered_at[n] > term}
        for name in [COUNSELOR, *names]:
            where = (
                f"back {back_after_up[name]:.1f} s after" if name in back_after_up else "NOT back"
            )
            print(f"{name}: told {'yes' if name in told else 'NO'}, {where}", flush=True)
        media_s = f"{media_at - up:.1f}" if media_at else "nan"
        print(
            f"people={len(old_ids)} told={len(told)} exit_s={exited - term:.1f} "
            f"start_s={up - exited:.1f} "
            f"back_all_s={max(back_after_up.values(), default=float('nan')):.1f} "
            f"media_all_s={media_s}"
        )
    except BaseException:
        for server in servers:
            print("".join(server.output[-30:]), file=sys.stderr)
        raise
    finally:
        crowd.stop()
        for server in servers:
            server.stop()


def kill_worker(server: serverproc.ServerProcess, index: int) -> int:
    """SIGKILL the supervisor's session worker ``index``."""
    for child in psutil.Process(server.process.pid).children():
        if child.environ().get(WORKER_VARIABLE, "").startswith(f"{index}/"):
            child.send_signal(signal.SIGKILL)
            return index
    raise AssertionError(f"no session worker {index}")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
