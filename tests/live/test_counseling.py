"""The counseling session's rules: stage presets, the floor, turns, and observation."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from av import AudioFrame
from sqlalchemy import select

from server.db.database import DATABASE
from server.db.schema import attendance, evaluations, notes, participation, stage_log
from server.platform.notes_key import load_or_create_notes_key
from server.platform.sealing import unseal
from server.platform.settings import SETTINGS
from tests.live.client import LiveClient
from tests.live.conftest import Scene
from tests.live.test_controls import admitted, audio_flows, audio_stopped
from tests.rtc.clients import ToneTrack


class SwitchedTone(ToneTrack):
    """A microphone whose speaker talks only while ``on``; the rest is silence (still sent)."""

    def __init__(self) -> None:
        super().__init__()
        self.on = False
        self.spoken = 0.0

    async def recv(self) -> AudioFrame:
        if self.on:
            frame = await super().recv()
            self.spoken += frame.samples / frame.sample_rate
            return frame
        return await super(ToneTrack, self).recv()  # AudioStreamTrack's silence


async def to_stage(leader: LiveClient, key: str) -> None:
    while (index := leader.last("roster")["stage"]["index"]) is not None:
        if leader.last("roster")["stage"]["key"] == key:
            return
        leader.send({"type": "stage", "direction": "next"})
        await leader.wait_message("roster", lambda m, i=index: m["stage"]["index"] == i + 1)


async def test_activity_stage_preset_silences_members_who_keep_sending(scene: Scene) -> None:
    leader = await scene.leader()
    ani, budi = await admitted(scene, leader, "Ani", "Budi")
    await audio_flows(leader, ani)
    await to_stage(leader, "activity")
    stage = leader.last("roster")["stage"]
    assert stage["names"]["id"] == "Pelaksanaan kegiatan"
    assert stage["preset"]["policy"] == "ask_to_speak"
    assert {"id": "Salam pembuka", "en": "Opening greeting"} in stage["checklist"]
    # Both tone tracks keep sending; nobody hears them.
    await audio_stopped(leader, ani)
    await audio_stopped(budi, ani)
    ani.send({"type": "microphone", "on": True})
    await ani.wait_for(lambda: "not_allowed" in ani.errors(), "unmute refused")
    await audio_stopped(leader, ani, hold=0.5)
    you = ani.last("you")
    assert you["muted"] is True
    assert you["can_unmute"] is False


async def test_the_floor_is_given_and_returns_by_itself(scene: Scene) -> None:
    leader = await scene.leader()
    leader.send({"type": "microphone", "on": True})
    ani, budi = await admitted(scene, leader, "Ani", "Budi")
    await to_stage(leader, "activity")
    before_floor = len(leader.by_type["roster"])
    leader.send({"type": "give_floor", "participant": ani.id, "seconds": 3})
    await ani.wait_message("you", lambda m: m["floor"] and m["can_unmute"])
    floor = (await budi.wait_message("roster", lambda m: m["floor"] is not None))["floor"]
    assert floor["participant"] == ani.id
    assert 0 < floor["seconds_left"] <= 3
    ani.send({"type": "microphone", "on": True})
    budi.send({"type": "microphone", "on": True})  # not hers: refused
    await budi.wait_for(lambda: "not_allowed" in budi.errors(), "Budi refused")
    await audio_flows(budi, ani)
    await audio_flows(ani, leader)
    await audio_stopped(ani, budi, hold=0.5)
    # Three seconds later the floor returns by itself: Ani is silent again, the leader is not.
    floor_given = next(
        i
        for i, m in enumerate(leader.by_type["roster"])
        if i >= before_floor and m["floor"] is not None
    )
    await leader.wait_message("roster", lambda m: m["floor"] is None, after=floor_given)
    await audio_stopped(budi, ani)
    await audio_flows(budi, leader)


async def test_in_turn_walks_through_the_members(scene: Scene) -> None:
    leader = await scene.leader()
    ani, budi, citra = await admitted(scene, leader, "Ani", "Budi", "Citra")
    await to_stage(leader, "activity")
    leader.send({"type": "in_turn", "seconds": 2})

    def holders() -> list[str]:
        """Who held the floor, in order, as the leader's roster showed it."""
        order: list[str] = []
        for message in leader.by_type["roster"]:
            floor = message["floor"]
            if floor is not None and (not order or order[-1] != floor["participant"]):
                order.append(floor["participant"])
        return order

    await leader.wait_for(
        lambda: len(holders()) == 3 and leader.last("roster")["floor"] is None,
        "three turns and the end of the round",
        deadline=20,
    )
    assert holders() == [ani.id, budi.id, citra.id]
    # next_turn moves on before the time is up; end_floor stops the round.
    leader.send({"type": "in_turn", "seconds": 0})
    await ani.wait_message("you", lambda m: m["floor"], after=len(ani.by_type["you"]))
    leader.send({"type": "next_turn"})
    await budi.wait_message("you", lambda m: m["floor"], after=len(budi.by_type["you"]))
    leader.send({"type": "end_floor"})
    await leader.wait_message(
        "roster", lambda m: m["floor"] is None, after=len(leader.by_type["roster"])
    )


