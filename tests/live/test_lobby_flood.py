"""A lobby an attacker with the link tries to keep full (issue 14): joins that never open the
control channel are gone after 20 s, names freed; one address is capped in joins and waiting
entries; the leader sees who is not connected yet and can deny everyone waiting at once."""

from __future__ import annotations

import asyncio

from server.platform.limits import CONNECT_DEADLINE_S, MAX_WAITING_PER_ADDRESS
from tests.live.client import LiveClient
from tests.live.conftest import Scene


async def fake(scene: Scene, name: str) -> tuple[int, dict[str, object]]:
    """A join by HTTP alone: no WebRTC, no control channel."""
    client = LiveClient(await scene.http(), scene.code, name)
    return await client.join()


async def test_never_connected_joins_expire_and_one_address_is_capped(scene: Scene) -> None:
    leader = await scene.leader()
    statuses = [(await fake(scene, f"Palsu {i}"))[0] for i in range(MAX_WAITING_PER_ADDRESS + 10)]
    assert statuses.count(200) == MAX_WAITING_PER_ADDRESS, statuses
    refused = await fake(scene, "Satu lagi")
    assert refused[0] == 429
    assert refused[1]["error"] == "rate_limited"
    # A fake took a real student's name; the leader sees the entries as not connected yet.
    taken = await fake(scene, "Ani")
    assert taken[0] == 429, "still capped"
    waiting = await leader.wait_message(
        "waiting", lambda m: len(m["participants"]) == MAX_WAITING_PER_ADDRESS
    )
    assert not any(person["connected"] for person in waiting["participants"])

    # After the deadline (and one heartbeat) they are all gone, with nothing said to anyone.
    live = scene.live
    assert live is not None
    await leader.wait_for(
        lambda: not live.waiting(), "the fakes gone", deadline=CONNECT_DEADLINE_S + 8
    )
    await leader.wait_message("waiting", lambda m: m["participants"] == [])
    assert leader.errors() == []

    # A real student (here, after the flood, the same address) joins, connects and waits.
    ani = await scene.member("Palsu 1")
    waiting = await leader.wait_message(
        "waiting", lambda m: [x["connected"] for x in m["participants"]] == [True]
    )
    assert waiting["participants"][0]["name"] == "Palsu 1"
    assert ani.last("status")["status"] == "waiting"


async def test_deny_all_clears_the_lobby_with_one_message(scene: Scene) -> None:
    leader = await scene.leader()
    ani = await scene.member("Ani")
    budi = await scene.member("Budi")
    await leader.wait_message("waiting", lambda m: len(m["participants"]) == 2)
    leader.send({"type": "deny_all", "message": "Sesi ini untuk kelas 9A"})
    for member in (ani, budi):
        status = await member.wait_message("status", lambda m: m["status"] == "denied")
        assert status["message"] == "Sesi ini untuk kelas 9A"
    await leader.wait_message("waiting", lambda m: m["participants"] == [])
    # A member may not do it.
    citra = await scene.member("Citra")
    leader.send({"type": "admit", "participant": citra.id})
    await citra.wait_message("status", lambda m: m["status"] == "admitted")
    dedi = await scene.member("Dedi")
    citra.send({"type": "deny_all"})
    await citra.wait_for(lambda: citra.errors() == ["forbidden"], "refused")
    await asyncio.sleep(0.3)
    assert dedi.last("status")["status"] == "waiting"


async def test_a_look_alike_of_the_counselors_name_is_refused(scene: Scene) -> None:
    """A stranger typing the counselor's name with a Cyrillic a (U+0430) is told it is taken."""
    await scene.leader()  # "Bu Sari"
    status, reply = await fake(scene, "Bu S\u0430ri")
    assert status == 409
    assert reply["error"] == "name_taken"
    status, reply = await fake(scene, "Budi")
    assert status == 200, reply
