"""The session plan (RPL, Rencana Pelaksanaan Layanan): one row of ``plans`` per session.

The plan is written on the dashboard's create and edit forms and read by the leader's live page
(``plan.json``) and the session report. Its date and time is the session's own ``scheduled_at``.
A row is made only when the counselor writes something into the plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.db.schema import (
    FIELDS,
    GROUP_SIZE_MAX,
    GROUP_SIZE_MIN,
    PLAN_TEXT_MAX,
    PLAN_TOPIC_MAX,
    TOPIC_KINDS,
    plans,
)

# Longer input cannot be a group size: do not parse it.
GROUP_SIZE_INPUT_MAX = 10
# The free-text fields of the plan and their column sizes.
TEXT_FIELDS = {
    "topic": PLAN_TOPIC_MAX,
    "goals": PLAN_TEXT_MAX,
    "materials": PLAN_TEXT_MAX,
    "evaluation_plan": PLAN_TEXT_MAX,
    "expected_members": PLAN_TEXT_MAX,
}


@dataclass(frozen=True)
class Plan:
    topic: str = ""
    topic_kind: str | None = None  # assigned (topik tugas) | free (topik bebas)
    goals: str = ""
    field: str | None = None  # personal | social | learning | career
    materials: str = ""
    evaluation_plan: str = ""
    expected_members: str = ""  # names, free text; personal data (cleared by retention)
    group_size: int | None = None

    @property
    def is_empty(self) -> bool:
        return self == Plan()

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


PLAN_COLUMNS = tuple(f.name for f in fields(Plan))


class PlanInputError(ValueError):
    """A plan field that cannot be stored; ``field`` is the form field, ``error_id`` stable."""

    def __init__(self, field: str, error_id: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.error_id = error_id


def _text(name: str, raw: str) -> str:
    # Line breaks matter in goals and materials; only the ends are trimmed.
    value = raw.replace("\r\n", "\n").strip()
    if name == "topic":
        value = " ".join(value.split())
    if len(value) > TEXT_FIELDS[name]:
        raise PlanInputError(
            name, f"plan_{name}_long", f"{name} may have at most {TEXT_FIELDS[name]} characters"
        )
    return value


def _choice(name: str, raw: str, allowed: tuple[str, ...]) -> str | None:
    value = raw.strip()
    if not value:
        return None
    if value not in allowed:
        raise PlanInputError(name, f"plan_{name}_unknown", f"{name} is not one of {allowed}")
    return value


def _group_size(raw: str) -> int | None:
    text = raw.strip()
    if not text:
        return None
    if len(text) > GROUP_SIZE_INPUT_MAX or not text.isascii() or not text.isdigit():
        raise PlanInputError("group_size", "plan_group_size", "the group size is not a number")
    size = int(text)
    if not GROUP_SIZE_MIN <= size <= GROUP_SIZE_MAX:
        raise PlanInputError(
            "group_size",
            "plan_group_size",
            f"the group size must be {GROUP_SIZE_MIN}-{GROUP_SIZE_MAX}",
        )
    return size


def parse_plan_form(form: Mapping[str, str]) -> tuple[Plan | None, dict[str, str]]:
    """The validated plan from a form, or None and the error message key of each bad field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    checks: list[tuple[str, Any]] = [
        *((name, lambda raw, name=name: _text(name, raw)) for name in TEXT_FIELDS),
        ("topic_kind", lambda raw: _choice("topic_kind", raw, TOPIC_KINDS)),
        ("field", lambda raw: _choice("field", raw, FIELDS)),
        ("group_size", _group_size),
    ]
    for name, check in checks:
        raw = form.get(name, "")
        try:
            values[name] = check(raw if isinstance(raw, str) else "")
        except PlanInputError as exc:
            errors[exc.field] = f"error.{exc.error_id}"
    if errors:
        return None, errors
    return Plan(**values), {}


def plan_form_values(form: Mapping[str, str]) -> dict[str, str]:
    """What was typed, echoed back into the form after an error (cut to the field sizes)."""
    limits = {**TEXT_FIELDS, "topic_kind": 10, "field": 10, "group_size": GROUP_SIZE_INPUT_MAX}
    return {name: str(form.get(name, ""))[: limits[name]] for name in PLAN_COLUMNS}


def plan_values(plan: Plan) -> dict[str, str]:
    """A stored plan as form values."""
    return {name: "" if value is None else str(value) for name, value in plan.as_json().items()}


async def get_plan(db: AsyncEngine | AsyncConnection, session_id: int) -> Plan | None:
    query = select(*(plans.c[name] for name in PLAN_COLUMNS)).where(
        plans.c.session_id == session_id
    )
    if isinstance(db, AsyncConnection):
        row = (await db.execute(query)).mappings().first()
    else:
        async with db.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
    return None if row is None else Plan(**dict(row))


async def save_plan(db: AsyncEngine, session_id: int, plan: Plan) -> None:
    """Store the plan of a session (the caller checked that the session is the counselor's).
    An empty plan makes no row, but empties one that exists."""
    values = plan.as_json()
    async with db.begin() as conn:
        result = await conn.execute(
            update(plans).where(plans.c.session_id == session_id).values(**values)
        )
        if result.rowcount == 0 and not plan.is_empty:
            await conn.execute(insert(plans).values(session_id=session_id, **values))