async def test_observation_measures_speaking_time_within_ten_percent(scene: Scene) -> None:
    leader = await scene.leader()
    tones = {"Ani": SwitchedTone(), "Budi": SwitchedTone()}
    members = [await scene.member(name, audio=tones[name]) for name in ("Ani", "Budi")]
    leader.send({"type": "admit_all"})
    for member in members:
        await member.wait_message("status", lambda m: m["status"] == "admitted")
        member.send({"type": "microphone", "on": True})
        await member.wait_message("you", lambda m: not m["muted"])
    ani, budi = members
    # Ani talks twice (3 s and 2 s), Budi once (1.5 s), with silences between.
    for tone, seconds in ((tones["Ani"], 3.0), (tones["Budi"], 1.5), (tones["Ani"], 2.0)):
        tone.on = True
        await asyncio.sleep(seconds)
        tone.on = False
        await asyncio.sleep(2.5)
    budi.send({"type": "chat", "text": "Saya setuju"})
    budi.send({"type": "hand", "raised": True})
    started = time.monotonic()
    await leader.wait_message(
        "observation",
        lambda m: any(x["chats"] == 1 and x["hands"] == 1 for x in m["members"]),
        after=len(leader.by_type["observation"]),
    )
    assert time.monotonic() - started < 5
    figures = {x["name"]: x for x in leader.last("observation")["members"]}
    for name in ("Ani", "Budi"):
        sent = tones[name].spoken
        measured = figures[name]["speaking_seconds"]
        assert abs(measured - sent) <= 0.1 * sent, (name, sent, measured)
    assert figures["Ani"]["turns"] == 2
    assert figures["Budi"]["turns"] == 1
    assert figures["Budi"]["chats"] == 1
    assert figures["Budi"]["hands"] == 1
    assert figures["Ani"]["present_seconds"] > 10
    # Members never receive observation figures.
    assert ani.by_type["observation"] == []
    assert budi.by_type["observation"] == []


