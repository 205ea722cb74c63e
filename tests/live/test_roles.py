"""Roles as permissions in a real room (aiortc peers through the real server): two counselors
who lead together, and observers who see and hear but are never seen or heard."""

from __future__ import annotations

import asyncio

from server.accounts.counselors import create_counselor
from server.db.database import DATABASE
from server.platform.notes_key import load_or_create_notes_key
from server.platform.settings import SETTINGS
from server.records.report import SessionReport, load_report
from server.sessions.store import get_session_by_code, set_session_status
from server.sessions.team import add_co_leader, set_observer_password
from tests.live.client import LiveClient
from tests.live.conftest import PASSWORD, Scene, log_in
from tests.live.test_controls import admitted, audio_flows, audio_stopped


async def report_after_end(scene: Scene) -> SessionReport:
    """The session's report once it has ended (as its counselor would open it)."""
    app = scene.server.app
    stored = await get_session_by_code(app[DATABASE], scene.code)
    assert stored is not None
    ended = await set_session_status(app[DATABASE], stored.id, "ended")
    assert ended is not None
    await asyncio.sleep(0.3)  # the recorder's queue
    key = load_or_create_notes_key(app[SETTINGS])
    return await load_report(app[DATABASE], key, ended, "en", retention_days=30)


async def co_leader(scene: Scene) -> LiveClient:
    """Bu Ratna, another counselor of the server, added to the session, enters with her login."""
    db = scene.server.app[DATABASE]
    await create_counselor(db, "ratna", PASSWORD, "Bu Ratna")
    record = await get_session_by_code(db, scene.code)
    assert record is not None
    await add_co_leader(db, record, "ratna")
    http = await scene.http()
    await log_in(http, "ratna", PASSWORD)
    ratna = LiveClient(http, scene.code, "Bu Ratna")
    scene.clients.append(ratna)
    await ratna.lead()
    await ratna.connect()
    return ratna


async def observer(scene: Scene, name: str = "Pak Hadi", password: str | None = None) -> LiveClient:
    watcher = LiveClient(await scene.http(), scene.code, name)  # its tone track keeps sending
    scene.clients.append(watcher)
    status, reply = await watcher.join(password=password, observer=True)
    assert status == 200, reply
    assert reply["role"] == "observer"
    await watcher.connect()
    return watcher


async def test_two_counselors_lead_together_and_see_each_other(scene: Scene) -> None:
    sari = await scene.leader()
    ratna = await co_leader(scene)
    assert ratna.entry["role"] == "co_leader"
    # Neither replaced the other: both are in the room, both lead.
    roster = await sari.wait_message("roster", lambda m: len(m["participants"]) == 2)
    assert {p["role"] for p in roster["participants"]} == {"leader", "co_leader"}
    welcome = ratna.last("welcome")
    assert {"admit", "moderate", "stage", "end"} <= set(welcome["permissions"])
    assert sari.last("status")["status"] == "admitted"

    # Ratna admits a member; Sari is told who admitted whom.
    ani = await scene.member("Ani")
    await ratna.wait_message("waiting", lambda m: len(m["participants"]) == 1)
    ratna.send({"type": "admit", "participant": ani.id})
    await ani.wait_message("status", lambda m: m["status"] == "admitted")
    done = await sari.wait_message("activity", lambda m: m["action"] == "admitted")
    assert (done["by_name"], done["target_name"]) == ("Bu Ratna", "Ani")

    # Sari moves the stage; Ratna is told. Ratna mutes Ani; Sari is told.
    sari.send({"type": "stage", "direction": "next"})
    moved = await ratna.wait_message("activity", lambda m: m["action"] == "stage_next")
    assert moved["by_name"] == "Bu Sari"
    await ratna.wait_message("roster", lambda m: m["stage"]["index"] == 1)
    ani.send({"type": "microphone", "on": True})
    ratna.send({"type": "mute_member", "participant": ani.id})
    await ani.wait_message("you", lambda m: m["muted_by_leader"])
    muted = await sari.wait_message("activity", lambda m: m["action"] == "muted")
    assert muted["target"] == ani.id

    # A private message "to the counselors" reaches both of them, and not another member.
    budi = await scene.member("Budi")
    ratna.send({"type": "admit", "participant": budi.id})
    await budi.wait_message("status", lambda m: m["status"] == "admitted")
    ani.send({"type": "chat", "text": "Bu, saya mau cerita", "to": "leader"})
    for counselor in (sari, ratna):
        await counselor.wait_message("chat", lambda m: m["text"] == "Bu, saya mau cerita")
    await asyncio.sleep(0.3)
    assert not [m for m in budi.by_type["chat"] if m["text"] == "Bu, saya mau cerita"]

    # The owner drops; the co-counselor carries on: she admits and ends the session.
    await sari.close()
    citra = await scene.member("Citra")
    await ratna.wait_message(
        "waiting", lambda m: any(p["id"] == citra.id for p in m["participants"])
    )
    ratna.send({"type": "admit", "participant": citra.id})
    await citra.wait_message("status", lambda m: m["status"] == "admitted")
    ratna.send({"type": "end"})
    await ani.wait_message("status", lambda m: m["status"] == "ended")

    # The report names who led.
    report = await report_after_end(scene)
    assert sorted((m.person.name, m.person.role) for m in report.leaders) == [
        ("Bu Ratna", "co_leader"),
        ("Bu Sari", "leader"),
    ]


