"""The lobby: who waits sees and receives nothing of the room until the leader admits them."""

from __future__ import annotations

import asyncio

from tests.live.conftest import Scene


async def test_waiting_member_gets_no_media_no_roster_no_chat(scene: Scene) -> None:
    leader = await scene.leader(video=True)
    ani = await scene.member("Ani", video=True)
    await leader.wait_message(
        "waiting", lambda m: [p["name"] for p in m["participants"]] == ["Ani"]
    )
    # The leader talks and chats while Ani waits.
    leader.send({"type": "microphone", "on": True})
    leader.send({"type": "camera", "on": True})
    leader.send({"type": "chat", "text": "Selamat pagi semua"})
    await leader.wait_message("chat")
    await asyncio.sleep(1.5)  # give any leak time to show (the assertion is that nothing came)
    assert ani.last("status")["status"] == "waiting"
    assert ani.last("welcome")["title"] == "Mengenal diri"
    assert await ani.total_packets() == 0
    assert ani.by_type["roster"] == []
    assert ani.by_type["chat"] == []
    assert ani.by_type["waiting"] == []
    assert ani.by_type["offer"] == []
    # What a waiting member may not do: anything about the room.
    ani.send({"type": "chat", "text": "halo"})
    ani.send({"type": "hand", "raised": True})
    await ani.wait_for(lambda: len(ani.errors()) == 2, "two refusals")
    assert ani.errors() == ["forbidden", "forbidden"]
    assert [m["text"] for m in leader.by_type["chat"]] == ["Selamat pagi semua"]


async def test_admit_then_media_flows_both_ways(scene: Scene) -> None:
    leader = await scene.leader(video=True)
    ani = await scene.member("Ani", video=True)
    leader.send({"type": "microphone", "on": True})
    leader.send({"type": "camera", "on": True})
    ani.send({"type": "microphone", "on": True})  # refused: still waiting
    await ani.wait_for(lambda: ani.errors() == ["forbidden"], "refusal")
    leader.send({"type": "admit", "participant": ani.id})
    await ani.wait_message("status", lambda m: m["status"] == "admitted")
    ani.send({"type": "microphone", "on": True})
    ani.send({"type": "camera", "on": True})
    await ani.wait_for(lambda: ani.frames_from(leader.id, "video") > 5, "leader's video decoded")
    await leader.wait_for(lambda: leader.frames_from(ani.id, "video") > 5, "Ani's video decoded")
    await leader.wait_for(lambda: leader.frames_from(ani.id, "audio") > 5, "Ani's audio decoded")
    roster = ani.last("roster")
    assert [p["name"] for p in roster["participants"]] == ["Bu Sari", "Ani"]
    assert scene.live.room.counters.decodes == 0
    assert scene.live.room.counters.encodes == 0


async def test_deny_with_a_message_and_lock(scene: Scene) -> None:
    leader = await scene.leader(video=True)
    budi = await scene.member("Budi")
    leader.send({"type": "deny", "participant": budi.id, "message": "Sesi ini untuk kelas 9A"})
    denied = await budi.wait_message("status", lambda m: m["status"] == "denied")
    assert denied["message"] == "Sesi ini untuk kelas 9A"
    leader.send({"type": "lock", "locked": True})
    await leader.wait_message("waiting", lambda m: m["locked"])
    late = await scene.http()
    from tests.live.client import LiveClient

    citra = LiveClient(late, scene.code, "Citra")
    scene.clients.append(citra)
    status, reply = await citra.join()
    assert (status, reply["error"]) == (423, "session_locked")
    # "Queue while locked": new arrivals wait and are told the session is locked.
    leader.send({"type": "lock", "locked": True, "queue": True})
    await leader.wait_message("waiting", lambda m: m["queue"])
    status, reply = await citra.join()
    assert status == 200, reply
    await citra.connect()
    assert citra.last("status")["status"] == "locked"
    leader.send({"type": "admit_all"})
    await citra.wait_message("status", lambda m: m["status"] == "admitted")


async def test_back_to_lobby_stops_media(scene: Scene) -> None:
    leader = await scene.leader(video=True)
    ani = await scene.member("Ani", video=True)
    leader.send({"type": "camera", "on": True})
    leader.send({"type": "admit", "participant": ani.id})
    await ani.wait_for(lambda: ani.frames_from(leader.id, "video") > 3, "video before")
    leader.send({"type": "to_lobby", "participant": ani.id})
    await ani.wait_message("status", lambda m: m["status"] == "waiting")
    await asyncio.sleep(0.3)
    before = await ani.total_packets()
    await asyncio.sleep(1.0)
    assert await ani.total_packets() == before
