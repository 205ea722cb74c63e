"""The leader's controls are enforced by the server, whatever the members' clients do."""

from __future__ import annotations

import asyncio

from server.platform.limits import REMOVE_DEADLINE_S
from tests.live.client import LiveClient
from tests.live.conftest import Scene


async def admitted(
    scene: Scene, leader: LiveClient, *names: str, video: bool = False
) -> list[LiveClient]:
    members = [await scene.member(name, video=video) for name in names]
    leader.send({"type": "admit_all"})
    for member in members:
        await member.wait_message("status", lambda m: m["status"] == "admitted")
        member.send({"type": "microphone", "on": True})
        member.send({"type": "camera", "on": True})
    for member in members:
        await member.wait_message("you", lambda m: not m["muted"] and m["camera"])
    return members


async def audio_flows(listener: LiveClient, speaker: LiveClient) -> None:
    before = await listener.packets_from(speaker.id, "audio")

    async def grew() -> bool:
        return await listener.packets_from(speaker.id, "audio") > before + 10

    deadline = asyncio.get_running_loop().time() + 10
    while not await grew():
        assert asyncio.get_running_loop().time() < deadline, "audio did not flow"
        await asyncio.sleep(0.05)


async def audio_stopped(listener: LiveClient, speaker: LiveClient, hold: float = 1.0) -> None:
    await asyncio.sleep(0.2)  # packets already in flight on the network
    before = await listener.packets_from(speaker.id, "audio")
    await asyncio.sleep(hold)
    assert await listener.packets_from(speaker.id, "audio") == before


async def test_mute_all_stops_audio_even_if_the_client_keeps_sending(scene: Scene) -> None:
    leader = await scene.leader()
    ani, budi = await admitted(scene, leader, "Ani", "Budi")
    await audio_flows(budi, ani)
    await audio_flows(leader, ani)
    leader.send({"type": "mute_all"})
    you = await ani.wait_message("you", lambda m: m["muted_by_leader"])
    assert you["muted"] is True
    # Ani's client ignores the mute: its tone track keeps sending. Nobody hears it.
    await audio_stopped(budi, ani)
    await audio_stopped(leader, ani)
    # Under "members may unmute", Ani may unmute herself, and is heard again.
    ani.send({"type": "microphone", "on": True})
    await audio_flows(budi, ani)


async def test_ask_to_speak_policy(scene: Scene) -> None:
    leader = await scene.leader()
    (ani,) = await admitted(scene, leader, "Ani")
    leader.send({"type": "unmute_policy", "policy": "ask_to_speak"})
    await ani.wait_message("roster", lambda m: m["policy"] == "ask_to_speak")
    await audio_stopped(leader, ani)
    ani.send({"type": "microphone", "on": True})
    await ani.wait_for(lambda: "not_allowed" in ani.errors(), "refusal")
    await audio_stopped(leader, ani, hold=0.5)
    # The leader asks; an unmute is never forced: it waits for Ani's answer.
    leader.send({"type": "ask_unmute", "participant": ani.id})
    await ani.wait_message("unmute_request")
    await audio_stopped(leader, ani, hold=0.5)
    ani.send({"type": "unmute_reply", "accept": True})
    reply = await leader.wait_message("unmute_reply")
    assert reply == {"type": "unmute_reply", "participant": ani.id, "accept": True}
    await audio_flows(leader, ani)


async def test_a_member_cannot_use_the_leaders_controls(scene: Scene) -> None:
    leader = await scene.leader()
    ani, budi = await admitted(scene, leader, "Ani", "Budi")
    waiting = await scene.member("Citra")
    for message in (
        {"type": "mute_member", "participant": budi.id},
        {"type": "mute_all"},
        {"type": "remove", "participant": budi.id},
        {"type": "admit", "participant": waiting.id},
        {"type": "stage", "direction": "next"},
        {"type": "lock", "locked": True},
        {"type": "end"},
    ):
        ani.send(message)
    await ani.wait_for(lambda: len(ani.errors()) == 7, "seven refusals")
    assert set(ani.errors()) == {"forbidden"}
    await asyncio.sleep(0.3)
    assert waiting.last("status")["status"] == "waiting"
    live = scene.live
    assert live is not None
    assert not live.locked
    assert live.stage_index == 0
    assert budi.by_type["status"][-1]["status"] == "admitted"
    await audio_flows(leader, budi)


async def test_removal_is_final(scene: Scene) -> None:
    leader = await scene.leader(video=True)
    ani, budi = await admitted(scene, leader, "Ani", "Budi", video=True)
    await audio_flows(budi, ani)
    await budi.wait_for(lambda: budi.frames_from(ani.id, "video") > 3, "video")
    leader.send({"type": "remove", "participant": ani.id})
    await ani.wait_message("status", lambda m: m["status"] == "removed")
    # Media stops within REMOVE_DEADLINE_S, counted from the removal notice.
    await asyncio.sleep(REMOVE_DEADLINE_S)
    before = await budi.packets_from(ani.id, "audio")
    await asyncio.sleep(1.0)
    assert await budi.packets_from(ani.id, "audio") == before
    # Her resume token no longer works, and the link only leads to the lobby again.
    status, reply = await ani.post(
        f"/api/sessions/{scene.code}/resume",
        {"participant": ani.id, "resume_token": ani.entry["resume_token"]},
    )
    assert (status, reply["error"]) == (401, "unauthorized")
    again = LiveClient(await scene.http(), scene.code, "Ani")
    scene.clients.append(again)
    status, reply = await again.join()
    assert status == 200
    assert reply["status"] == "waiting"
    assert reply["participant"] != ani.id


