"""Helpers for tests of the counseling record: rows written the way server/live/recorder.py writes
them during a live session (straight through SQLAlchemy, sealed with server/platform/sealing.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import insert, update

from server.accounts.counselors import create_counselor
from server.counseling.plans import Plan, save_plan
from server.db.database import DATABASE
from server.db.schema import (
    attendance,
    evaluations,
    notes,
    participation,
    reports,
    sessions,
    stage_log,
)
from server.platform.notes_key import load_or_create_notes_key
from server.platform.sealing import seal
from server.platform.settings import SETTINGS
from server.sessions.store import GuidanceSession, create_session
from server.sessions.team import add_co_leader

START = datetime(2025, 3, 4, 2, 30, tzinfo=UTC)  # 09:30 in Jakarta
NOTE_TEXT = "Sari menyimak dengan tekun, sekali menanggapi Budi"
SECRET_ANSWER = "Saya jadi paham cara mengelola marah"
ANONYMOUS_ANSWER = "Jawaban tanpa nama tentang rasa cemas"
CONCLUSION_TEXT = "Kelompok menyimpulkan: marah boleh, melukai tidak"
INDIVIDUAL_TEXT = "Budi perlu konseling individual minggu depan"
PLAN = Plan(
    topic="Mengelola emosi",
    topic_kind="assigned",
    goals="Anggota mengenali emosi marah",
    field="personal",
    materials="Video singkat dan lembar kerja",
    evaluation_plan="Laiseg UCA di akhir sesi",
    expected_members="Sari, Budi, Dewi",
    group_size=8,
)


def notes_key(client: TestClient) -> bytes:
    return load_or_create_notes_key(client.app[SETTINGS])


async def fill_session(
    client: TestClient,
    counselor_id: int = 1,
    *,
    title: str = "Mengelola emosi",
    ended_at: datetime | None = None,
) -> GuidanceSession:
    """A session with a row in every table of the counseling record."""
    db = client.app[DATABASE]
    key = notes_key(client)
    made = await create_session(db, counselor_id, title=title, template="online")
    sid = made.id
    await save_plan(db, sid, PLAN)
    # A co-counselor (issue 13): their account stays, their place in this session goes with it.
    co = await create_counselor(db, f"co{sid}", "kata-sandi-rahasia", f"Bu Co {sid}")
    await add_co_leader(db, made, co.username)
    people: list[dict[str, Any]] = [
        {"participant": "p-leader", "name": "Bu Ani", "role": "leader", "outcome": "admitted"},
        {"participant": "p-sari", "name": "Sari", "role": "member", "outcome": "admitted"},
        {"participant": "p-budi", "name": "Budi", "role": "member", "outcome": "left"},
        {"participant": "p-eve", "name": "=HYPERLINK(1)", "role": "member", "outcome": "denied"},
    ]
    async with db.begin() as conn:
        for i, person in enumerate(people):
            admitted = None if person["outcome"] == "denied" else START + timedelta(minutes=i)
            await conn.execute(
                insert(attendance).values(
                    session_id=sid,
                    joined_at=START + timedelta(minutes=i),
                    admitted_at=admitted,
                    left_at=START + timedelta(minutes=50),
                    **person,
                )
            )
        for position, (stage, begin, end) in enumerate(
            (("pre_preparation", 0, 5), ("preparation", 5, 15), ("activity", 15, 45))
        ):
            await conn.execute(
                insert(stage_log).values(
                    session_id=sid,
                    position=position,
                    stage_key=stage,
                    started_at=START + timedelta(minutes=begin),
                    ended_at=START + timedelta(minutes=end),
                )
            )
        for participant, speaking, turns in (("p-sari", 125.0, 3), ("p-budi", 61.5, 1)):
            await conn.execute(
                insert(participation).values(
                    session_id=sid,
                    participant=participant,
                    speaking_seconds=speaking,
                    turns=turns,
                    hands=2,
                    chats=4,
                    present_seconds=2700.0,
                )
            )
        for participant, text, ratings in (
            ("p-sari", NOTE_TEXT, {"active": 4, "respects": 5, "serious": 3}),
            ("p-budi", "Budi banyak diam", {"active": 2, "respects": None, "serious": 4}),
        ):
            await conn.execute(
                insert(notes).values(
                    session_id=sid,
                    participant=participant,
                    sealed=seal(key, "note", sid, participant, {"text": text, "ratings": ratings}),
                    updated_at=START,
                )
            )
        for participant, rating, understanding in (
            ("p-sari", 5, SECRET_ANSWER),
            (None, 3, ANONYMOUS_ANSWER),
        ):
            answers = {"understanding": understanding, "comfort": "Lega", "action": "Menulis"}
            await conn.execute(
                insert(evaluations).values(
                    session_id=sid,
                    participant=participant,
                    rating=rating,
                    sealed=seal(key, "evaluation", sid, participant, answers),
                    created_at=START + timedelta(minutes=48),
                )
            )
        conclusions = {
            "conclusions": CONCLUSION_TEXT,
            "next_session": "Sesi lanjutan tentang stres ujian",
            "individual": INDIVIDUAL_TEXT,
            "referral": "",
        }
        await conn.execute(
            insert(reports).values(
                session_id=sid,
                sealed=seal(key, "report", sid, None, conclusions),
                updated_at=START,
            )
        )
        await conn.execute(
            update(sessions)
            .where(sessions.c.id == sid)
            .values(
                status="ended",
                opened_at=START,
                ended_at=ended_at or START + timedelta(minutes=50),
            )
        )
    return made