async def test_notes_and_evaluation_are_kept_sealed_and_anonymous_answers_carry_no_identity(
    scene: Scene, tmp_path: Path
) -> None:
    leader = await scene.leader()
    ani, budi = await admitted(scene, leader, "Ani", "Budi")
    secret_note = "Ani tampak cemas saat membahas ujian"
    leader.send(
        {
            "type": "note",
            "participant": ani.id,
            "text": secret_note,
            "ratings": {"active": 4, "respects": 5, "serious": None},
        }
    )
    await leader.wait_message("note_saved", lambda m: m["participant"] == ani.id)
    # Members cannot write notes or open the evaluation; nobody answers a closed one.
    budi.send({"type": "note", "participant": ani.id, "text": "x"})
    budi.send({"type": "evaluation", "open": True})
    answer = {
        "type": "evaluation_answer",
        "understanding": "Saya paham cara mengatur waktu belajar",
        "comfort": "Senang dan lega",
        "action": "Membuat jadwal belajar",
        "rating": 5,
    }
    budi.send(answer)
    await budi.wait_for(lambda: len(budi.errors()) == 3, "three refusals")
    assert budi.errors() == ["forbidden", "forbidden", "not_allowed"]
    await to_stage(leader, "closing")
    leader.send({"type": "evaluation", "open": True})
    await ani.wait_message("evaluation", lambda m: m["open"] and not m["answered"])
    ani.send({**answer, "anonymous": False})
    budi.send({**answer, "rating": 4, "anonymous": True})
    await leader.wait_for(lambda: len(leader.by_type["evaluation_answer"]) == 2, "two answers")
    by_rating = {m["rating"]: m for m in leader.by_type["evaluation_answer"]}
    assert (by_rating[5]["participant"], by_rating[5]["name"]) == (ani.id, "Ani")
    assert (by_rating[4]["participant"], by_rating[4]["name"]) == (None, None)
    budi.send({**answer, "anonymous": True})
    await budi.wait_for(lambda: "conflict" in budi.errors(), "a second answer refused")
    leader.send({"type": "end"})
    await ani.wait_message("status", lambda m: m["status"] == "ended")
    await leader.wait_for(lambda: scene.live is None, "the session closed")
    # What the database holds: sealed notes and answers, no identity for the anonymous one.
    db = scene.server.app[DATABASE]
    async with db.connect() as conn:
        rows = (await conn.execute(select(evaluations))).mappings().all()
        note_rows = (await conn.execute(select(notes))).mappings().all()
        people = (await conn.execute(select(attendance))).mappings().all()
        held = (await conn.execute(select(stage_log).order_by(stage_log.c.id))).mappings().all()
        figures = (await conn.execute(select(participation))).mappings().all()
    assert {(r["participant"], r["rating"]) for r in rows} == {(ani.id, 5), (None, 4)}
    key = load_or_create_notes_key(scene.server.app[SETTINGS])
    (row,) = note_rows
    assert unseal(key, "note", row["session_id"], ani.id, row["sealed"]) == {
        "text": secret_note,
        "ratings": {"active": 4, "respects": 5, "serious": None},
    }
    raw = (scene.server.app[SETTINGS].data_dir / "lingkar.sqlite3").read_bytes()
    assert secret_note.encode() not in raw
    assert b"Membuat jadwal belajar" not in raw
    assert {(p["name"], p["outcome"]) for p in people} == {
        ("Bu Sari", "admitted"),
        ("Ani", "admitted"),
        ("Budi", "admitted"),
    }
    assert [h["stage_key"] for h in held] == [
        "pre_preparation",
        "preparation",
        "activity",
        "observation",
        "closing",
    ]
    assert all(h["ended_at"] is not None for h in held)
    assert {f["participant"] for f in figures} == {ani.id, budi.id}


async def test_a_reconnecting_leader_gets_the_evaluation_state_and_answers_again(
    scene: Scene,
) -> None:
    leader = await scene.leader()
    (ani,) = await admitted(scene, leader, "Ani")
    leader.send({"type": "evaluation", "open": True})
    await ani.wait_message("evaluation", lambda m: m["open"])
    ani.send(
        {
            "type": "evaluation_answer",
            "understanding": "a",
            "comfort": "b",
            "action": "c",
            "rating": 3,
            "anonymous": True,
        }
    )
    await leader.wait_message("evaluation_answer")
    # The leader's page reloads: a new entry, a new connection.
    again = await scene.leader()
    state = await again.wait_message("evaluation")
    assert state == {"type": "evaluation", "open": True, "answered": False}
    replayed = await again.wait_message("evaluation_answer")
    assert (replayed["name"], replayed["rating"]) == (None, 3)
