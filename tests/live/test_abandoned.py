"""A session nobody is in ends by itself (issue 12's dashboard): the counselor closed the tab
and never came back. Real app, real peers; the sweep is called with the time it would see (the
app's own sweep first runs 30 s after start, after these tests are done)."""

from __future__ import annotations

import asyncio

from server.db.database import DATABASE
from server.db.schema import ABANDONED
from server.live.registry import LIVE_SESSIONS
from server.sessions.store import (
    create_session,
    get_session,
    get_session_by_code,
    set_session_status,
)
from tests.live.conftest import Scene

LIMIT_S = 30 * 60.0  # the default, abandoned_minutes = 30


async def test_a_session_nobody_is_in_ends_by_itself_and_says_why(scene: Scene) -> None:
    sessions = scene.server.app[LIVE_SESSIONS]
    db = scene.server.app[DATABASE]
    leader = await scene.leader()
    ani = await scene.member("Ani")
    leader.send({"type": "admit", "participant": ani.id})
    await ani.wait_message("status", lambda m: m["status"] == "admitted")

    # Someone is in: nothing ends, however long.
    assert await sessions.sweep(now=0.0) == []
    assert await sessions.sweep(now=10 * LIMIT_S) == []

    # The counselor leaves; Ani is still in the room: still nothing.
    leader.send({"type": "leave"})
    await leader.wait_for(lambda: not scene.live.leaders(), "the leader gone")
    assert await sessions.sweep(now=20 * LIMIT_S) == []

    # Ani leaves too; Budi arrives and waits in the lobby, with nobody to admit him.
    ani.send({"type": "leave"})
    await ani.wait_for(lambda: not scene.live.admitted(), "Ani gone")
    budi = await scene.member("Budi")
    record = await get_session_by_code(db, scene.code)
    assert record is not None
    assert record.status == "open"
    assert await sessions.sweep(now=100.0) == []  # empty from now on
    assert await sessions.sweep(now=100.0 + LIMIT_S - 1) == []
    assert await sessions.sweep(now=100.0 + LIMIT_S) == [record.id]

    # Budi is told the session ended; it is stored as ended, by itself, notice not yet seen.
    await budi.wait_message("status", lambda m: m["status"] == "ended")
    assert sessions.get(scene.code) is None

    async def stored_as_abandoned() -> bool:
        stored = await get_session(db, record.id)
        return stored is not None and stored.status == "ended" and stored.end_reason == ABANDONED

    for _ in range(50):
        if await stored_as_abandoned():
            break
        await asyncio.sleep(0.05)
    stored = await get_session(db, record.id)
    assert stored is not None
    assert (stored.status, stored.end_reason, stored.notice_seen) == ("ended", ABANDONED, False)

    # Opened again by the counselor: open, and the reason is gone.
    reopened = await set_session_status(db, record.id, "open")
    assert reopened is not None
    assert reopened.end_reason is None


async def test_a_session_stored_open_without_a_live_room_ends_too(scene: Scene) -> None:
    """Open in the database but not live in this process (the server restarted and the
    counselor never came back): ended after the same time, with the same reason."""
    sessions = scene.server.app[LIVE_SESSIONS]
    db = scene.server.app[DATABASE]
    record = await get_session_by_code(db, scene.code)
    assert record is not None
    other = await create_session(db, record.counselor_id, title="Lama", template="online")
    await set_session_status(db, other.id, "open")
    await scene.leader()  # scene's own session is live and led: it stays

    assert await sessions.sweep(now=0.0) == []
    assert await sessions.sweep(now=LIMIT_S - 1) == []
    assert await sessions.sweep(now=LIMIT_S) == [other.id]
    stored = await get_session(db, other.id)
    assert stored is not None
    assert (stored.status, stored.end_reason) == ("ended", ABANDONED)
    live = await get_session(db, record.id)
    assert live is not None
    assert live.status == "open"
