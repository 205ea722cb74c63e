"""What each person receives of the others' videos, from what their page says (`view`), their
data saver and the room: through the real app, with aiortc clients as the browsers."""

from __future__ import annotations

import asyncio

from server.platform.limits import MAX_TILE_PIXELS, MAX_VIEW_TILES
from tests.live.client import LiveClient
from tests.live.conftest import Scene
from tests.live.test_controls import admitted, audio_flows


def tile(
    who: LiveClient, visible: bool = True, width: int = 320, height: int = 240
) -> dict[str, object]:
    return {
        "participant": who.id,
        "kind": "video",
        "visible": visible,
        "width": width,
        "height": height,
    }


def video_state(client: LiveClient, who: LiveClient) -> str | None:
    media = client.by_type["media"]
    if not media:
        return None
    for video in media[-1]["videos"]:
        if video["participant"] == who.id and video["kind"] == "video":
            return str(video["state"])
    return None


async def leader_on_camera(scene: Scene) -> LiveClient:
    leader = await scene.leader(video=True)
    leader.send({"type": "microphone", "on": True})
    leader.send({"type": "camera", "on": True})
    await leader.wait_message("you", lambda m: m["camera"] and not m["muted"])
    return leader


async def video_stops(viewer: LiveClient, publisher: LiveClient) -> None:
    await asyncio.sleep(0.5)  # what is already on the way
    before = viewer.frames_from(publisher.id, "video")
    await asyncio.sleep(1.0)
    assert viewer.frames_from(publisher.id, "video") <= before + 1


async def test_a_tile_out_of_view_gets_no_video_and_comes_back(scene: Scene) -> None:
    leader = await leader_on_camera(scene)
    ani, budi = await admitted(scene, leader, "Ani", "Budi", video=True)
    await ani.wait_for(lambda: ani.frames_from(budi.id, "video") > 5, "Budi's video at Ani's")
    ani.send({"type": "view", "tiles": [tile(leader), tile(budi, visible=False)]})
    await ani.wait_for(lambda: video_state(ani, budi) == "hidden", "Budi's video hidden")
    await video_stops(ani, budi)
    assert video_state(ani, leader) in ("on", "starting")
    ani.send({"type": "view", "tiles": [tile(leader), tile(budi)]})
    frames = ani.frames_from(budi.id, "video")
    await ani.wait_for(lambda: ani.frames_from(budi.id, "video") > frames + 5, "back")
    await ani.wait_for(lambda: video_state(ani, budi) == "on", "Budi's video on again")


async def test_a_hidden_tab_gets_audio_only(scene: Scene) -> None:
    leader = await leader_on_camera(scene)
    (ani,) = await admitted(scene, leader, "Ani", video=True)
    await ani.wait_for(lambda: ani.frames_from(leader.id, "video") > 5, "the leader's video")
    ani.send({"type": "view", "tiles": [tile(leader)], "hidden": True})
    await ani.wait_for(lambda: video_state(ani, leader) == "hidden", "hidden")
    await video_stops(ani, leader)
    await audio_flows(ani, leader)


async def test_last_n_keeps_the_leader_and_drops_the_others(scene: Scene) -> None:
    leader = await leader_on_camera(scene)
    ani, budi, citra = await admitted(scene, leader, "Ani", "Budi", "Citra", video=True)
    ani.send({"type": "view", "tiles": [tile(leader), tile(budi), tile(citra)], "max_videos": 2})

    def shown() -> list[str | None]:
        return [video_state(ani, x) for x in (leader, budi, citra)]

    await ani.wait_for(lambda: shown().count("hidden") == 1, "one of three not shown")
    assert video_state(ani, leader) != "hidden"


async def test_the_saver_caps_what_a_student_receives(scene: Scene) -> None:
    leader = await leader_on_camera(scene)
    (ani,) = await admitted(scene, leader, "Ani", video=True)
    ani.send({"type": "receive", "mode": "saver"})
    await ani.wait_message("you", lambda m: m["receive"] == "saver")
    media = await ani.wait_message("media", lambda m: m["budget_kbps"] is not None)
    # 150 MB an hour is 333 kbit/s for sending and receiving together.
    assert 100 <= media["budget_kbps"] <= 334
    ani.send({"type": "receive", "mode": "all"})
    await ani.wait_message("media", lambda m: m["budget_kbps"] is None)


async def test_the_leader_sees_each_members_link(scene: Scene) -> None:
    leader = await leader_on_camera(scene)
    (ani,) = await admitted(scene, leader, "Ani", video=True)
    observation = await leader.wait_message(
        "observation", lambda m: any(x["link"] != "unknown" for x in m["members"])
    )
    assert {x["link"] for x in observation["members"]} <= {"good", "weak", "very_weak"}
    assert ani.by_type["media"][-1]["quality"] in ("good", "weak", "very_weak")


async def test_bad_views_are_refused_and_change_nothing(scene: Scene) -> None:
    leader = await leader_on_camera(scene)
    (ani,) = await admitted(scene, leader, "Ani", video=True)
    await ani.wait_for(lambda: ani.frames_from(leader.id, "video") > 5, "the leader's video")
    too_many = [tile(leader)] * (MAX_VIEW_TILES + 1)
    bad = [
        {"type": "view", "tiles": too_many},
        {"type": "view", "tiles": [tile(leader, width=MAX_TILE_PIXELS + 1)]},
        {"type": "view", "tiles": [tile(leader, width=-1)]},
        {"type": "view", "tiles": [{**tile(leader), "kind": "audio"}]},
        {"type": "view", "tiles": [{**tile(leader), "extra": 1}]},
        {"type": "view", "tiles": [{**tile(leader), "participant": "../etc"}]},
        {"type": "view", "tiles": [], "max_videos": -1},
        {"type": "view", "tiles": "all"},
    ]
    for message in bad:
        ani.send(message)
    await ani.wait_for(lambda: len(ani.errors()) >= len(bad), "an error for each")
    assert set(ani.errors()) == {"malformed"}
    frames = ani.frames_from(leader.id, "video")
    await ani.wait_for(lambda: ani.frames_from(leader.id, "video") > frames + 5, "still video")


async def test_a_waiting_student_may_not_send_a_view(scene: Scene) -> None:
    await scene.leader()
    waiting = await scene.member("Dodi")
    waiting.send({"type": "view", "tiles": []})
    await waiting.wait_for(lambda: "forbidden" in waiting.errors(), "forbidden")
