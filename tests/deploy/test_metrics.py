"""GET /metrics: Prometheus text with sessions, people and forwarding figures, and no identities."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.conftest import SceneFactory


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_metrics_of_a_running_session(configured_scene: SceneFactory) -> None:
    scene = await configured_scene()
    leader = await scene.leader()
    member = await scene.member("Ani Wijaya", video=True)
    waiting = await scene.member("Budi Santoso")
    leader.send({"type": "admit", "participant": member.id})
    await member.wait_message("status", lambda m: m["status"] == "admitted")
    member.send({"type": "camera", "on": True})
    await leader.wait_for(lambda: leader.frames_from(member.id, "video") >= 5, "video")

    response = await scene.leader_http.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    text = await response.text()
    values = _samples(text)
    assert values[("lingkar_sessions_open", ())] == 1
    assert values[("lingkar_participants", (("state", "admitted"),))] == 2
    assert values[("lingkar_participants", (("state", "waiting"),))] == 1
    assert values[("lingkar_packets_forwarded_total", ())] > 0
    assert values[("lingkar_bytes_forwarded_total", ())] > 0
    assert values[("lingkar_decodes_total", ())] == 0
    assert values[("lingkar_encodes_total", ())] == 0
    assert values[("process_resident_memory_bytes", ())] > 0
    assert ("process_cpu_seconds_total", ()) in values
    # Nobody's identity in a monitoring system: no names, addresses, codes or ids.
    for secret in ("Ani", "Budi", "Sari", "127.0.0.1", "192.0.2.", scene.code, waiting.id):
        assert secret not in text


async def test_metrics_refused_outside_metrics_allow(configured_scene: SceneFactory) -> None:
    scene = await configured_scene(metrics_allow=("10.0.0.0/8",))
    response = await scene.leader_http.get("/metrics")
    assert response.status == 403
    assert "lingkar_" not in await response.text()


async def test_two_apps_have_separate_registries(configured_scene: SceneFactory) -> None:
    """Regression guard: a module-level registry would mix two apps' figures (or refuse the
    second app's collectors as duplicates)."""
    first = await configured_scene()
    second = await configured_scene()
    await first.leader()
    one = _samples(await (await first.leader_http.get("/metrics")).text())
    two = _samples(await (await second.leader_http.get("/metrics")).text())
    assert one[("lingkar_sessions_open", ())] == 1
    assert two[("lingkar_sessions_open", ())] == 0
