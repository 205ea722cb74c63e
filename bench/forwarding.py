"""Benchmark: aiortc MediaRelay (decode + one encode per subscriber) vs the rtc/ forwarding core.

One run, same synthetic publisher (640x480 30 fps VP8 at 1 Mbit/s plus an Opus tone; its
encoder ignores the server's REMB unless --publisher-follows-remb), K = 1, 4, 8, 16
subscribers. The server, the publisher and the subscribers run in separate processes (the
subscribers spread over up to 4 processes). Measured over a fixed window after every subscriber
decodes: the server process's CPU time (all its threads), the RTP packets it sent, and each
subscriber's decoded video frame rate. For the core, also the delay added between publisher and
subscriber (publisher's RTP send to subscriber's RTP receive, matched by payload bytes).

    python -m bench.forwarding [--window 10] [--ks 1,4,8,16]

The last line is:
    us_per_forwarded_packet=<float> ratio_vs_relay_k8=<float> fps_min_k16=<float>
    us_per_incoming_packet_k1=<float> rss_mb_idle=<float>
(on one line): server CPU per packet the core received from the publisher at K=1, and the RSS
of a fresh ``lingkar serve`` before any session (read after the trials; ``--no-idle-rss``
leaves it out).

Environment: ``BENCH_SPY=/tmp/prefix`` samples the server with py-spy over the window
(bench/profile_breakdown.py reads the result); ``BENCH_LOOP=uvloop`` runs the server on
uvloop (a trial: uvloop is not one of the project's dependencies; install it in the venv).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import platform
import queue
import statistics
import subprocess
import sys
import time
from typing import Any

from aiortc.rtp import RTCP_PSFB_APP

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SUBSCRIBER_PROCESSES = 4
READY_TIMEOUT_S = float(os.environ.get("BENCH_READY_TIMEOUT", "90"))
PUBLISHER_BITRATE = 1_000_000
# The idle RSS is read this long after the server printed its address (as in docs/performance.md).
IDLE_SETTLE_S = 6.0


def _key(payload: bytes) -> bytes:
    return bytes(payload[-24:]) + len(payload).to_bytes(2, "big")


def _stamp(table: dict[bytes, float], key: bytes, now: float) -> None:
    # A payload seen twice (a steady tone can repeat Opus frames) cannot be matched: drop it.
    table[key] = -1.0 if key in table else now


async def _get(q: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, q.get)


# ---------------------------------------------------------------- server


def server_main(mode: str, inbox: Any, outboxes: dict[str, Any], results: Any) -> None:
    profile_to = os.environ.get("BENCH_PROFILE")  # e.g. /tmp/server.prof: where CPU goes
    pid_file = os.environ.get("BENCH_SERVER_PID")  # for `perf record -p` (native code, kernel)
    if pid_file:
        with open(pid_file, "w") as f:
            f.write(str(os.getpid()))
    if os.environ.get("BENCH_LOOP") == "uvloop":  # a trial of uvloop's event loop (issue 15)
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    if not profile_to:
        asyncio.run(_server(mode, inbox, outboxes, results))
        return
    import cProfile

    # CPU time, not wall time: a sendto that wakes a subscriber process may be preempted by it.
    with cProfile.Profile(time.process_time) as profiler:
        asyncio.run(_server(mode, inbox, outboxes, results))
    profiler.dump_stats(f"{profile_to}.{mode}")


async def _server(mode: str, inbox: Any, outboxes: dict[str, Any], results: Any) -> None:
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc.contrib.media import MediaRelay

    from rtc import NegotiationError, Room, TrackId

    tasks: set[asyncio.Task[None]] = set()
    room = Room()
    relay = MediaRelay()
    relay_sources: dict[str, Any] = {}
    relay_pcs: list[Any] = []

    def spawn(coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    offering: set[str] = set()

    async def negotiate(peer: Any) -> None:
        # One offer at a time per peer, as the server's control channel does.
        if peer.id in offering or not peer.negotiation_needed:
            return
        offering.add(peer.id)
        try:
            offer = await peer.create_offer()
        except NegotiationError:
            return  # closing down
        outboxes[peer.id].put(("offer", peer.id, offer))

    def packets_sent() -> int:
        if mode == "core":
            c = room.counters
            return c.packets_forwarded + c.retransmissions
        return sum(
            s._RTCRtpSender__packet_count for pc in relay_pcs for s in pc.getSenders() if s.track
        )

    async def handle(msg: Any) -> None:
        kind = msg[0]
        if kind == "offer":
            _, pid, sdp = msg
            if mode == "core":
                peer = room.add_peer(pid)
                peer.on_negotiation_needed = lambda p=peer: spawn(negotiate(p))
                answer = await peer.accept_offer(sdp)
            else:
                pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
                relay_pcs.append(pc)
                if pid == "pub":
                    pc.on("track", lambda t: relay_sources.__setitem__(t.kind, t))
                await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
                if pid != "pub":
                    while len(relay_sources) < 2:  # noqa: ASYNC110
                        await asyncio.sleep(0.05)
                    for k in ("audio", "video"):
                        pc.addTrack(relay.subscribe(relay_sources[k]))
                await pc.setLocalDescription(await pc.createAnswer())
                answer = pc.localDescription.sdp
            outboxes[pid].put(("answer", pid, answer))
        elif kind == "answer":
            _, pid, sdp = msg
            await room.peer(pid).accept_answer(sdp)
            offering.discard(pid)
        elif kind == "subscribe":
            _, pid = msg
            while len(room.tracks) < 2:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            room.subscribe(pid, TrackId("pub", "audio"))
            room.subscribe(pid, TrackId("pub", "video"))

    while True:
        msg = await _get(inbox)
        kind = msg[0]
        if kind in ("offer", "answer", "subscribe"):
            # Each in its own task: a subscriber may wait for the publisher's tracks.
            spawn(handle(msg))
        elif kind == "mark":
            results.put(
                (
                    "server",
                    time.process_time(),
                    packets_sent(),
                    room.counters,
                    room.forwarding_delay(),
                )
            )
        elif kind == "stop":
            break
    for pc in relay_pcs:
        await pc.close()
    await room.close()


# ---------------------------------------------------------------- publisher


def publisher_main(server: Any, inbox: Any, results: Any, follow_remb: bool) -> None:
    asyncio.run(_publisher(server, inbox, results, follow_remb))


def _ignore_remb(sender: Any) -> None:
    """Keep the encoder at the bench's bitrate: the server's REMB would move it (up to aiortc's
    1.5 Mbit/s cap, plus keyframes) differently from run to run and between relay and core."""
    original = sender._handle_rtcp_packet

    async def handle(packet: Any) -> None:
        if type(packet).__name__ == "RtcpPsfbPacket" and packet.fmt == RTCP_PSFB_APP:
            return
        await original(packet)

    sender._handle_rtcp_packet = handle


async def _publisher(server: Any, inbox: Any, results: Any, follow_remb: bool) -> None:
    from tests.rtc.clients import Client, PatternTrack, ToneTrack

    client = Client("pub", audio=ToneTrack(), video=PatternTrack(640, 480))
    if not follow_remb:
        for sender in client.pc.getSenders():
            _ignore_remb(sender)
    sent: dict[str, dict[bytes, float]] = {"audio": {}, "video": {}}
    server.put(("offer", "pub", await client.make_offer()))
    _, _, answer = await _get(inbox)
    await client.accept_answer(answer)
    for transceiver in client.pc.getTransceivers():
        transport = transceiver.sender.transport
        if getattr(transport, "_bench_hooked", False):
            continue
        transport._bench_hooked = True
        original = transport._send_rtp

        async def send_rtp(data: bytes, original: Any = original) -> None:
            if 128 <= data[0] < 192 and not 192 <= data[1] <= 223:  # RTP, not RTCP
                kind = "audio" if data[1] & 0x7F == 96 else "video"
                start = 12 + 4 * (data[0] & 0x0F)
                if data[0] & 0x10:
                    start += 4 + 4 * int.from_bytes(data[start + 2 : start + 4], "big")
                _stamp(sent[kind], _key(data[start:]), time.monotonic())
            await original(data)

        transport._send_rtp = send_rtp
    stop = asyncio.Event()

    async def pin_bitrate() -> None:
        while not stop.is_set():
            for sender in client.pc.getSenders():
                encoder = getattr(sender, "_RTCRtpSender__encoder", None)
                if encoder is not None and hasattr(encoder, "target_bitrate"):
                    encoder.target_bitrate = PUBLISHER_BITRATE
            await asyncio.sleep(0.5)

    pinning = asyncio.ensure_future(pin_bitrate())
    await _get(inbox)  # stop
    stop.set()
    await pinning
    results.put(("sent", sent))
    await client.close()


# ---------------------------------------------------------------- subscribers


def subscribers_main(
    mode: str, names: list[str], server: Any, inbox: Any, results: Any, decode: bool
) -> None:
    asyncio.run(_subscribers(mode, names, server, inbox, results, decode))


class _FrameCountingQueue(queue.Queue[Any]):
    """Replaces a subscriber receiver's decoder input: counts complete encoded frames.

    16 aiortc subscribers decoding 640x480 VP8 (plus the publisher encoding it) saturate a
    2-core box by themselves; without --decode the subscribers count the frames their jitter
    buffer completes instead (decodability is what tests/rtc checks).
    """

    def __init__(self) -> None:
        super().__init__()
        self.frames = 0

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:
            super().put(item, block, timeout)
        else:
            self.frames += 1


async def _subscribers(
    mode: str, names: list[str], server: Any, inbox: Any, results: Any, decode: bool
) -> None:
    from tests.rtc.clients import Client

    counting: dict[str, dict[str, _FrameCountingQueue]] = {name: {} for name in names}

    class CountingClient(Client):
        def _on_track(self, track: Any) -> None:
            super()._on_track(track)
            if not decode and track.kind == "video":
                receiver = self.receiver_for(track.id)
                q = _FrameCountingQueue()
                receiver._RTCRtpReceiver__decoder_queue = q
                counting[self.name][track.id] = q

    clients = {name: CountingClient(name) for name in names}
    arrivals: dict[str, dict[bytes, float]] = {"audio": {}, "video": {}}
    for name, client in clients.items():
        if mode == "relay":
            client.pc.addTransceiver("audio", direction="recvonly")
            client.pc.addTransceiver("video", direction="recvonly")
        server.put(("offer", name, await client.make_offer()))
        _, _, answer = await _get(inbox)
        await client.accept_answer(answer)
    recorder = clients[names[0]]

    def record(track_id: str) -> None:
        kind = "audio" if "audio" in track_id or track_id not in video_ids else "video"
        receiver = recorder.receiver_for(track_id)
        original = receiver._handle_rtp_packet

        async def handle(packet: Any, arrival_time_ms: int) -> None:
            _stamp(arrivals[kind], _key(packet.payload), time.monotonic())
            await original(packet, arrival_time_ms=arrival_time_ms)

        receiver._handle_rtp_packet = handle

    video_ids: set[str] = set()
    if mode == "core":
        for name in names:
            server.put(("subscribe", name))
        for _ in names:
            _, name, offer = await _get(inbox)
            server.put(("answer", name, await clients[name].answer(offer)))
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not all(len(c.tracks) >= 2 for c in clients.values()):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    for track_id, track in recorder.tracks.items():
        if track.kind == "video":
            video_ids.add(track_id)
    for track_id in list(recorder.tracks):
        record(track_id)

    def video_frames(client: Client) -> int:
        if not decode:
            return sum(q.frames for q in counting[client.name].values())
        return sum(n for tid, n in client.frames.items() if client.tracks[tid].kind == "video")

    while not all(video_frames(c) >= 30 for c in clients.values()):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    results.put(("ready", names))
    while True:
        msg = await _get(inbox)
        if msg[0] == "mark":
            results.put(
                ("frames", {n: video_frames(c) for n, c in clients.items()}, time.monotonic())
            )
        elif msg[0] == "stop":
            break
    results.put(("arrivals", arrivals))
    for client in clients.values():
        await client.close()


# ---------------------------------------------------------------- orchestration


class Collector:
    """Reads the shared results queue, keeping messages of other kinds for later."""

    def __init__(self, results: Any) -> None:
        self.results = results
        self.backlog: list[Any] = []

    def take(self, kind: str, count: int, timeout: float) -> list[Any]:
        got = [m for m in self.backlog if m[0] == kind][:count]
        for m in got:
            self.backlog.remove(m)
        deadline = time.monotonic() + timeout
        while len(got) < count:
            msg = self.results.get(timeout=max(0.1, deadline - time.monotonic()))
            if msg[0] == kind:
                got.append(msg)
            else:
                self.backlog.append(msg)
        return got


def _start_sampler(pid: int | None, window: float, label: str) -> subprocess.Popen[bytes] | None:
    """With ``BENCH_SPY=/tmp/prefix``: py-spy samples the server process over the measured
    window (on-CPU samples only, every thread) into ``/tmp/prefix.<mode>.k<K>.txt``, the
    stacks collapsed (bench/profile_breakdown.py sorts them into the receive path's parts)."""
    prefix = os.environ.get("BENCH_SPY")
    if not prefix or pid is None:
        return None
    spy = os.environ.get("BENCH_SPY_BIN", "py-spy")
    command = [spy, "record", "-p", str(pid), "-d", str(int(window)), "-r", "400"]
    command += ["-f", "raw", "-o", f"{prefix}.{label}.txt", "--nonblocking"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_trial(
    mode: str, k: int, window: float, decode: bool, follow_remb: bool = False
) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    server_inbox = ctx.Queue()
    pub_inbox = ctx.Queue()
    names = [f"sub{i}" for i in range(k)]
    groups = [names[i::SUBSCRIBER_PROCESSES] for i in range(min(k, SUBSCRIBER_PROCESSES))]
    group_inboxes = [ctx.Queue() for _ in groups]
    outboxes = {"pub": pub_inbox}
    for group, box in zip(groups, group_inboxes, strict=True):
        for name in group:
            outboxes[name] = box
    procs = [ctx.Process(target=server_main, args=(mode, server_inbox, outboxes, results))]
    procs.append(
        ctx.Process(target=publisher_main, args=(server_inbox, pub_inbox, results, follow_remb))
    )
    for group, box in zip(groups, group_inboxes, strict=True):
        procs.append(
            ctx.Process(
                target=subscribers_main, args=(mode, group, server_inbox, box, results, decode)
            )
        )
    for proc in procs:
        proc.start()
    collector = Collector(results)
    _collect = lambda kind, n, t: collector.take(kind, n, t)  # noqa: E731
    try:
        _collect("ready", len(groups), READY_TIMEOUT_S + 30)
        time.sleep(2.0)  # settle: keyframes, bitrate
        marks = []
        for _ in range(2):
            server_inbox.put(("mark",))
            for box in group_inboxes:
                box.put(("mark",))
            server = _collect("server", 1, 30)[0]
            frames = _collect("frames", len(groups), 30)
            marks.append((server, frames))
            if len(marks) == 1:
                spy = _start_sampler(procs[0].pid, window, f"{mode}.k{k}")
                time.sleep(window)
                if spy is not None:
                    spy.wait(timeout=window + 30)
        (s0, f0), (s1, f1) = marks
        cpu = s1[1] - s0[1]
        packets = s1[2] - s0[2]
        fps = []
        for (_, a, ta), (_, b, tb) in zip(
            sorted(f0, key=lambda m: sorted(m[1])),
            sorted(f1, key=lambda m: sorted(m[1])),
            strict=True,
        ):
            fps += [(b[n] - a[n]) / (tb - ta) for n in a]
        pub_inbox.put(("stop",))
        sent = _collect("sent", 1, 30)[0][1]
        for box in group_inboxes:
            box.put(("stop",))
        arrivals: dict[str, dict[bytes, float]] = {"audio": {}, "video": {}}
        for msg in _collect("arrivals", len(groups), 30):
            for kind in arrivals:
                arrivals[kind].update(msg[1][kind])
        delays = {
            kind: [
                (arrivals[kind][key] - t) * 1000
                for key, t in sent[kind].items()
                if t >= 0 and arrivals[kind].get(key, -1.0) >= 0
            ]
            for kind in ("audio", "video")
        }
        server_inbox.put(("stop",))
        return {
            "mode": mode,
            "k": k,
            "cpu_s": cpu,
            "window_s": window,
            "packets": packets,
            # What the publisher's packets the server received in the window (the core's own
            # count; the relay has none).
            "incoming": s1[3].packets_received - s0[3].packets_received if mode == "core" else 0,
            "fps": fps,
            "delays": delays,
            "counters": s1[3],
            "server_delay": s1[4],
        }
    finally:
        for proc in procs:
            proc.join(timeout=15)
            if proc.is_alive():
                proc.terminate()


def idle_rss_mb(settle: float = IDLE_SETTLE_S) -> float:
    """The RSS of a fresh ``lingkar serve --workers 1`` (one process: SQLite, self-signed
    TLS), ``settle`` seconds after it printed its address, before any session. (``make run``
    starts a supervisor and a worker per core: docs/performance.md gives their figures.)"""
    import tempfile
    from pathlib import Path

    import psutil

    from bench.crowd import sample
    from tests.serverproc import start_server

    with tempfile.TemporaryDirectory(prefix="bench-idle-") as data_dir:
        server = start_server(Path(data_dir), "--workers", "1")
        try:
            time.sleep(settle)
            return sample(psutil.Process(server.process.pid))[0]
        finally:
            server.stop()


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--ks", default="1,4,8,16")
    parser.add_argument("--modes", default="relay,core")
    parser.add_argument("--decode", action="store_true", help="subscribers decode the video")
    parser.add_argument(
        "--publisher-follows-remb",
        action="store_true",
        help="let the server's REMB steer the publisher's encoder (its rate then drifts)",
    )
    parser.add_argument(
        "--no-idle-rss",
        dest="idle_rss",
        action="store_false",
        help="do not start a lingkar serve to read its idle RSS",
    )
    args = parser.parse_args()
    ks = [int(x) for x in args.ks.split(",")]
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M')} {platform.node()} {os.cpu_count()} cpus "
        f"{platform.processor() or platform.machine()} python {platform.python_version()}"
    )
    rows = []
    for mode in args.modes.split(","):
        for k in ks:
            row = run_trial(mode, k, args.window, args.decode, args.publisher_follows_remb)
            rows.append(row)
            cpu_pct = 100 * row["cpu_s"] / row["window_s"]
            us = row["cpu_s"] * 1e6 / row["packets"] if row["packets"] else float("nan")
            audio, video = row["delays"]["audio"], row["delays"]["video"]
            delay = ""
            if mode == "core":
                delay = (
                    f" e2e audio_ms p50={_pct(audio, 0.5):.1f} p95={_pct(audio, 0.95):.1f}"
                    f" (n={len(audio)}) video_ms p50={_pct(video, 0.5):.1f}"
                    f" p95={_pct(video, 0.95):.1f} (n={len(video)})"
                )
            pps = row["packets"] / row["window_s"]
            fps_min, fps_mean = min(row["fps"]), statistics.mean(row["fps"])
            # CPU per frame actually delivered: fair even when a starved relay drops frames.
            delivered = sum(row["fps"]) * row["window_s"]
            us_frame = row["cpu_s"] * 1e6 / delivered if delivered else float("nan")
            print(
                f"{mode:5s} K={k:2d} server_cpu={cpu_pct:5.1f}% packets/s={pps:7.0f}"
                f" us/packet={us:6.1f} us/delivered_frame={us_frame:7.0f}"
                f" fps min={fps_min:5.1f} mean={fps_mean:5.1f}" + delay,
                flush=True,
            )
            if mode == "core":
                sd = row["server_delay"]
                print(
                    "      in-server delay ms (p50, p95): "
                    + " ".join(f"{k}={v[0]:.0f},{v[1]:.0f}" for k, v in sd.items()),
                    flush=True,
                )
                c = row["counters"]
                print(
                    f"      decodes={c.decodes} encodes={c.encodes} drops_gated={c.drops_gated}"
                    f" drops_congested={c.drops_congested} upstream_losses={c.upstream_losses}"
                    f" keyframe_requests_forwarded={c.keyframe_requests_forwarded}",
                    flush=True,
                )
    by = {(r["mode"], r["k"]): r for r in rows}
    core16 = by.get(("core", 16))
    us16 = (
        core16["cpu_s"] * 1e6 / core16["packets"] if core16 and core16["packets"] else float("nan")
    )
    ratio8 = (
        by[("relay", 8)]["cpu_s"] / by[("core", 8)]["cpu_s"]
        if ("relay", 8) in by and ("core", 8) in by
        else float("nan")
    )
    fps16 = min(core16["fps"]) if core16 else float("nan")
    core1 = by.get(("core", 1))
    us_in1 = (
        core1["cpu_s"] * 1e6 / core1["incoming"] if core1 and core1["incoming"] else float("nan")
    )
    rss = idle_rss_mb() if args.idle_rss else float("nan")
    print(
        f"us_per_forwarded_packet={us16:.1f} ratio_vs_relay_k8={ratio8:.2f} fps_min_k16={fps16:.1f}"
        f" us_per_incoming_packet_k1={us_in1:.1f} rss_mb_idle={rss:.1f}"
    )


if __name__ == "__main__":
    main()