async def test_stage_steps_reach_everyone(scene: Scene) -> None:
    leader = await scene.leader()
    (ani,) = await admitted(scene, leader, "Ani")
    assert ani.last("roster")["stage"]["key"] == "pre_preparation"
    leader.send({"type": "stage", "direction": "next"})
    stage = (await ani.wait_message("roster", lambda m: m["stage"]["index"] == 1))["stage"]
    assert stage["names"] == {"id": "Persiapan", "en": "Preparation"}
    leader.send({"type": "stage", "direction": "previous"})
    leader.send({"type": "stage", "direction": "previous"})
    await leader.wait_for(lambda: "not_allowed" in leader.errors(), "no stage before the first")
    assert scene.live.stage_index == 0


async def test_hands_chat_and_private_signals(scene: Scene) -> None:
    leader = await scene.leader()
    ani, budi = await admitted(scene, leader, "Ani", "Budi")
    budi.send({"type": "hand", "raised": True})
    await asyncio.sleep(0.05)
    ani.send({"type": "hand", "raised": True})
    await leader.wait_message("roster", lambda m: m["hands"] == [budi.id, ani.id])
    ani.send({"type": "chat", "text": "Saya mau bertanya", "to": "all"})
    budi.send({"type": "chat", "text": "Bu, saya sedang sedih", "to": "leader"})
    budi.send({"type": "talk_request"})
    signal = await leader.wait_message("talk_request")
    assert signal == {"type": "talk_request", "participant": budi.id, "name": "Budi"}
    await leader.wait_for(lambda: len(leader.by_type["chat"]) == 2, "two chat lines")
    await ani.wait_for(lambda: len(ani.by_type["chat"]) == 1, "the public line")
    await asyncio.sleep(0.3)
    assert [m["text"] for m in ani.by_type["chat"]] == ["Saya mau bertanya"]
    assert ani.by_type["talk_request"] == []
    assert ani.by_type["chat"][0]["name"] == "Ani"


async def test_end_tells_everyone_and_closes(scene: Scene) -> None:
    leader = await scene.leader()
    (ani,) = await admitted(scene, leader, "Ani")
    waiting = await scene.member("Budi")
    live = scene.live
    assert live is not None
    leader.send({"type": "end"})
    for person in (leader, ani, waiting):
        await person.wait_message("status", lambda m: m["status"] == "ended")
    # The server closes every connection, keeps the record, then forgets the session.
    await ani.wait_for(lambda: scene.live is None, "the session closed")
    assert live.room.peers == []
    status, reply = await LiveClient(await scene.http(), scene.code, "Dewi").join()
    assert (status, reply["error"]) == (409, "session_not_open")


async def test_data_saver_receives_audio_only_or_the_leader_only(scene: Scene) -> None:
    leader = await scene.leader(video=True)
    leader.send({"type": "microphone", "on": True})
    leader.send({"type": "camera", "on": True})
    ani, budi = await admitted(scene, leader, "Ani", "Budi", video=True)
    await ani.wait_for(lambda: ani.frames_from(budi.id, "video") > 3, "Budi's video")
    ani.send({"type": "receive", "mode": "audio_only"})
    await ani.wait_message("you", lambda m: m["receive"] == "audio_only")
    await ani.wait_for(
        lambda: (
            set(ani.tracks.values()) >= {(budi.id, "audio"), (leader.id, "audio")}
            and not any(
                kind != "audio" and mid_active(ani, mid) for mid, (_, kind) in ani.tracks.items()
            )
        ),
        "video m-lines inactive",
    )
    await audio_flows(ani, budi)
    ani.send({"type": "receive", "mode": "leader_only"})
    await ani.wait_message("you", lambda m: m["receive"] == "leader_only")
    await ani.wait_for(lambda: ani.frames_from(leader.id, "video") > 3, "the leader's video")
    await ani.wait_for(
        lambda: (
            not any(who == budi.id and mid_active(ani, mid) for mid, (who, _) in ani.tracks.items())
        ),
        "Budi's m-lines inactive",
    )
    await audio_stopped(ani, budi)


def mid_active(client: LiveClient, mid: str) -> bool:
    for transceiver in client.rtc.pc.getTransceivers():
        if transceiver.mid == mid:
            return transceiver.currentDirection not in (None, "inactive")
    return False


async def test_binary_frames_are_refused_never_acted_on(scene: Scene) -> None:
    """docs/protocol.md: text messages only (issue 14). A raised hand and a lock sent as binary
    frames are refused and change nothing; the same hand as text is acted on."""
    leader = await scene.leader()
    (ani,) = await admitted(scene, leader, "Ani")
    ani.send(b'{"type": "hand", "raised": true}')
    leader.send(b'{"type": "lock", "locked": true}')
    await ani.wait_for(lambda: ani.errors() == ["malformed"], "Ani's binary frame refused")
    await leader.wait_for(lambda: leader.errors() == ["malformed"], "the leader's too")
    await asyncio.sleep(0.3)
    live = scene.live
    assert live is not None
    assert not live.locked
    assert live.participants[ani.id].hand_raised_at is None
    ani.send({"type": "hand", "raised": True})
    await leader.wait_for(
        lambda: live.participants[ani.id].hand_raised_at is not None, "the same as text is acted on"
    )
