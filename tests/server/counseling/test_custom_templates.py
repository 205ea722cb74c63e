"""A counselor's own templates: the repository, its limits, ownership and the live session."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from server.accounts.counselors import create_counselor, remove_counselor
from server.counseling.custom_templates import (
    CHECKLIST_ITEM_MAX,
    CHECKLIST_ITEMS_MAX,
    STAGE_GUIDANCE_MAX,
    STAGE_MINUTES_MAX,
    STAGE_TITLE_MAX,
    TEMPLATE_STAGES_MAX,
    TEMPLATES_PER_COUNSELOR_MAX,
    TemplateInputError,
    TemplateInUse,
    create_template,
    custom_id,
    delete_template,
    get_template,
    list_templates,
    new_stage_key,
    resolve_template,
    stages_from_json,
    stages_to_json,
    update_template,
)
from server.counseling.stages import CLASSIC, ONLINE, Preset, Stage, Text
from server.db.database import DATABASE, open_database
from server.db.schema import CUSTOM_TEMPLATE_NAME_MAX, stage_log, templates
from server.live import views
from server.live.registry import LIVE_SESSIONS
from server.platform.settings import Settings
from server.records.report import load_report
from server.sessions.store import (
    SessionInputError,
    create_session,
    set_session_status,
    update_session,
)
from tests.server.accounts.helpers import add_counselor, start_client


@pytest.fixture
async def db(tmp_path: Path) -> Any:
    engine = await open_database(Settings(data_dir=tmp_path))
    await create_counselor(engine, "ani", "kata-sandi-1")
    await create_counselor(engine, "budi", "kata-sandi-2")
    yield engine
    await engine.dispose()


ANI, BUDI = 1, 2
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def stage(key: str = "talk", **changes: Any) -> Stage:
    base = Stage(
        key,
        Text("Berbagi", "Sharing"),
        Text("Ceritakan pengalamanmu.", "Tell your story."),
        (Text("Sapa anggota", "Greet the members"),),
        15,
        Preset("ask_to_speak", video=False, chat=False, share=True),
    )
    return replace(base, **changes)


async def test_a_template_starts_as_a_copy_of_a_built_in(db: AsyncEngine) -> None:
    made = await create_template(db, ANI, base="classic", name="  Karier   kelas XII ")
    assert made.name == "Karier kelas XII"
    assert made.base == "classic"
    assert made.stages == CLASSIC.stages
    assert made.key == f"custom:{made.id}"
    assert custom_id(made.key) == made.id
    as_template = made.as_template()
    assert (as_template.key, as_template.name("en"), as_template.stages) == (
        made.key,
        "Karier kelas XII",
        CLASSIC.stages,
    )
    assert [t.id for t in await list_templates(db, ANI)] == [made.id]
    assert await list_templates(db, BUDI) == []


def test_stages_survive_json() -> None:
    assert stages_from_json(stages_to_json(ONLINE.stages)) == ONLINE.stages
    for raw in ("{}", "[1]", '[{"key": "a"}]', "not json"):
        with pytest.raises(ValueError, match=r"stored|Expecting"):
            stages_from_json(raw)


@pytest.mark.parametrize("key", ["", "custom:", "custom:0", "custom:01", "custom:x", "online"])
def test_only_custom_keys_have_an_id(key: str) -> None:
    assert custom_id(key) is None


async def test_update_keeps_order_presets_and_tidies_text(db: AsyncEngine) -> None:
    made = await create_template(db, ANI, base="online", name="Emosi")
    edited = [
        stage(
            "talk",
            title=Text("  Berbagi  cerita ", ""),
            guidance=Text("", " Tell it. "),
            checklist=(Text("Satu", ""), Text(" ", " "), Text("", "Two")),
        ),
        made.stages[0],
    ]
    updated = await update_template(db, made.id, ANI, name="Emosi 2", stages=edited)
    assert updated is not None
    assert updated.name == "Emosi 2"
    first, second = updated.stages
    assert first.title == Text("Berbagi cerita", "Berbagi cerita")
    assert first.guidance == Text("Tell it.", "Tell it.")
    assert first.checklist == (Text("Satu", "Satu"), Text("Two", "Two"))
    assert first.preset == Preset("ask_to_speak", video=False, chat=False, share=True)
    assert second == ONLINE.stages[0]
    assert updated.updated_at >= made.updated_at
    assert await get_template(db, made.id, ANI) == updated


async def test_limits_at_the_limit_are_stored(db: AsyncEngine) -> None:
    made = await create_template(db, ANI, base="online", name="n" * CUSTOM_TEMPLATE_NAME_MAX)
    full = stage(
        title=Text("t" * STAGE_TITLE_MAX, "e" * STAGE_TITLE_MAX),
        guidance=Text("g" * STAGE_GUIDANCE_MAX, "h" * STAGE_GUIDANCE_MAX),
        checklist=tuple(
            Text("c" * CHECKLIST_ITEM_MAX, "d" * CHECKLIST_ITEM_MAX)
            for _ in range(CHECKLIST_ITEMS_MAX)
        ),
        minutes=STAGE_MINUTES_MAX,
    )
    stages = [replace(full, key=f"s{i}") for i in range(TEMPLATE_STAGES_MAX)]
    updated = await update_template(db, made.id, ANI, name="n" * 80, stages=stages)
    assert updated is not None
    assert len(updated.stages) == TEMPLATE_STAGES_MAX
    assert updated.stages[0] == replace(full, key="s0")
    one = await update_template(db, made.id, ANI, name="x", stages=[stage(minutes=1)])
    assert one is not None
    assert one.stages[0].minutes == 1


@pytest.mark.parametrize(
    ("name", "stages", "field", "error_id"),
    [
        ("", [stage()], "name", "template_name_empty"),
        ("n" * 81, [stage()], "name", "template_name_long"),
        ("ok", [], "stages", "stages_empty"),
        ("ok", [stage(f"s{i}") for i in range(13)], "stages", "stages_many"),
        ("ok", [stage(title=Text(" ", ""))], "stage-0-title-id", "stage_title_empty"),
        ("ok", [stage(title=Text("a", "e" * 81))], "stage-0-title-en", "stage_title_long"),
        ("ok", [stage(guidance=Text("g" * 241, ""))], "stage-0-guidance-id", "stage_guidance_long"),
        (
            "ok",
            [stage(checklist=(Text("a", "d" * 121),))],
            "stage-0-checklist-en",
            "checklist_item_long",
        ),
        (
            "ok",
            [stage(checklist=tuple(Text("c", "c") for _ in range(11)))],
            "stage-0-checklist-id",
            "checklist_long",
        ),
        ("ok", [stage(minutes=0)], "stage-0-minutes", "stage_minutes_invalid"),
        ("ok", [stage(minutes=241)], "stage-0-minutes", "stage_minutes_invalid"),
        ("ok", [stage(), stage("x", minutes=True)], "stage-1-minutes", "stage_minutes_invalid"),
        (
            "ok",
            [stage(preset=Preset("anyone", True, True, True))],  # type: ignore[arg-type]
            "stage-0-policy",
            "stage_policy_invalid",
        ),
        ("ok", [stage("Bad Key")], "stage-0-key", "stage_key_invalid"),
        ("ok", [stage("k" * 41)], "stage-0-key", "stage_key_invalid"),
        ("ok", [stage("same"), stage("same")], "stage-1-key", "stage_key_invalid"),
    ],
)
async def test_invalid_input_names_the_field_and_stores_nothing(
    db: AsyncEngine, name: str, stages: list[Stage], field: str, error_id: str
) -> None:
    made = await create_template(db, ANI, base="online", name="Asli")
    with pytest.raises(TemplateInputError) as refused:
        await update_template(db, made.id, ANI, name=name, stages=stages)
    assert refused.value.errors[field] == error_id
    assert field in str(refused.value)
    assert await get_template(db, made.id, ANI) == made


async def test_every_bad_field_is_named_at_once(db: AsyncEngine) -> None:
    made = await create_template(db, ANI, base="online", name="Asli")
    bad = [stage(minutes=0), stage("two", title=Text("", ""))]
    with pytest.raises(TemplateInputError) as refused:
        await update_template(db, made.id, ANI, name="", stages=bad)
    assert refused.value.errors == {
        "name": "template_name_empty",
        "stage-0-minutes": "stage_minutes_invalid",
        "stage-1-title-id": "stage_title_empty",
    }


async def test_create_refuses_an_unknown_base_and_too_many(db: AsyncEngine) -> None:
    with pytest.raises(TemplateInputError) as refused:
        await create_template(db, ANI, base="custom:1", name="x")
    assert refused.value.errors == {"base": "template_unknown"}
    for number in range(TEMPLATES_PER_COUNSELOR_MAX):
        await create_template(db, ANI, base="online", name=f"T{number}")
    with pytest.raises(TemplateInputError) as many:
        await create_template(db, ANI, base="online", name="one more")
    assert many.value.errors == {"base": "templates_many"}
    assert len(await list_templates(db, ANI)) == TEMPLATES_PER_COUNSELOR_MAX
    await create_template(db, BUDI, base="online", name="his first")


def test_a_new_stage_key_is_free() -> None:
    assert new_stage_key(["stage_2", "stage_3"]) == "stage_4"
    assert new_stage_key(["a"]) == "stage_2"


async def test_another_counselors_template_is_missing_and_unusable(db: AsyncEngine) -> None:
    hers = await create_template(db, ANI, base="online", name="Milik Ani")
    assert await get_template(db, hers.id, BUDI) is None
    assert await update_template(db, hers.id, BUDI, name="x", stages=[stage()]) is None
    assert await delete_template(db, hers.id, BUDI) is False
    assert await get_template(db, hers.id, ANI) == hers
    assert await resolve_template(db, hers.key, BUDI) is None
    with pytest.raises(SessionInputError) as refused:
        await create_session(db, BUDI, title="Curian", template=hers.key)
    assert (refused.value.field, refused.value.error_id) == ("template", "template_unknown")
    his_session = await create_session(db, BUDI, title="Miliknya", template="online")
    with pytest.raises(SessionInputError):
        await update_session(
            db, his_session.id, BUDI, title="x", template=hers.key, scheduled_at=None
        )
    mine = await create_session(db, ANI, title="Punya Ani", template=hers.key)
    assert mine.template == hers.key
    for unknown in ("custom:999", "custom:abc", "nope"):
        with pytest.raises(SessionInputError):
            await create_session(db, ANI, title="x", template=unknown)


async def test_delete_is_refused_while_an_upcoming_or_open_session_uses_it(
    db: AsyncEngine,
) -> None:
    made = await create_template(db, ANI, base="online", name="Dipakai")
    planned = await create_session(db, ANI, title="Sesi Senin", template=made.key)
    with pytest.raises(TemplateInUse) as refused:
        await delete_template(db, made.id, ANI)
    assert refused.value.titles == ["Sesi Senin"]
    await set_session_status(db, planned.id, "open")
    with pytest.raises(TemplateInUse):
        await delete_template(db, made.id, ANI)
    await set_session_status(db, planned.id, "ended")
    assert await delete_template(db, made.id, ANI) is True
    assert await get_template(db, made.id, ANI) is None
    assert await delete_template(db, made.id, ANI) is False


async def test_deleting_a_counselor_deletes_their_templates(db: AsyncEngine) -> None:
    hers = await create_template(db, ANI, base="online", name="Ani")
    his = await create_template(db, BUDI, base="online", name="Budi")
    assert await remove_counselor(db, ANI)
    assert await get_template(db, hers.id, ANI) is None
    assert await get_template(db, his.id, BUDI) == his


# --- the live session ------------------------------------------------------------------------


@pytest.fixture
async def client(aiohttp_client: Any, tmp_path: Path) -> TestClient:
    client = await start_client(aiohttp_client, tmp_path)
    await add_counselor(client, "ani", "Bu Ani")
    return client


async def test_a_session_with_a_custom_template_opens_with_its_stages(client: TestClient) -> None:
    db = client.app[DATABASE]
    made = await create_template(db, ANI, base="classic", name="Dua tahap")
    first = stage("talk", preset=Preset("ask_to_speak", video=False, chat=False, share=True))
    second = replace(CLASSIC.stages[-1], minutes=7)
    await update_template(db, made.id, ANI, name="Dua tahap", stages=[first, second])
    record = await create_session(db, ANI, title="Sesi khusus", template=made.key)
    live = await client.app[LIVE_SESSIONS].open(record)
    assert [s.key for s in live.stages] == ["talk", "closing"]
    assert live.stages[1].minutes == 7
    assert live.preset == first.preset
    assert live.policy == "ask_to_speak"
    info = views.stage_info(live)
    assert info is not None
    assert (info.count, info.key, info.names) == (2, "talk", {"id": "Berbagi", "en": "Sharing"})
    live.enter_stage(1)
    assert live.preset == second.preset


async def test_a_template_gone_meanwhile_falls_back_to_the_online_model(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    db = client.app[DATABASE]
    made = await create_template(db, ANI, base="classic", name="Rahasia")
    record = await create_session(db, ANI, title="Topik pribadi", template=made.key)
    async with db.begin() as conn:  # as if deleted by another request after the check
        await conn.execute(delete(templates).where(templates.c.id == made.id))
    with caplog.at_level(logging.WARNING, logger="lingkar.live"):
        live = await client.app[LIVE_SESSIONS].open(record)
    assert live.stages == list(ONLINE.stages)
    assert f"session {record.id}:" in caplog.text
    assert "Rahasia" not in caplog.text
    assert "Topik pribadi" not in caplog.text


async def test_the_report_names_a_custom_templates_stages(db: AsyncEngine) -> None:
    made = await create_template(db, ANI, base="online", name="Karier")
    renamed = replace(made.stages[0], title=Text("Pemanasan", "Warm-up"))
    await update_template(db, made.id, ANI, name="Karier", stages=[renamed, stage("talk")])
    session = await create_session(db, ANI, title="Sesi karier", template=made.key)
    async with db.begin() as conn:
        for position, key in enumerate(("pre_preparation", "talk", "gone")):
            await conn.execute(
                insert(stage_log).values(
                    session_id=session.id, position=position, stage_key=key, started_at=NOW
                )
            )
    report = await load_report(db, b"k" * 32, session, "en", retention_days=30)
    assert report.template_name == "Karier"
    assert [s.name for s in report.stages] == ["Warm-up", "Sharing", "gone"]
