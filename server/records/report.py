"""The session report: what a session left in the counseling record, gathered for one reader.

``load_report`` reads the plan, attendance, stages held, participation, the leader's notes and
ratings, the members' evaluations and the counselor's conclusions and opens what is sealed
(server/platform/sealing.py). Chat is never part of it: it is never stored. The HTML page, the
PDF and the CSV (server/records/report_pages.py, report_pdf.py, report_csv.py) all render this
one object.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from statistics import fmean
from typing import Any, Final

from sqlalchemy import RowMapping, Select, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.counseling.custom_templates import resolve_template
from server.counseling.plans import Plan, get_plan
from server.counseling.stages import Template
from server.db.schema import (
    PLAN_TEXT_MAX,
    attendance,
    evaluations,
    notes,
    participation,
    reports,
    stage_log,
)
from server.live.names import name_key
from server.platform.sealing import SealError, seal, unseal
from server.sessions.store import GuidanceSession

log = logging.getLogger("lingkar.report")

# The research's observation indicators (../shared/domain.md, "Pengamatan").
RATINGS: Final = ("active", "respects", "serious")
# The attendance roles of those who lead (server/live/permissions.py's Role values).
LEADING_ROLES: Final = ("leader", "co_leader")
RATING_MIN = 1
RATING_MAX = 5
# The closing evaluation (laiseg, UCA).
EVALUATION_ANSWERS: Final = ("understanding", "comfort", "action")
# The counselor's conclusions and follow-up (tindak lanjut).
CONCLUSION_FIELDS: Final = ("conclusions", "next_session", "individual", "referral")
# Follow-up that names particular students: erased when personal data expire (retention).
PERSONAL_CONCLUSION_FIELDS: Final = ("individual", "referral")


class ConclusionsInputError(ValueError):
    def __init__(self, field: str) -> None:
        super().__init__(f"{field} may have at most {PLAN_TEXT_MAX} characters")
        self.field = field


@dataclass(frozen=True)
class Person:
    participant: str
    name: str | None  # None: no attendance row (never written, or expired)
    role: str
    joined_at: datetime | None
    admitted_at: datetime | None
    left_at: datetime | None
    outcome: str | None


@dataclass(frozen=True)
class StageHeld:
    position: int
    key: str
    name: str
    started_at: datetime
    ended_at: datetime | None

    @property
    def minutes(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds() / 60


@dataclass(frozen=True)
class Figures:
    speaking_seconds: float
    turns: int
    hands: int
    chats: int  # how many chat messages: a count only, never their text
    present_seconds: float


@dataclass(frozen=True)
class Note:
    text: str
    ratings: dict[str, int | None]
    unreadable: bool = False  # sealed with another key (or damaged)

    @property
    def average(self) -> float | None:
        given = [value for value in self.ratings.values() if value is not None]
        return round(fmean(given), 2) if given else None


@dataclass(frozen=True)
class MemberRecord:
    """One person of the session: every time they came in and went (``visits``, in order: a
    student who left and came back, or a counselor who reopened the tab, has several
    participant ids), their figures added up, and the latest note about them."""

    person: Person  # the whole stay: first arrival, first admission, last exit and outcome
    figures: Figures | None
    note: Note | None
    visits: tuple[Person, ...] = ()


@dataclass(frozen=True)
class EvaluationAnswer:
    name: str | None  # None when anonymous (or the member's name has expired)
    anonymous: bool
    rating: int
    answers: dict[str, str]
    created_at: datetime
    unreadable: bool = False


@dataclass(frozen=True)
class Conclusions:
    conclusions: str = ""  # kept after retention: the group's record
    next_session: str = ""
    individual: str = ""
    referral: str = ""
    updated_at: datetime | None = None
    unreadable: bool = False

    def as_json(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in CONCLUSION_FIELDS}

    @property
    def is_empty(self) -> bool:
        return not any(self.as_json().values())


@dataclass(frozen=True)
class SessionReport:
    session: GuidanceSession
    template_name: str
    plan: Plan
    members: list[MemberRecord]
    stages: list[StageHeld]
    evaluations: list[EvaluationAnswer]
    conclusions: Conclusions
    personal_data_expired: bool
    expires_at: datetime | None
    rating_averages: dict[str, float | None] = field(default_factory=dict)

    @property
    def leaders(self) -> list[MemberRecord]:
        """Who led: the session's counselor and any co-counselor who entered."""
        return [m for m in self.members if m.person.role in LEADING_ROLES]

    @property
    def observers(self) -> list[MemberRecord]:
        return [m for m in self.members if m.person.role == "observer"]

    @property
    def group(self) -> list[MemberRecord]:
        """The members (students): not the counselors, not the observers."""
        return [m for m in self.members if m.person.role == "member"]

    @property
    def admitted_count(self) -> int:
        return sum(1 for m in self.group if m.person.admitted_at is not None)

    @property
    def evaluation_average(self) -> float | None:
        if not self.evaluations:
            return None
        return round(fmean(e.rating for e in self.evaluations), 2)

    @property
    def has_notes(self) -> bool:
        return any(m.note is not None for m in self.group)

    @property
    def has_figures(self) -> bool:
        return any(m.figures is not None for m in self.members)


