"""The session report: page, conclusions form, CSV, PDF, plan.json; owner only; no chat."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import insert

from server.db.database import DATABASE
from server.db.schema import attendance, participation
from server.platform.settings import SETTINGS
from server.records.report import load_report
from server.records.report_pdf import FontMissingError, report_pdf
from server.sessions.store import create_session, get_session
from tests.server.accounts.helpers import add_counselor, csrf_of, log_in, start_client
from tests.server.records.helpers import (
    ANONYMOUS_ANSWER,
    CONCLUSION_TEXT,
    INDIVIDUAL_TEXT,
    NOTE_TEXT,
    PLAN,
    SECRET_ANSWER,
    fill_session,
    notes_key,
)

CHAT_TEXT = "pesan obrolan yang tidak boleh tersimpan"


@pytest.fixture
async def client(aiohttp_client: Any, tmp_path: Path) -> TestClient:
    client = await start_client(aiohttp_client, tmp_path)
    await add_counselor(client, "ani", "Bu Ani")
    await add_counselor(client, "budi", "Pak Budi")
    assert (await log_in(client, "ani")).status == 303
    return client


def pdf_text(body: bytes, tmp_path: Path) -> str:
    """The PDF's text as poppler reads it (fpdf2 compresses streams and embeds a font subset,
    so the bytes themselves hold no searchable text)."""
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.fail("pdftotext is missing: the test command installs Debian's poppler-utils")
    path = tmp_path / "report.pdf"
    path.write_bytes(body)
    return subprocess.run(
        [pdftotext, "-layout", "-enc", "UTF-8", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout


async def test_the_report_page_holds_the_record(client: TestClient) -> None:
    made = await fill_session(client)
    response = await client.get(f"/dashboard/sessions/{made.id}/report")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    page = await response.text()
    assert "<script" not in page
    # The plan.
    for text in (PLAN.topic, PLAN.goals, PLAN.materials, PLAN.evaluation_plan, "Sari, Budi, Dewi"):
        assert text in page
    assert "Topik tugas (dari pemimpin kelompok)" in page
    assert "Pribadi" in page
    # Attendance, names escaped, stages by name, participation.
    assert "Bu Ani" in page
    assert "Ditolak masuk" in page
    assert "Keluar sendiri" in page
    assert "Pra-persiapan" in page
    assert "Persiapan" in page
    assert "Pelaksanaan kegiatan" in page
    assert "2:05" in page  # Sari spoke 125 s
    # Notes, ratings and averages: active (4+2)/2 = 3.0, respects 5 (one given).
    assert NOTE_TEXT in page
    assert "Aktif berpendapat: <strong>3.0</strong>" in page
    assert "Menghargai pendapat: <strong>5.0</strong>" in page
    # Evaluation: two answers, average 4.0, the anonymous one without a name.
    assert SECRET_ANSWER in page
    assert ANONYMOUS_ANSWER in page
    assert "<dt>Jumlah jawaban:</dt><dd>2</dd>" in page
    assert "4.0" in page
    anonymous = page.index(ANONYMOUS_ANSWER)
    heading = page.rindex("<h3>", 0, anonymous)
    assert "Anonim" in page[heading:anonymous]
    assert "Sari" not in page[heading:anonymous]
    # Conclusions and the no-chat statement.
    assert CONCLUSION_TEXT in page
    assert INDIVIDUAL_TEXT in page
    assert "Isi obrolan tidak pernah disimpan" in page
    assert CHAT_TEXT not in page
    # Links to the downloads.
    assert f'href="/dashboard/sessions/{made.id}/report.pdf"' in page
    assert f'href="/dashboard/sessions/{made.id}/report.csv"' in page


async def test_the_report_in_english(client: TestClient) -> None:
    made = await fill_session(client)
    page = await (await client.get(f"/dashboard/sessions/{made.id}/report?lang=en")).text()
    assert "Session report" in page
    assert "Assigned topic (given by the leader)" in page
    assert "Pre-preparation" in page
    assert "Anonymous" in page


async def test_the_dashboard_links_the_report(client: TestClient) -> None:
    made = await fill_session(client)
    page = await (await client.get("/dashboard")).text()
    assert f'href="/dashboard/sessions/{made.id}/report"' in page


async def test_an_empty_session_has_a_report(client: TestClient) -> None:
    made = await create_session(client.app[DATABASE], 1, title="Kosong", template="classic")
    page = await (await client.get(f"/dashboard/sessions/{made.id}/report")).text()
    assert "Tidak ada data." in page
    csv_text = await (await client.get(f"/dashboard/sessions/{made.id}/report.csv")).text()
    sections = csv_text.lstrip("\ufeff").split("\r\n\r\n")
    # The session's header and row, then the other sections' headers alone.
    assert [len(part.strip().splitlines()) for part in sections] == [2, 1, 1, 1]
    pdf = await client.get(f"/dashboard/sessions/{made.id}/report.pdf")
    assert pdf.status == 200


async def test_only_the_owner_sees_a_report(
    aiohttp_client: Any, client: TestClient, tmp_path: Path
) -> None:
    theirs = await fill_session(client, counselor_id=2, title="Sesi Pak Budi")
    for suffix in ("report", "report.pdf", "report.csv"):
        response = await client.get(f"/dashboard/sessions/{theirs.id}/{suffix}")
        assert response.status == 404, suffix
    token = await csrf_of(client, "/dashboard")
    posted = await client.post(
        f"/dashboard/sessions/{theirs.id}/report",
        data={"csrf": token, "conclusions": "bukan milik saya"},
        allow_redirects=False,
    )
    assert posted.status == 404
    plan = await client.get(f"/dashboard/sessions/{theirs.id}/plan.json")
    assert plan.status == 404
    assert CONCLUSION_TEXT not in await plan.text()
    anonymous = await start_client(aiohttp_client, tmp_path / "other")
    response = await anonymous.get("/dashboard/sessions/1/report", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/login?next=")
    assert (await anonymous.get("/dashboard/sessions/1/plan.json")).status == 401


async def test_conclusions_are_saved_sealed(client: TestClient, tmp_path: Path) -> None:
    made = await create_session(client.app[DATABASE], 1, title="Sesi", template="online")
    path = f"/dashboard/sessions/{made.id}/report"
    token = await csrf_of(client, path)
    text = "Kesimpulan baru yang unik 7431"
    posted = await client.post(
        path,
        data={
            "csrf": token,
            "conclusions": text,
            "next_session": "Minggu depan",
            "individual": "",
            "referral": "Rujuk ke psikolog",
        },
        allow_redirects=False,
    )
    assert posted.status == 303
    assert posted.headers["Location"] == f"{path}?saved=1#conclusions"
    page = await (await client.get(f"{path}?saved=1")).text()
    assert text in page
    assert "Rujuk ke psikolog" in page
    assert "Kesimpulan tersimpan." in page
    assert text.encode() not in (tmp_path / "lingkar.sqlite3").read_bytes()


async def test_conclusions_need_the_csrf_token_and_a_sane_length(client: TestClient) -> None:
    made = await fill_session(client)
    path = f"/dashboard/sessions/{made.id}/report"
    refused = await client.post(path, data={"conclusions": "tanpa token"}, allow_redirects=False)
    assert refused.status == 403
    token = await csrf_of(client, path)
    too_long = await client.post(
        path, data={"csrf": token, "conclusions": "x" * 4001}, allow_redirects=False
    )
    assert too_long.status == 400
    page = await too_long.text()
    assert "Isian ini paling banyak 4000 karakter." in page
    # Nothing changed.
    assert CONCLUSION_TEXT in await (await client.get(path)).text()


async def test_the_csv_has_one_row_per_member_and_no_chat(client: TestClient) -> None:
    made = await fill_session(client)
    response = await client.get(f"/dashboard/sessions/{made.id}/report.csv")
    assert response.status == 200
    assert response.content_type == "text/csv"
    assert f"lingkar-{made.code}-report.csv" in response.headers["Content-Disposition"]
    body = await response.read()
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    sections = text.split("\r\n\r\n")
    assert [s.split(",", 1)[0] for s in sections] == ["section"] * 4
    rows = {
        name: list(csv.DictReader(io.StringIO(part)))
        for name, part in zip(("session", "member", "stage", "evaluation"), sections, strict=True)
    }
    [session] = rows["session"]
    assert session["code"] == made.code
    assert session["topic"] == PLAN.topic
    assert session["members_admitted"] == "2"
    assert session["evaluation_average"] == "4"
    members = {row["name"]: row for row in rows["member"]}
    assert list(members) == ["Bu Ani", "Sari", "Budi", "'=HYPERLINK(1)"]
    sari = members["Sari"]
    assert sari["section"] == "member"
    assert sari["speaking_seconds"] == "125"
    assert sari["turns"] == "3"
    assert sari["chats"] == "4"
    assert sari["rating_active"] == "4"
    assert sari["rating_average"] == "4"
    assert sari["note"] == NOTE_TEXT
    assert sari["joined_at"].startswith("2025-03-04T")
    assert members["Budi"]["rating_respects"] == ""
    assert members["Budi"]["rating_average"] == "3"
    assert [row["stage"] for row in rows["stage"]] == [
        "pre_preparation",
        "preparation",
        "activity",
    ]
    assert rows["stage"][1]["minutes"] == "10"
    named, anonymous = rows["evaluation"]
    assert (named["name"], named["anonymous"], named["rating"]) == ("Sari", "no", "5")
    assert (anonymous["name"], anonymous["anonymous"]) == ("", "yes")
    assert anonymous["understanding"] == ANONYMOUS_ANSWER
    assert CHAT_TEXT not in text


async def test_the_pdf_holds_the_record(client: TestClient, tmp_path: Path) -> None:
    made = await fill_session(client)
    response = await client.get(f"/dashboard/sessions/{made.id}/report.pdf")
    assert response.status == 200
    assert response.content_type == "application/pdf"
    assert response.headers["Cache-Control"] == "private, no-store"
    body = await response.read()
    assert body.startswith(b"%PDF-")
    assert b"DejaVu" in body  # the embedded Unicode font
    text = " ".join(pdf_text(body, tmp_path).split())
    for expected in (
        "Laporan sesi",
        "Mengelola emosi",
        made.code,
        PLAN.goals,
        "Topik tugas",
        "Kehadiran",
        "Bu Ani",
        "Sari",
        "Pra-persiapan",
        "Aktif berpendapat",
        "Anonim",
        "Kesimpulan kelompok",
        "Isi obrolan tidak pernah disimpan",
    ):
        assert expected in text, expected
    assert " ".join(NOTE_TEXT.split()[:3]) in text
    assert "Saya jadi paham" in text
    assert CHAT_TEXT not in text


async def test_a_missing_font_fails_clearly(client: TestClient, tmp_path: Path) -> None:
    made = await fill_session(client)
    session = await get_session(client.app[DATABASE], made.id)
    assert session is not None
    report = await load_report(
        client.app[DATABASE], notes_key(client), session, "id", retention_days=30
    )
    with pytest.raises(FontMissingError, match="fonts-dejavu-core"):
        report_pdf(report, lambda key: key, font_dir=tmp_path / "no-fonts")


async def test_a_note_sealed_with_another_key_does_not_break_the_report(
    client: TestClient, tmp_path: Path
) -> None:
    made = await fill_session(client)
    session = await get_session(client.app[DATABASE], made.id)
    assert session is not None
    report = await load_report(client.app[DATABASE], b"\x00" * 32, session, "id", retention_days=30)
    assert all(m.note is None or m.note.unreadable for m in report.members)
    assert all(e.unreadable for e in report.evaluations)
    assert report.conclusions.unreadable


async def test_the_database_holds_no_text_in_clear(client: TestClient) -> None:
    await fill_session(client)
    data = client.app[SETTINGS].database_path.read_bytes()
    for secret in (NOTE_TEXT, SECRET_ANSWER, ANONYMOUS_ANSWER, CONCLUSION_TEXT, INDIVIDUAL_TEXT):
        assert secret.encode() not in data, secret
    assert b"Sari" in data  # attendance names are plain (they are what the report lists)


async def test_people_are_counted_once_with_their_visits(client: TestClient) -> None:
    """A student who left, was removed and came back, and a counselor who reopened the tab,
    are one person each: counted once, one line with every entry and exit, figures added."""
    made = await fill_session(client)
    db = client.app[DATABASE]
    start = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
    visits = [
        ("p-sari-2", "Sari", "member", 52, 55, "removed"),
        ("p-sari-3", "sari", "member", 56, 70, "left"),  # the room compares names caselessly
        ("p-leader-2", "Bu Ani", "leader", 51, 80, "admitted"),
    ]
    async with db.begin() as conn:
        for participant, name, role, came, went, outcome in visits:
            await conn.execute(
                insert(attendance).values(
                    session_id=made.id,
                    participant=participant,
                    name=name,
                    role=role,
                    joined_at=start + timedelta(minutes=came),
                    admitted_at=start + timedelta(minutes=came),
                    left_at=start + timedelta(minutes=went),
                    outcome=outcome,
                )
            )
        await conn.execute(
            insert(participation).values(
                session_id=made.id,
                participant="p-sari-3",
                speaking_seconds=30.0,
                turns=1,
                hands=0,
                chats=1,
                present_seconds=840.0,
            )
        )
    report = await load_report(
        db, notes_key(client), made, "en", retention_days=30, now=start + timedelta(hours=2)
    )
    assert report.admitted_count == 2  # Sari and Budi; Eve was denied
    sari = next(m for m in report.group if m.person.name == "Sari")
    assert len(sari.visits) == 3
    assert sari.person.outcome == "left"
    assert sari.person.left_at == start + timedelta(minutes=70)
    assert sari.figures is not None
    assert sari.figures.speaking_seconds == 155.0
    assert sari.figures.turns == 4
    assert [m.person.name for m in report.leaders] == ["Bu Ani"]
    assert len(report.leaders[0].visits) == 2

    page = await (await client.get(f"/dashboard/sessions/{made.id}/report?lang=en")).text()
    attendance_table = page[page.index("attendance-heading") :]
    attendance_table = attendance_table[: attendance_table.index("</table>")]
    assert attendance_table.count('<th scope="row">Sari</th>') == 1
    assert "Entries and exits" in attendance_table
    text = (await (await client.get(f"/dashboard/sessions/{made.id}/report.csv")).read()).decode(
        "utf-8-sig"
    )
    member_rows = list(csv.DictReader(io.StringIO(text.split("\r\n\r\n")[1])))
    assert [row["name"] for row in member_rows].count("Sari") == 1
    [sari_row] = [row for row in member_rows if row["name"] == "Sari"]
    assert sari_row["visits"].count(";") == 2
    assert sari_row["turns"] == "4"
