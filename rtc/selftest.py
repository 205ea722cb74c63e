"""Start-up self-test: push a few frames through the aiortc hooks on loopback.

The forwarding core relies on private aiortc internals (see :mod:`rtc.passthrough`). The series
is pinned, but a different install (distribution package, editable checkout) could still differ:
run :func:`self_test` at start-up and refuse to serve if it raises :class:`SelfTestError`.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from aiortc import (
    AudioStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
    rtcrtpreceiver,
)
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame

from rtc.passthrough import RECEIVER_DECODER_QUEUE, aiortc_version
from rtc.private_names import missing
from rtc.room import Room
from rtc.trackid import TrackId

SELF_TEST_TIMEOUT_S = 15.0
_FRAMES_NEEDED = 5


class SelfTestError(RuntimeError):
    """The aiortc hooks of the forwarding core do not work with the installed aiortc."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(
            f"forwarding core self-test failed with aiortc {aiortc_version()}: {problem}. "
            "Lingkar's rtc/ package hooks aiortc internals and supports aiortc 1.16.x only; "
            "install the pinned version (pip install 'aiortc>=1.16.0,<1.17')."
        )


class _Frames(VideoStreamTrack):
    """A small changing picture."""

    def __init__(self) -> None:
        super().__init__()
        self._n = 0

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        self._n += 1
        frame = VideoFrame(64, 48, "yuv420p")
        frame.planes[0].update(bytes((self._n * 7 + i) & 0xFF for i in range(64 * 48)))
        frame.planes[1].update(bytes([128]) * (32 * 24))
        frame.planes[2].update(bytes([128]) * (32 * 24))
        frame.pts = pts
        frame.time_base = time_base
        return frame


def _check_names() -> None:
    gone = missing()
    if gone:
        raise SelfTestError(f"{', '.join(str(entry) for entry in gone)} is missing")


async def _client(name: str, room: Room, *tracks: Any) -> tuple[Any, Any]:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.createDataChannel("control")
    for track in tracks:
        pc.addTrack(track)
    peer = room.add_peer(name)
    await pc.setLocalDescription(await pc.createOffer())
    answer = await peer.accept_offer(pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return pc, peer


async def _run() -> None:
    room = Room()
    pcs: list[Any] = []
    received: dict[str, int] = {"audio": 0, "video": 0}
    tasks: list[asyncio.Task[None]] = []
    try:
        pub_pc, _ = await _client("selftest-publisher", room, AudioStreamTrack(), _Frames())
        pcs.append(pub_pc)
        sub_pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pcs.append(sub_pc)
        sub_pc.createDataChannel("control")

        async def consume(track: Any) -> None:
            try:
                while True:
                    await track.recv()
                    received[track.kind] += 1
            except MediaStreamError:
                pass

        sub_pc.on("track", lambda track: tasks.append(asyncio.ensure_future(consume(track))))
        sub = room.add_peer("selftest-subscriber")
        await sub_pc.setLocalDescription(await sub_pc.createOffer())
        answer = await sub.accept_offer(sub_pc.localDescription.sdp)
        await sub_pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

        offered = asyncio.Event()
        sub.on_negotiation_needed = offered.set
        deadline = time.monotonic() + SELF_TEST_TIMEOUT_S
        while len(room.tracks) < 2:
            if time.monotonic() > deadline:
                raise SelfTestError("the publisher's tracks never reached the room")
            await asyncio.sleep(0.02)
        room.subscribe("selftest-subscriber", TrackId("selftest-publisher", "audio"))
        room.subscribe("selftest-subscriber", TrackId("selftest-publisher", "video"))
        await asyncio.wait_for(offered.wait(), deadline - time.monotonic())
        offer = await sub.create_offer()
        await sub_pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await sub_pc.setLocalDescription(await sub_pc.createAnswer())
        await sub.accept_answer(sub_pc.localDescription.sdp)
        while received["video"] < _FRAMES_NEEDED or received["audio"] < _FRAMES_NEEDED:
            if time.monotonic() > deadline:
                raise SelfTestError(f"frames did not pass through the hooks ({received})")
            await asyncio.sleep(0.02)
        counters = room.counters
        if counters.decodes or counters.encodes:
            raise SelfTestError(
                f"the server decoded {counters.decodes} and encoded {counters.encodes} frames"
            )
        if counters.packets_received == 0 or counters.frames_withheld_from_decoder:
            raise SelfTestError("the receiver's packet handler was not replaced")
    except TimeoutError:
        raise SelfTestError("no renegotiation was requested for the subscriber") from None
    finally:
        for task in tasks:
            task.cancel()
        for pc in pcs:
            await pc.close()
        await room.close()


async def self_test() -> None:
    """Forward a few frames of audio and video between two loopback peers.

    :raises SelfTestError: (a RuntimeError) naming the aiortc version if the hooks fail.
    """
    _check_names()
    if RECEIVER_DECODER_QUEUE not in rtcrtpreceiver.RTCRtpReceiver.__init__.__code__.co_names:
        raise SelfTestError("RTCRtpReceiver no longer has a decoder queue")
    try:
        await asyncio.wait_for(_run(), SELF_TEST_TIMEOUT_S + 5)
    except SelfTestError:
        raise
    except Exception as exc:
        raise SelfTestError(f"{type(exc).__name__}: {exc}") from exc


# The child's body (``python -c``): the self-test, its problem as the last line of stderr.
_CHILD = "from rtc.selftest import run_in_child; run_in_child()"


def run_in_child() -> None:
    """The child process of :func:`self_test_in_child`: exit 1 with the error on stderr."""
    try:
        asyncio.run(self_test())
    except SelfTestError as error:
        print(" ".join(error.problem.split()), file=sys.stderr)
        sys.exit(1)


async def self_test_in_child() -> None:
    """:func:`self_test` in a child process of this interpreter, as ``lingkar serve`` and each
    session worker run it: its loopback peers encode VP8 and Opus, and what the encoders leave
    allocated (about 10 MB of RSS, docs/performance.md "Memory at start") would stay for the
    whole life of a server that never encodes. The private names are checked here as well.

    :raises SelfTestError: with the child's reason (its problem, or the last line it wrote
        when it failed otherwise).
    """
    _check_names()
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _CHILD,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(child.communicate(), SELF_TEST_TIMEOUT_S + 30)
    except TimeoutError:
        child.kill()
        await child.wait()
        raise SelfTestError("the self-test's child process did not finish") from None
    if child.returncode != 0:
        lines = err.decode(errors="replace").strip().splitlines()
        raise SelfTestError(lines[-1] if lines else f"exit status {child.returncode}")
