"""SRTP packets handed to aiortc's RTP handling from the socket callback (rtc.receiving)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from rtc import TrackId
from rtc.receiving import InlineReceive, run_eagerly
from tests.rtc.clients import Client, PatternTrack, ToneTrack, wait_for
from tests.rtc.conftest import Harness


async def test_a_coroutine_that_never_waits_is_done_on_return() -> None:
    done: list[str] = []

    async def work() -> None:
        done.append("yes")

    tasks: set[asyncio.Task[None]] = set()
    run_eagerly(work(), tasks)
    assert done == ["yes"]
    assert not tasks


async def test_a_coroutine_that_waits_is_finished_by_a_task() -> None:
    steps: list[str] = []
    gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    failing: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def work() -> None:
        steps.append("start")
        await asyncio.sleep(0)
        steps.append(await gate)
        try:
            await failing
        except ValueError as exc:
            steps.append(f"caught {exc}")

    tasks: set[asyncio.Task[None]] = set()
    run_eagerly(work(), tasks)
    assert steps == ["start"]
    assert len(tasks) == 1
    await asyncio.sleep(0.01)
    gate.set_result("gate opened")
    failing.set_exception(ValueError("upstream"))
    await wait_for(lambda: not tasks, what="the task to finish")
    assert steps == ["start", "gate opened", "caught upstream"]


async def test_a_failure_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    async def broken() -> None:
        raise RuntimeError("boom")

    async def broken_later() -> None:
        await asyncio.sleep(0)
        raise RuntimeError("later boom")

    tasks: set[asyncio.Task[None]] = set()
    with caplog.at_level(logging.ERROR, logger="rtc.receiving"):
        run_eagerly(broken(), tasks)
        run_eagerly(broken_later(), tasks)
        await wait_for(lambda: not tasks, what="the task to finish")
    messages = [r.exc_info[1] for r in caplog.records if r.exc_info]
    assert [str(e) for e in messages] == ["boom", "later boom"]


async def test_the_publishers_packets_take_the_inline_path(harness: Harness) -> None:
    publisher = Client("pub", audio=ToneTrack(), video=PatternTrack(160, 120))
    await harness.join(publisher)
    sub = Client("sub")
    await harness.join(sub)
    room = harness.room
    await wait_for(lambda: len(room.tracks) == 2, what="published")
    room.subscribe("sub", TrackId("pub", "video"))
    room.subscribe("sub", TrackId("pub", "audio"))
    await wait_for(lambda: sub.frames and min(sub.frames.values()) >= 20, what="frames")
    transport = room.peer("pub").pc.getTransceivers()[0].receiver.transport
    inline = transport.transport._connection.data_received
    assert isinstance(inline, InlineReceive)
    received = room.counters.packets_received
    # Packets behind a queued datagram (DTLS, RTCP) take aiortc's queue; most do not.
    assert inline.packets > received // 2 > 0
    assert room.counters.decodes == 0