def minutes_seconds(seconds: float | None) -> str:
    """A duration as m:ss (speaking and presence times)."""
    if seconds is None:
        return ""
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def expiry(session: GuidanceSession, retention_days: int) -> datetime | None:
    """When this session's personal data are deleted (None while it has not ended)."""
    if session.status != "ended" or session.ended_at is None:
        return None
    return session.ended_at + timedelta(days=retention_days)


def _stage_name(template: Template | None, stage_key: str, language: str) -> str:
    if template is not None:
        for stage in template.stages:
            if stage.key == stage_key:
                return stage.name(language)
    # A stage of a template that changed or was deleted since: its key is all there is.
    return stage_key


def _people(records: list[MemberRecord]) -> list[MemberRecord]:
    """One record per person: the rows of one role under one name (as the room compares
    names, server/live/names.py) are one person who came more than once. Names are unique among
    those present, so two rows with one name never overlap in time. A row without a name (its
    attendance expired or never written) stays on its own."""
    groups: dict[tuple[str, str], list[MemberRecord]] = {}
    alone: list[MemberRecord] = []
    for record in records:
        name = record.person.name
        if name is None:
            alone.append(record)
        else:
            groups.setdefault((record.person.role, name_key(name)), []).append(record)
    merged = [_merge(group) for group in groups.values()]
    return merged + [replace(r, visits=(r.person,)) for r in alone]


def _merge(group: list[MemberRecord]) -> MemberRecord:
    visits = tuple(r.person for r in group)  # in order of arrival (the query's order)
    first, last = visits[0], visits[-1]
    admitted = [v.admitted_at for v in visits if v.admitted_at is not None]
    person = replace(
        first,
        admitted_at=admitted[0] if admitted else None,
        left_at=last.left_at,
        outcome=last.outcome,
    )
    counted = [r.figures for r in group if r.figures is not None]
    figures = (
        Figures(
            sum(f.speaking_seconds for f in counted),
            sum(f.turns for f in counted),
            sum(f.hands for f in counted),
            sum(f.chats for f in counted),
            sum(f.present_seconds for f in counted),
        )
        if counted
        else None
    )
    notes = [r.note for r in group if r.note is not None]
    return MemberRecord(person, figures, notes[-1] if notes else None, visits)


