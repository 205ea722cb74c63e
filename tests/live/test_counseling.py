"""The counseling session's rules: stage presets, the floor, turns, and observation."""

from __future__ import annotations

import asyncio
import time

from av import AudioFrame

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
