"""A live session's snapshot: everything the restored session needs comes back, through JSON
and the sealed file, and each member can take back only their own place."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from rtc import Room
from server.counseling.stages import ONLINE
from server.live import protocol as p
from server.live.floor import start_turns
from server.live.participant import Presence
from server.live.permissions import Role
from server.live.rejoin import RejoinTokens, restore_member
from server.live.session import LiveSession
from server.live.snapshot import PEOPLE_KEPT_S, capture, restore
from server.live.snapshot_store import SnapshotStore
from server.platform.errors import LingkarError

KEY = b"n" * 32
ANSWERS = {"understanding": "jelas", "comfort": "nyaman", "action": "mencoba"}


def _session() -> LiveSession:
    return LiveSession(
        session_id=7, code="ABC-DEF", title="Mengenal diri", stages=ONLINE.stages, room=Room()
    )


def _busy_session() -> LiveSession:
    """A session in the middle of things: stage 2, a mute, a hand, a floor, the lobby, a
    removed member, an open evaluation with one answer, figures."""
    live = _session()
    leader = live.add_leader("Bu Sari", counselor_id=3)
    ani = live.add_member("Ani Wijaya")
    budi = live.add_member("Budi Santoso")
    citra = live.add_member("Citra")
    dodi = live.add_member("Dodi", Role.OBSERVER)
    live.admit([ani, budi, dodi], by=leader)
    live.enter_stage(2)
    ani.microphone = True
    live.mute([ani], leader, "muted")
    live.set_hand(budi, True)
    live.stats(ani).speaking_seconds = 42.5
    live.stats(ani).turns = 3
    live.give_floor(start_turns([budi.id, ani.id], 60, time.monotonic()))
    live.set_observers_see_figures(True, leader)
    live.set_evaluation(True, leader)
    live.answer_evaluation(budi, 4, ANSWERS, anonymous=False)
    live.lock(True, queue=True, by=leader)
    live.depart(citra, Presence.REMOVED, None)
    live.add_member("Eka")  # waits in the lobby
    return live


def _through_json(data: dict[str, object]) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(json.dumps(data))
    return loaded


def test_everything_comes_back() -> None:
    before = _busy_session()
    spent = {"nonce-1": time.time() + 300}
    after = _session()
    kept = restore(after, _through_json(capture(before, spent)))

    assert kept == spent
    assert (after.stage_index, after.preset, after.policy) == (
        before.stage_index,
        before.preset,
        before.policy,
    )
    assert (after.locked, after.queue_while_locked, after.observers_see_figures) == (
        True,
        True,
        True,
    )
    assert after.evaluation_open
    assert after.evaluation_answers == before.evaluation_answers
    assert set(after.participants) == set(before.participants)
    for pid, was in before.participants.items():
        now = after.participants[pid]
        for field in (
            "name",
            "role",
            "presence",
            "counselor_id",
            "microphone",
            "muted_by_leader",
            "camera",
            "can_share",
            "evaluated",
            "receive",
            "admitted_at",
            "joined_at",
        ):
            assert getattr(now, field) == getattr(was, field), (was.name, field)
        assert (now.hand_raised_at is None) == (was.hand_raised_at is None)
        assert now.permissions == was.permissions
        # Nobody is connected: each comes back within the grace, by rejoin or lead.
        assert not now.connected
        assert now.peer is None
        assert now.token == ""
        if now.present:
            assert now.disconnected_at is not None
    assert after.floor is not None
    assert before.floor is not None
    assert (after.floor.holder, after.floor.queue, after.floor.in_turn) == (
        before.floor.holder,
        before.floor.queue,
        True,
    )
    assert after.floor.ends_at is not None
    assert before.floor.ends_at is not None
    assert abs(after.floor.ends_at - before.floor.ends_at) < 1.0
    ani = next(x for x in after.participants.values() if x.name == "Ani Wijaya")
    assert (after.stats(ani).speaking_seconds, after.stats(ani).turns) == (42.5, 3)
    assert [x.name for x in after.waiting()] == ["Eka"]


def test_an_old_snapshot_brings_the_state_but_not_the_people() -> None:
    before = _busy_session()
    data = _through_json(capture(before, {}))
    data["saved_at"] = time.time() - PEOPLE_KEPT_S - 1
    after = _session()
    restore(after, data)
    assert after.stage_index == 2
    assert after.present() == []
    assert after.floor is None


def test_a_snapshot_of_another_session_is_refused() -> None:
    data = _through_json(capture(_busy_session(), {}))
    other = LiveSession(session_id=8, code="XYZ-XYZ", title="x", stages=ONLINE.stages, room=Room())
    with pytest.raises(ValueError, match="not a snapshot of this session"):
        restore(other, data)


def test_each_member_takes_back_only_their_own_place() -> None:
    before = _busy_session()
    tokens = RejoinTokens(b"k" * 32)
    by_name = {x.name: x for x in before.participants.values()}
    minted = {name: tokens.mint(before, by_name[name]) for name in ("Ani Wijaya", "Eka")}
    citra_token = tokens.mint(before, by_name["Citra"])  # minted before her removal
    after = _session()
    restore(after, _through_json(capture(before, {})))

    ani = restore_member(after, tokens.check(minted["Ani Wijaya"], "ABC-DEF"))
    assert ani.id == by_name["Ani Wijaya"].id
    assert (ani.presence, ani.muted_by_leader) == (Presence.ADMITTED, True)
    assert ani.token
    assert ani.resume_token
    eka = restore_member(after, tokens.check(minted["Eka"], "ABC-DEF"))
    assert eka.presence is Presence.WAITING

    with pytest.raises(LingkarError) as refused:
        restore_member(after, tokens.check(citra_token, "ABC-DEF"))  # removed: stays out
    assert refused.value.error.value == "unauthorized"
    ani.connected = True
    with pytest.raises(LingkarError):  # somebody is connected in that place
        restore_member(after, tokens.check(minted["Ani Wijaya"], "ABC-DEF"))


async def test_the_store_seals_replaces_and_deletes(tmp_path: Path) -> None:
    folder = tmp_path / "live"
    store = SnapshotStore.in_folder(folder, KEY)
    live = _busy_session()
    await store.save(7, capture(live, {}))
    path = folder / "7.snap"
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert b"Ani" not in path.read_bytes()  # names are sealed
    loaded = await store.load(7)
    assert loaded is not None
    assert loaded["stage"] == 2

    # Changes in one turn of the loop make one write, of the latest state.
    live.enter_stage(3)
    store.save_soon(7, lambda: capture(live, {}))
    live.enter_stage(4)
    store.save_soon(7, lambda: capture(live, {}))
    assert (await store.load(7))["stage"] == 2  # type: ignore[index]
    await asyncio.sleep(0)
    await store.drain()
    assert (await store.load(7))["stage"] == 4  # type: ignore[index]

    assert await SnapshotStore.in_folder(folder, b"o" * 32).load(7) is None  # another key
    os.replace(path, folder / "8.snap")
    assert await store.load(8) is None  # bound to its session
    (folder / "9.snap").write_bytes(b"damaged")
    assert await store.load(9) is None
    store.delete_soon(8)
    store.delete_soon(8)  # twice is fine
    await store.drain()
    assert not (folder / "8.snap").exists()


async def test_a_store_that_cannot_write_lets_the_session_go_on(tmp_path: Path) -> None:
    folder = tmp_path / "live"
    store = SnapshotStore.in_folder(folder, KEY)
    folder.chmod(0o500)  # read-only (as root, a file in its place: root ignores modes)
    (folder / "7.snap").mkdir()
    try:
        await store.save(7, capture(_busy_session(), {}))  # logged, not raised
        assert await store.load(7) is None
    finally:
        folder.chmod(0o700)


def test_answers_keep_their_shape() -> None:
    answer = p.EvaluationAnswerOut(participant=None, name=None, rating=5, **ANSWERS)
    live = _session()
    live.evaluation_answers.append(answer)
    after = _session()
    restore(after, _through_json(capture(live, {})))
    assert after.evaluation_answers == [answer]