def _rating(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and RATING_MIN <= value <= RATING_MAX:
        return value
    return None


def _open_note(key: bytes, session_id: int, participant: str, blob: bytes) -> Note:
    try:
        value = unseal(key, "note", session_id, participant, blob)
    except SealError:
        log.warning("a note of session %d does not open with the notes key", session_id)
        return Note("", dict.fromkeys(RATINGS), unreadable=True)
    ratings_in = value.get("ratings") if isinstance(value, dict) else None
    ratings_in = ratings_in if isinstance(ratings_in, dict) else {}
    text = value.get("text") if isinstance(value, dict) else None
    return Note(
        text if isinstance(text, str) else "",
        {name: _rating(ratings_in.get(name)) for name in RATINGS},
    )


def _open_answers(key: bytes, session_id: int, participant: str | None, blob: bytes) -> Any:
    try:
        return unseal(key, "evaluation", session_id, participant, blob)
    except SealError:
        log.warning("an evaluation of session %d does not open with the notes key", session_id)
        return None


def _open_conclusions(key: bytes, session_id: int, blob: bytes, at: datetime) -> Conclusions:
    try:
        value = unseal(key, "report", session_id, None, blob)
    except SealError:
        log.warning("the report of session %d does not open with the notes key", session_id)
        return Conclusions(updated_at=at, unreadable=True)
    value = value if isinstance(value, dict) else {}
    texts = {name: value.get(name) for name in CONCLUSION_FIELDS}
    return _conclusions({k: v if isinstance(v, str) else "" for k, v in texts.items()}, at)


def _conclusions(texts: dict[str, str], at: datetime | None = None) -> Conclusions:
    return Conclusions(
        conclusions=texts["conclusions"],
        next_session=texts["next_session"],
        individual=texts["individual"],
        referral=texts["referral"],
        updated_at=at,
    )


async def _rows(conn: AsyncConnection, query: Select[Any]) -> Sequence[RowMapping]:
    rows: Sequence[RowMapping] = (await conn.execute(query)).mappings().all()
    return rows


async def load_report(
    db: AsyncEngine,
    key: bytes,
    session: GuidanceSession,
    language: str,
    *,
    retention_days: int,
    now: datetime | None = None,
) -> SessionReport:
    sid = session.id
    # A built-in or the counselor's own template (server/counseling/custom_templates.py), as it is
    # now.
    template = await resolve_template(db, session.template, session.counselor_id)
    async with db.connect() as conn:
        plan = await get_plan(conn, sid)
        people = await _rows(
            conn,
            select(attendance)
            .where(attendance.c.session_id == sid)
            .order_by(attendance.c.joined_at, attendance.c.id),
        )
        stage_rows = await _rows(
            conn,
            select(stage_log)
            .where(stage_log.c.session_id == sid)
            .order_by(stage_log.c.started_at, stage_log.c.id),
        )
        figure_rows = await _rows(
            conn, select(participation).where(participation.c.session_id == sid)
        )
        # The counselors' notes only: an observer's are theirs alone.
        note_rows = await _rows(
            conn, select(notes).where((notes.c.session_id == sid) & (notes.c.author == ""))
        )
        evaluation_rows = await _rows(
            conn,
            select(evaluations)
            .where(evaluations.c.session_id == sid)
            .order_by(evaluations.c.created_at, evaluations.c.id),
        )
        report_rows = await _rows(conn, select(reports).where(reports.c.session_id == sid))
        report_row = report_rows[0] if report_rows else None

    persons: dict[str, Person] = {
        row["participant"]: Person(
            row["participant"],
            row["name"],
            row["role"],
            row["joined_at"],
            row["admitted_at"],
            row["left_at"],
            row["outcome"],
        )
        for row in people
    }
    figures = {
        row["participant"]: Figures(
            float(row["speaking_seconds"]),
            int(row["turns"]),
            int(row["hands"]),
            int(row["chats"]),
            float(row["present_seconds"]),
        )
        for row in figure_rows
    }
    opened_notes = {
        row["participant"]: _open_note(key, sid, row["participant"], row["sealed"])
        for row in note_rows
    }
    # Someone with figures or a note but no attendance row still gets a line, without a name.
    for participant in (*figures, *opened_notes):
        persons.setdefault(participant, Person(participant, None, "member", *(None,) * 4))
    members = _people(
        [MemberRecord(p, figures.get(pid), opened_notes.get(pid)) for pid, p in persons.items()]
    )

    answers: list[EvaluationAnswer] = []
    for row in evaluation_rows:
        participant = row["participant"]
        opened = _open_answers(key, sid, participant, row["sealed"])
        texts = opened if isinstance(opened, dict) else {}
        person = persons.get(participant) if participant is not None else None
        answers.append(
            EvaluationAnswer(
                name=None if person is None else person.name,
                anonymous=participant is None,
                rating=int(row["rating"]),
                answers={
                    name: text if isinstance(text := texts.get(name), str) else ""
                    for name in EVALUATION_ANSWERS
                },
                created_at=row["created_at"],
                unreadable=opened is None,
            )
        )

    conclusions = (
        Conclusions()
        if report_row is None
        else _open_conclusions(key, sid, report_row["sealed"], report_row["updated_at"])
    )
    expires_at = expiry(session, retention_days)
    moment = now or datetime.now(UTC)
    averages: dict[str, float | None] = {}
    for name in RATINGS:
        given = [
            rating
            for m in members
            if m.note is not None and (rating := m.note.ratings.get(name)) is not None
        ]
        averages[name] = round(fmean(given), 2) if given else None
    return SessionReport(
        session=session,
        template_name=session.template if template is None else template.name(language),
        plan=plan or Plan(),
        members=members,
        stages=[
            StageHeld(
                row["position"],
                row["stage_key"],
                _stage_name(template, row["stage_key"], language),
                row["started_at"],
                row["ended_at"],
            )
            for row in stage_rows
        ],
        evaluations=answers,
        conclusions=conclusions,
        personal_data_expired=expires_at is not None and moment > expires_at,
        expires_at=expires_at,
        rating_averages=averages,
    )


def check_conclusions(form: dict[str, str]) -> Conclusions:
    values: dict[str, str] = {}
    for name in CONCLUSION_FIELDS:
        text = form.get(name, "").replace("\r\n", "\n").strip()
        if len(text) > PLAN_TEXT_MAX:
            raise ConclusionsInputError(name)
        values[name] = text
    return _conclusions(values)


async def save_conclusions(
    db: AsyncEngine, key: bytes, session_id: int, conclusions: Conclusions
) -> None:
    """Seal and store the counselor's conclusions and follow-up; all empty deletes the row."""
    now = datetime.now(UTC)
    async with db.begin() as conn:
        if conclusions.is_empty:
            await conn.execute(delete(reports).where(reports.c.session_id == session_id))
            return
        sealed = seal(key, "report", session_id, None, conclusions.as_json())
        result = await conn.execute(
            update(reports)
            .where(reports.c.session_id == session_id)
            .values(sealed=sealed, updated_at=now)
        )
        if result.rowcount == 0:
            await conn.execute(
                insert(reports).values(session_id=session_id, sealed=sealed, updated_at=now)
            )
