"""The session report as one CSV file, for a spreadsheet or the school's records.

The file holds four sections, one after another, separated by one empty line. Each section
starts with its own header row; the first column of every row names its section, so rows stay
self-describing after sorting or filtering:

- ``session``: one row: code, title, template, times, the plan's topic, kind, field and group
  size, how many members were admitted, how many evaluations and their average rating;
- ``member``: one row per person who came (leader first, then members in order of arrival):
  attendance (first arrival, first admission, last exit; ``visits`` lists every entry and exit
  as ``in/out`` pairs separated by ``;`` when they came more than once), participation figures
  added over their visits, the leader's three ratings, their average, and the note;
- ``stage``: one row per stage held, with its start, end and minutes;
- ``evaluation``: one row per closing evaluation: the name (empty when answered anonymously),
  ``anonymous`` yes/no, the rating 1-5 and the three UCA answers.

Column names are fixed English keys (they are a data format, not page text); times are ISO 8601
in the server's local time with its offset. Chat is never in it. Text that a spreadsheet would
run as a formula (starting with ``= + - @``, a tab or a carriage return) is prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime

from server.records.report import EVALUATION_ANSWERS, RATINGS, Person, SessionReport

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

SESSION_COLUMNS = (
    "section",
    "code",
    "title",
    "template",
    "scheduled_at",
    "opened_at",
    "ended_at",
    "topic",
    "topic_kind",
    "field",
    "group_size",
    "members_admitted",
    "evaluations",
    "evaluation_average",
)
MEMBER_COLUMNS = (
    "section",
    "name",
    "role",
    "joined_at",
    "admitted_at",
    "left_at",
    "outcome",
    "visits",
    "speaking_seconds",
    "turns",
    "hands",
    "chats",
    "present_seconds",
    *(f"rating_{name}" for name in RATINGS),
    "rating_average",
    "note",
)
STAGE_COLUMNS = ("section", "position", "stage", "name", "started_at", "ended_at", "minutes")
EVALUATION_COLUMNS = ("section", "name", "anonymous", "rating", *EVALUATION_ANSWERS)


def _visits(visits: Sequence[Person]) -> str:
    """Every entry and exit of a person who came more than once (empty otherwise)."""
    if len(visits) < 2:
        return ""
    return "; ".join(f"{_cell(v.joined_at)}/{_cell(v.left_at)}" for v in visits)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone().isoformat(timespec="seconds")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}" if value == int(value) else f"{value:.2f}".rstrip("0")
    text = str(value)
    if isinstance(value, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _rows(out: csv.DictWriter[str], rows: Sequence[dict[str, object]]) -> None:
    out.writeheader()
    for row in rows:
        out.writerow({name: _cell(value) for name, value in row.items()})


def report_csv(report: SessionReport) -> str:
    buffer = io.StringIO()
    s, plan = report.session, report.plan
    sections: list[tuple[tuple[str, ...], list[dict[str, object]]]] = [
        (
            SESSION_COLUMNS,
            [
                {
                    "section": "session",
                    "code": s.code,
                    "title": s.title,
                    "template": s.template,
                    "scheduled_at": s.scheduled_at,
                    "opened_at": s.opened_at,
                    "ended_at": s.ended_at,
                    "topic": plan.topic,
                    "topic_kind": plan.topic_kind,
                    "field": plan.field,
                    "group_size": plan.group_size,
                    "members_admitted": report.admitted_count,
                    "evaluations": len(report.evaluations),
                    "evaluation_average": report.evaluation_average,
                }
            ],
        ),
        (
            MEMBER_COLUMNS,
            [
                {
                    "section": "member",
                    "name": m.person.name,
                    "role": m.person.role,
                    "joined_at": m.person.joined_at,
                    "admitted_at": m.person.admitted_at,
                    "left_at": m.person.left_at,
                    "outcome": m.person.outcome,
                    "visits": _visits(m.visits),
                    "speaking_seconds": None if m.figures is None else m.figures.speaking_seconds,
                    "turns": None if m.figures is None else m.figures.turns,
                    "hands": None if m.figures is None else m.figures.hands,
                    "chats": None if m.figures is None else m.figures.chats,
                    "present_seconds": None if m.figures is None else m.figures.present_seconds,
                    **{
                        f"rating_{name}": None if m.note is None else m.note.ratings.get(name)
                        for name in RATINGS
                    },
                    "rating_average": None if m.note is None else m.note.average,
                    "note": None if m.note is None else m.note.text,
                }
                for m in [*report.leaders, *report.observers, *report.group]
            ],
        ),
        (
            STAGE_COLUMNS,
            [
                {
                    "section": "stage",
                    "position": stage.position,
                    "stage": stage.key,
                    "name": stage.name,
                    "started_at": stage.started_at,
                    "ended_at": stage.ended_at,
                    "minutes": None if stage.minutes is None else round(stage.minutes, 1),
                }
                for stage in report.stages
            ],
        ),
        (
            EVALUATION_COLUMNS,
            [
                {
                    "section": "evaluation",
                    "name": None if e.anonymous else e.name,
                    "anonymous": e.anonymous,
                    "rating": e.rating,
                    **{name: e.answers.get(name, "") for name in EVALUATION_ANSWERS},
                }
                for e in report.evaluations
            ],
        ),
    ]
    for index, (columns, rows) in enumerate(sections):
        if index:
            buffer.write("\r\n")
        _rows(csv.DictWriter(buffer, fieldnames=columns, lineterminator="\r\n"), rows)
    return buffer.getvalue()
