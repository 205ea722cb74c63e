"""The "My templates" pages: list, make from a built-in, edit stages, delete; the session form."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.counseling.custom_templates import (
    CHECKLIST_ITEM_MAX,
    CHECKLIST_ITEMS_MAX,
    STAGE_GUIDANCE_MAX,
    STAGE_MINUTES_MAX,
    STAGE_TITLE_MAX,
    TEMPLATE_STAGES_MAX,
    TEMPLATES_PER_COUNSELOR_MAX,
    CustomTemplate,
    create_template,
    get_template,
    list_templates,
)
from server.counseling.stages import CLASSIC, ONLINE
from server.counseling.template_pages import StageDraft
from server.db.database import DATABASE
from server.db.schema import CUSTOM_TEMPLATE_NAME_MAX
from server.live.registry import LIVE_SESSIONS
from server.sessions.store import get_session_by_code, list_counselor_sessions
from tests.server.accounts.helpers import add_counselor, csrf_of, log_in, start_client
from web import CATALOGUE_DIR

ANI, BUDI = 1, 2


@pytest.fixture
async def client(aiohttp_client: Any, tmp_path: Path) -> TestClient:
    client = await start_client(aiohttp_client, tmp_path)
    await add_counselor(client, "ani", "Bu Ani")
    await add_counselor(client, "budi", "Pak Budi")
    assert (await log_in(client, "ani")).status == 303
    return client


async def make(client: TestClient, base: str = "classic", name: str = "") -> Any:
    token = await csrf_of(client, "/dashboard/templates")
    return await client.post(
        "/dashboard/templates",
        data={"csrf": token, "base": base, "name": name},
        allow_redirects=False,
    )


def edit_fields(template: CustomTemplate) -> dict[str, str]:
    """The edit form's fields as the page would send them, unchanged."""
    fields = {"name": template.name}
    for index, stage in enumerate(template.stages):
        draft = StageDraft.of(stage)
        prefix = f"stage-{index}"
        fields |= {
            f"{prefix}-key": draft.key,
            f"{prefix}-title-id": draft.title_id,
            f"{prefix}-title-en": draft.title_en,
            f"{prefix}-guidance-id": draft.guidance_id,
            f"{prefix}-guidance-en": draft.guidance_en,
            f"{prefix}-checklist-id": draft.checklist_id,
            f"{prefix}-checklist-en": draft.checklist_en,
            f"{prefix}-minutes": draft.minutes,
            f"{prefix}-policy": draft.policy,
        }
        fields |= {f"{prefix}-{k}": "1" for k in ("video", "chat", "share") if getattr(draft, k)}
    return fields


async def post_edit(client: TestClient, template_id: int, fields: dict[str, str]) -> Any:
    path = f"/dashboard/templates/{template_id}/edit"
    token = await csrf_of(client, path)
    return await client.post(path, data={"csrf": token, **fields}, allow_redirects=False)


async def only_template(client: TestClient) -> CustomTemplate:
    [made] = await list_templates(client.app[DATABASE], ANI)
    return made