async def test_an_observer_is_named_never_heard_and_keeps_notes_alone(scene: Scene) -> None:
    sari = await scene.leader()
    (ani,) = await admitted(scene, sari, "Ani")
    hadi = await observer(scene)
    waiting = await sari.wait_message(
        "waiting", lambda m: [p["id"] for p in m["participants"]] == [hadi.id]
    )
    assert waiting["participants"][0]["role"] == "observer"
    sari.send({"type": "admit", "participant": hadi.id})
    await hadi.wait_message("status", lambda m: m["status"] == "admitted")

    # Members see the observer in the roster, named as one.
    roster = await ani.wait_message(
        "roster", lambda m: any(p["id"] == hadi.id for p in m["participants"])
    )
    (named,) = [p for p in roster["participants"] if p["id"] == hadi.id]
    assert (named["name"], named["role"]) == ("Pak Hadi", "observer")
    assert "publish" not in hadi.last("welcome")["permissions"]

    # A modified client that turns its microphone on and keeps sending is refused, and never
    # heard; the observer hears the room.
    hadi.send({"type": "microphone", "on": True})
    hadi.send({"type": "camera", "on": True})
    hadi.send({"type": "hand", "raised": True})
    await hadi.wait_for(lambda: len(hadi.errors()) == 3, "three refusals")
    assert set(hadi.errors()) == {"forbidden"}
    await audio_flows(hadi, ani)
    await audio_stopped(ani, hadi, hold=1.5)
    await audio_stopped(sari, hadi, hold=0.5)
    assert await ani.packets_from(hadi.id, "audio") == 0
    you = hadi.last("you")
    assert you["muted"] is True
    assert you["can_unmute"] is False

    # Chat: to the counselors only.
    hadi.send({"type": "chat", "text": "Catatan untuk Bu Sari", "to": "all"})
    await hadi.wait_for(lambda: "not_allowed" in hadi.errors(), "chat to all refused")
    hadi.send({"type": "chat", "text": "Catatan untuk Bu Sari", "to": "leader"})
    await sari.wait_message("chat", lambda m: m["text"] == "Catatan untuk Bu Sari")

    # Notes: the observer's own, sealed under their name; not in the counselors' report.
    hadi.send({"type": "note", "participant": ani.id, "text": "Ani aktif bertanya"})
    await hadi.wait_message("note_saved", lambda m: m["participant"] == ani.id)
    sari.send({"type": "note", "participant": ani.id, "text": "Perlu tindak lanjut"})
    await sari.wait_message("note_saved", lambda m: m["participant"] == ani.id)
    hadi.send({"type": "note", "participant": sari.id, "text": "not a member"})
    await hadi.wait_for(lambda: "not_found" in hadi.errors(), "note on a counselor refused")

    # The figures: only when the counselor allows it.
    await asyncio.sleep(2.5)
    assert not hadi.by_type["observation"]
    sari.send({"type": "observer_figures", "allowed": True})
    figures = await hadi.wait_message("observation")
    assert [m["name"] for m in figures["members"]] == ["Ani"]
    assert "observe_figures" in hadi.last("you")["permissions"]
    assert ani.by_type["observation"] == []

    sari.send({"type": "end"})
    await ani.wait_message("status", lambda m: m["status"] == "ended")
    report = await report_after_end(scene)
    assert [m.person.name for m in report.observers] == ["Pak Hadi"]
    assert [m.person.name for m in report.group] == ["Ani"]
    (ani_record,) = report.group
    assert ani_record.note is not None
    assert ani_record.note.text == "Perlu tindak lanjut"


async def test_the_observer_password_is_the_observers_own(scene: Scene) -> None:
    await scene.leader()
    db = scene.server.app[DATABASE]
    record = await get_session_by_code(db, scene.code)
    assert record is not None
    await set_observer_password(db, record.id, "amati-saja")
    stranger = LiveClient(await scene.http(), scene.code, "Pak Hadi")
    scene.clients.append(stranger)
    status, reply = await stranger.join(observer=True)
    assert (status, reply["error"]) == (403, "wrong_password")
    status, reply = await stranger.join(password="salah", observer=True)
    assert (status, reply["error"]) == (403, "wrong_password")
    # The members' link needs no password (the session has none): the observer link's
    # password guards only the observer role.
    member = LiveClient(await scene.http(), scene.code, "Ani")
    scene.clients.append(member)
    status, reply = await member.join()
    assert (status, reply["role"]) == (200, "member")
    await observer(scene, password="amati-saja")