async def test_pages_need_a_login(aiohttp_client: Any, tmp_path: Path) -> None:
    anonymous = await start_client(aiohttp_client, tmp_path)
    for path in ("/dashboard/templates", "/dashboard/templates/1/edit"):
        response = await anonymous.get(path, allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"].startswith("/login?next=")


async def test_make_a_template_from_a_built_in(client: TestClient) -> None:
    dashboard = await (await client.get("/dashboard")).text()
    assert 'href="/dashboard/templates"' in dashboard
    empty = await (await client.get("/dashboard/templates")).text()
    assert "Belum ada templat" in empty
    response = await make(client, "classic")
    assert response.status == 303
    made = await only_template(client)
    assert response.headers["Location"] == f"/dashboard/templates/{made.id}/edit"
    assert made.name == "Salinan Model klasik (tatap muka)"
    assert made.stages == CLASSIC.stages
    listing = await (await client.get("/dashboard/templates?lang=en")).text()
    assert "Salinan Model klasik" in listing
    assert "Forming (10 min)" in listing
    page = await (await client.get(f"/dashboard/templates/{made.id}/edit")).text()
    assert 'name="stage-4-key" value="closing"' in page
    assert "Pembentukan" in page


async def test_make_without_csrf_or_with_a_bad_base(client: TestClient) -> None:
    refused = await client.post("/dashboard/templates", data={"base": "online"})
    assert refused.status == 403
    bad = await make(client, "custom:1")
    assert bad.status == 400
    assert "Pilih salah satu model tahapan" in await bad.text()
    long = await make(client, "online", "n" * (CUSTOM_TEMPLATE_NAME_MAX + 1))
    assert long.status == 400
    assert "Nama templat paling banyak 80 karakter." in await long.text()
    assert await list_templates(client.app[DATABASE], ANI) == []


async def test_edit_every_field_of_a_stage(client: TestClient) -> None:
    await make(client, "online", "Emosi")
    made = await only_template(client)
    fields = edit_fields(made)
    fields |= {
        "name": "Mengelola emosi",
        "stage-2-title-id": "Diskusi",
        "stage-2-title-en": "Discussion",
        "stage-2-guidance-id": "Ceritakan satu pengalaman.",
        "stage-2-guidance-en": "",
        "stage-2-checklist-id": "Sapa\r\nBeri topik\r\n\r\n",
        "stage-2-checklist-en": "Greet",
        "stage-2-minutes": "25",
        "stage-2-policy": "members_may_unmute",
    }
    for switch in ("video", "chat"):
        del fields[f"stage-2-{switch}"]
    fields["stage-2-share"] = "1"
    response = await post_edit(client, made.id, {**fields, "action": "save"})
    assert response.status == 303
    assert response.headers["Location"] == f"/dashboard/templates#template-{made.id}"
    saved = await only_template(client)
    assert saved.name == "Mengelola emosi"
    stage = saved.stages[2]
    assert (stage.key, stage.title.id, stage.title.en) == ("activity", "Diskusi", "Discussion")
    assert stage.guidance.en == "Ceritakan satu pengalaman."
    assert [item.both() for item in stage.checklist] == [
        {"id": "Sapa", "en": "Greet"},
        {"id": "Beri topik", "en": "Beri topik"},
    ]
    assert stage.minutes == 25
    assert (stage.preset.policy, stage.preset.video, stage.preset.chat, stage.preset.share) == (
        "members_may_unmute",
        False,
        False,
        True,
    )
    assert saved.stages[:2] == ONLINE.stages[:2]


async def test_add_remove_and_move_stages(client: TestClient) -> None:
    await make(client, "classic")
    made = await only_template(client)
    keys = ["forming", "transition", "activity", "summing_up", "closing"]
    added = await post_edit(client, made.id, {**edit_fields(made), "action": "add"})
    assert added.status == 303
    assert added.headers["Location"] == f"/dashboard/templates/{made.id}/edit#stage-5"
    made = await only_template(client)
    assert [s.key for s in made.stages] == [*keys, "stage_6"]
    assert made.stages[5].title == made.stages[4].title
    moved = await post_edit(client, made.id, {**edit_fields(made), "action": "up-5"})
    assert moved.headers["Location"].endswith("#stage-4")
    made = await only_template(client)
    assert [s.key for s in made.stages][-2:] == ["stage_6", "closing"]
    await post_edit(client, made.id, {**edit_fields(made), "action": "down-0"})
    made = await only_template(client)
    assert [s.key for s in made.stages][:2] == ["transition", "forming"]
    await post_edit(client, made.id, {**edit_fields(made), "action": "remove-1"})
    made = await only_template(client)
    assert [s.key for s in made.stages] == [
        "transition",
        "activity",
        "summing_up",
        "stage_6",
        "closing",
    ]
    # Out-of-range and meaningless actions just save.
    for action in ("up-0", "down-4", "remove-9", "up-x", "whatever"):
        assert (
            await post_edit(client, made.id, {**edit_fields(made), "action": action})
        ).status == 303
    assert [s.key for s in (await only_template(client)).stages] == [s.key for s in made.stages]


async def test_stage_count_at_the_limit_and_one_past(client: TestClient) -> None:
    await make(client, "online")
    made = await only_template(client)
    while len(made.stages) < TEMPLATE_STAGES_MAX:
        assert (
            await post_edit(client, made.id, {**edit_fields(made), "action": "add"})
        ).status == 303
        made = await only_template(client)
    page = await (await client.get(f"/dashboard/templates/{made.id}/edit")).text()
    assert 'value="add"' not in page  # the button is gone at the limit
    again = await post_edit(client, made.id, {**edit_fields(made), "action": "add"})
    assert again.status == 303
    assert len((await only_template(client)).stages) == TEMPLATE_STAGES_MAX
    # A tampered form with one stage more is refused, naming the limit.
    fields = edit_fields(made)
    extra = {
        k.replace("stage-0-", f"stage-{TEMPLATE_STAGES_MAX}-"): v
        for k, v in fields.items()
        if k.startswith("stage-0-")
    }
    extra[f"stage-{TEMPLATE_STAGES_MAX}-key"] = "one_more"
    refused = await post_edit(client, made.id, {**fields, **extra, "action": "save"})
    assert refused.status == 400
    assert "Templat paling banyak 12 tahap." in await refused.text()


async def test_the_only_stage_stays(client: TestClient) -> None:
    await make(client, "classic")
    made = await only_template(client)
    for _ in range(len(made.stages) - 1):
        await post_edit(client, made.id, {**edit_fields(made), "action": "remove-0"})
        made = await only_template(client)
    assert [s.key for s in made.stages] == ["closing"]
    page = await (await client.get(f"/dashboard/templates/{made.id}/edit")).text()
    assert 'value="remove-0"' not in page
    again = await post_edit(client, made.id, {**edit_fields(made), "action": "remove-0"})
    assert again.status == 303
    assert [s.key for s in (await only_template(client)).stages] == ["closing"]


async def test_text_limits_at_the_limit_and_one_past(client: TestClient) -> None:
    await make(client, "online")
    made = await only_template(client)
    at_limit = edit_fields(made) | {
        "name": "n" * CUSTOM_TEMPLATE_NAME_MAX,
        "stage-0-title-id": "t" * STAGE_TITLE_MAX,
        "stage-0-guidance-en": "g" * STAGE_GUIDANCE_MAX,
        "stage-0-checklist-id": "\r\n".join(["c" * CHECKLIST_ITEM_MAX] * CHECKLIST_ITEMS_MAX),
        "stage-0-minutes": str(STAGE_MINUTES_MAX),
    }
    assert (await post_edit(client, made.id, at_limit)).status == 303
    saved = (await only_template(client)).stages[0]
    assert saved.title.id == "t" * STAGE_TITLE_MAX
    assert len(saved.checklist) == CHECKLIST_ITEMS_MAX
    assert saved.minutes == STAGE_MINUTES_MAX
    cases: list[tuple[str, str, str]] = [
        ("name", "n" * (CUSTOM_TEMPLATE_NAME_MAX + 1), "Nama templat paling banyak 80 karakter."),
        ("name", "  ", "Nama templat wajib diisi."),
        ("stage-0-title-id", "t" * (STAGE_TITLE_MAX + 1), "Nama tahap paling banyak 80 karakter."),
        (
            "stage-0-guidance-en",
            "g" * (STAGE_GUIDANCE_MAX + 1),
            "Panduan paling banyak 240 karakter.",
        ),
        (
            "stage-0-checklist-en",
            "c" * (CHECKLIST_ITEM_MAX + 1),
            "Setiap baris daftar periksa paling banyak 120 karakter.",
        ),
        (
            "stage-0-checklist-id",
            "\n".join(["c"] * (CHECKLIST_ITEMS_MAX + 1)),
            "Daftar periksa paling banyak 10 baris.",
        ),
        ("stage-0-minutes", str(STAGE_MINUTES_MAX + 1), "Durasi harus angka bulat 1 sampai 240"),
        ("stage-0-minutes", "0", "Durasi harus angka bulat"),
        ("stage-0-minutes", "satu jam", "Durasi harus angka bulat"),
        ("stage-0-policy", "everyone", "Pilih siapa yang boleh menyalakan mikrofon."),
        ("stage-0-key", "Not A Key", "Tahap ini rusak."),
    ]
    before = await only_template(client)
    for field, value, message in cases:
        response = await post_edit(client, made.id, at_limit | {field: value})
        assert response.status == 400, field
        text = await response.text()
        assert message in text, field
        assert re.search(rf'<p class="error" id="{field}-error">', text), field
        assert await only_template(client) == before


async def test_the_title_needs_one_language(client: TestClient) -> None:
    await make(client, "online")
    made = await only_template(client)
    fields = edit_fields(made) | {"stage-1-title-id": "", "stage-1-title-en": " "}
    response = await post_edit(client, made.id, fields)
    assert response.status == 400
    text = await response.text()
    assert "Nama tahap wajib diisi." in text
    assert 'id="stage-1-title-id" name="stage-1-title-id"' in text
    assert 'aria-invalid="true" aria-describedby="stage-1-title-id-error"' in text


async def test_another_counselors_template_is_404(client: TestClient) -> None:
    db = client.app[DATABASE]
    his = await create_template(db, BUDI, base="online", name="Milik Pak Budi")
    for path in (f"/dashboard/templates/{his.id}/edit", f"/dashboard/templates/{his.id}/delete"):
        assert (await client.get(path)).status == 404
    token = await csrf_of(client, "/dashboard/templates")
    for path in (f"/dashboard/templates/{his.id}/edit", f"/dashboard/templates/{his.id}/delete"):
        posted = await client.post(path, data={"csrf": token, **edit_fields(his)})
        assert posted.status == 404
    assert await get_template(db, his.id, BUDI) == his
    listing = await (await client.get("/dashboard/templates")).text()
    assert "Milik Pak Budi" not in listing
    # Nor can Ani's sessions use it.
    dashboard = await (await client.get("/dashboard")).text()
    assert his.key not in dashboard
    response = await client.post(
        "/dashboard/sessions",
        data={"csrf": token, "title": "Curian", "template": his.key},
        allow_redirects=False,
    )
    assert response.status == 400
    assert "Pilih salah satu model tahapan" in await response.text()
    assert await list_counselor_sessions(db, ANI) == []


async def test_a_session_made_with_a_template_opens_with_its_stages(client: TestClient) -> None:
    await make(client, "classic", "Tiga tahap")
    made = await only_template(client)
    fields = edit_fields(made) | {"stage-0-policy": "ask_to_speak"}
    fields.pop("stage-0-video")
    await post_edit(client, made.id, fields)
    for action in ("remove-4", "remove-3"):
        made = await only_template(client)
        await post_edit(client, made.id, {**edit_fields(made), "action": action})
    form = await (await client.get("/dashboard")).text()
    assert f'<option value="{made.key}" >Tiga tahap</option>' in form
    token = await csrf_of(client, "/dashboard")
    created = await client.post(
        "/dashboard/sessions",
        data={"csrf": token, "title": "Sesi khusus", "template": made.key},
        allow_redirects=False,
    )
    assert created.status == 303
    [session] = await list_counselor_sessions(client.app[DATABASE], ANI)
    assert session.template == made.key
    dashboard = await (await client.get("/dashboard")).text()
    assert "<span>Tiga tahap</span>" in dashboard
    edit = await (await client.get(f"/dashboard/sessions/{session.id}/edit")).text()
    assert f'<option value="{made.key}" selected>Tiga tahap</option>' in edit
    lead = await client.post(f"/api/sessions/{session.code}/lead", json={})
    assert lead.status == 200
    live = client.app[LIVE_SESSIONS].get(session.code)
    assert live is not None
    assert [s.key for s in live.stages] == ["forming", "transition", "activity"]
    assert (live.preset.policy, live.preset.video) == ("ask_to_speak", False)
    record = await get_session_by_code(client.app[DATABASE], session.code)
    assert record is not None
    assert record.status == "open"


async def test_delete_is_refused_while_a_session_uses_the_template(client: TestClient) -> None:
    await make(client, "online", "Dipakai")
    made = await only_template(client)
    token = await csrf_of(client, "/dashboard")
    await client.post(
        "/dashboard/sessions",
        data={"csrf": token, "title": "Sesi Senin", "template": made.key},
        allow_redirects=False,
    )
    page = await (await client.get(f"/dashboard/templates/{made.id}/delete")).text()
    assert "Ya, hapus templat ini" in page
    delete_path = f"/dashboard/templates/{made.id}/delete"
    token = await csrf_of(client, delete_path)
    refused = await client.post(delete_path, data={"csrf": token}, allow_redirects=False)
    assert refused.status == 409
    text = await refused.text()
    assert "masih dipakai" in text
    assert "<li>Sesi Senin</li>" in text
    assert await get_template(client.app[DATABASE], made.id, ANI) == made
    [session] = await list_counselor_sessions(client.app[DATABASE], ANI)
    token = await csrf_of(client, f"/dashboard/sessions/{session.id}/delete")
    await client.post(f"/dashboard/sessions/{session.id}/delete", data={"csrf": token})
    done = await client.post(delete_path, data={"csrf": token}, allow_redirects=False)
    assert done.status == 303
    assert await list_templates(client.app[DATABASE], ANI) == []


async def test_too_many_templates_is_a_clear_error(client: TestClient) -> None:
    db = client.app[DATABASE]
    for number in range(TEMPLATES_PER_COUNSELOR_MAX):
        await create_template(db, ANI, base="online", name=f"T{number:02}")
    response = await make(client, "online")
    assert response.status == 400
    assert "Anda sudah menyimpan 50 templat" in await response.text()


def test_error_messages_state_the_limits_in_force() -> None:
    """Guards against a limit changed in code while the catalogues still state the old one."""
    for language in ("id", "en"):
        catalogue = json.loads((CATALOGUE_DIR / f"{language}.json").read_text(encoding="utf-8"))
        for key, limit in (
            ("error.template_name_long", CUSTOM_TEMPLATE_NAME_MAX),
            ("error.stages_many", TEMPLATE_STAGES_MAX),
            ("error.stage_title_long", STAGE_TITLE_MAX),
            ("error.stage_guidance_long", STAGE_GUIDANCE_MAX),
            ("error.checklist_item_long", CHECKLIST_ITEM_MAX),
            ("error.checklist_long", CHECKLIST_ITEMS_MAX),
            ("error.stage_minutes_invalid", STAGE_MINUTES_MAX),
            ("error.templates_many", TEMPLATES_PER_COUNSELOR_MAX),
        ):
            assert str(limit) in catalogue[key], (language, key)
