"""A counselor's own session templates: the repository over the ``templates`` table.

A counselor copies a built-in template (server/counseling/stages.py) and changes it: its name,
and per stage the names, guidance, checklist, minutes and preset; stages can be added, removed and
reordered. Sessions refer to a custom template by the key ``custom:<id>``; ``resolve_template``
turns that key (or a built-in's) into the same ``Template``/``Stage`` objects the built-ins are,
so the live session runs it unchanged. The live session takes a copy when it opens: editing
the template later changes the sessions opened after, not one that is running.

Deleting a template that an upcoming or open session uses is refused (``TemplateInUse``, with
those sessions' titles), so a planned session never silently changes its stages. Ended
sessions keep the key; their report then shows the stage keys they recorded. If a template
disappears anyway (a race with a delete), ``LiveSessions.open`` falls back to the online model.

Every function a counselor's request reaches takes their id and treats another counselor's
template as missing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final, get_args

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from server.counseling.stages import TEMPLATES, Policy, Preset, Stage, Template, Text
from server.db.schema import CUSTOM_TEMPLATE_NAME_MAX, TEMPLATE_KEY_MAX, sessions, templates

CUSTOM_PREFIX: Final = "custom:"
# A session runs through every stage in one sitting; a dozen is more than either model needs.
TEMPLATE_STAGES_MAX = 12
# A stage's name shows in the room's bar and the leader's panel, on a phone too.
STAGE_TITLE_MAX = 80
# One or two sentences to members under the stage's name.
STAGE_GUIDANCE_MAX = 240
# The leader's checklist: short lines, few enough to read at a glance. The sizes together keep
# a twelve-stage edit form well under the HTTP body limit (server/platform/limits.py, 64 KiB).
CHECKLIST_ITEMS_MAX = 10
CHECKLIST_ITEM_MAX = 120
STAGE_MINUTES_MIN = 1
STAGE_MINUTES_MAX = 240  # a whole school afternoon
# Stage keys are recorded in the stage log (its column is TEMPLATE_KEY_MAX long).
STAGE_KEY_PATTERN: Final = re.compile(rf"[a-z][a-z0-9_]{{0,{TEMPLATE_KEY_MAX - 1}}}")
# Enough for every topic a school year brings; bounds what one account can store.
TEMPLATES_PER_COUNSELOR_MAX = 50
POLICIES: Final[tuple[str, ...]] = get_args(Policy)
# Statuses of a session that will still run its template.
_PENDING: Final = ("planned", "open")


class TemplateInputError(ValueError):
    """Input that cannot be stored. ``errors`` maps each bad field, as the edit form names it
    (``name``, ``stages``, ``stage-2-minutes``, ...), to a stable error id; the message names
    the fields too."""

    def __init__(self, errors: Mapping[str, tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, (_, message) in errors.items()))
        self.errors = {field: error_id for field, (error_id, _) in errors.items()}


class TemplateInUse(Exception):
    """The template is the one of these upcoming or open sessions (their titles)."""

    def __init__(self, titles: Sequence[str]) -> None:
        super().__init__(f"the template is used by {len(titles)} upcoming or open session(s)")
        self.titles = list(titles)


@dataclass(frozen=True)
class CustomTemplate:
    id: int
    counselor_id: int
    name: str
    base: str
    stages: tuple[Stage, ...]
    created_at: datetime
    updated_at: datetime

    @property
    def key(self) -> str:
        return custom_key(self.id)

    def as_template(self) -> Template:
        """The same kind of object as a built-in, for the session form and the live session."""
        return Template(self.key, self.name, self.name, self.stages)


def custom_key(template_id: int) -> str:
    return f"{CUSTOM_PREFIX}{template_id}"


def custom_id(key: str) -> int | None:
    """The template id in ``custom:<id>``, or None for any other key."""
    if not key.startswith(CUSTOM_PREFIX):
        return None
    digits = key[len(CUSTOM_PREFIX) :]
    if not digits.isascii() or not digits.isdigit() or len(digits) > 9 or digits[0] == "0":
        return None
    return int(digits)


# --- JSON --------------------------------------------------------------------------------------


def _text_json(text: Text) -> dict[str, str]:
    return text.both()


def stages_to_json(stages: Sequence[Stage]) -> str:
    return json.dumps(
        [
            {
                "key": s.key,
                "title": _text_json(s.title),
                "guidance": _text_json(s.guidance),
                "checklist": [_text_json(item) for item in s.checklist],
                "minutes": s.minutes,
                "preset": {
                    "policy": s.preset.policy,
                    "video": s.preset.video,
                    "chat": s.preset.chat,
                    "share": s.preset.share,
                },
            }
            for s in stages
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _text_of(value: Any) -> Text:
    if not isinstance(value, dict) or not all(isinstance(value.get(k), str) for k in ("id", "en")):
        raise ValueError("a stored text is not {id, en}")
    return Text(value["id"], value["en"])


def stages_from_json(raw: str) -> tuple[Stage, ...]:
    """The stored stages; ValueError when the text is not what ``stages_to_json`` writes."""
    data = json.loads(raw)
    if not isinstance(data, list):
        raise ValueError("stored stages are not a list")
    stages = []
    for item in data:
        if not isinstance(item, dict):
            raise ValueError("a stored stage is not an object")
        preset = item.get("preset")
        if not isinstance(preset, dict) or preset.get("policy") not in POLICIES:
            raise ValueError("a stored stage has no valid preset")
        flags = [preset.get(k) for k in ("video", "chat", "share")]
        if not all(isinstance(flag, bool) for flag in flags):
            raise ValueError("a stored preset's switches are not booleans")
        minutes = item.get("minutes")
        checklist = item.get("checklist")
        if not isinstance(item.get("key"), str) or type(minutes) is not int:
            raise ValueError("a stored stage has no key or minutes")
        if not isinstance(checklist, list):
            raise ValueError("a stored checklist is not a list")
        stages.append(
            Stage(
                item["key"],
                _text_of(item.get("title")),
                _text_of(item.get("guidance")),
                tuple(_text_of(line) for line in checklist),
                minutes,
                Preset(preset["policy"], bool(flags[0]), bool(flags[1]), bool(flags[2])),
            )
        )
    return tuple(stages)


# --- validation --------------------------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.found: dict[str, tuple[str, str]] = {}

    def add(self, field: str, error_id: str, message: str) -> None:
        self.found.setdefault(field, (error_id, f"{field}: {message}"))

    def raise_any(self) -> None:
        if self.found:
            raise TemplateInputError(self.found)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _check_name(name: str, errors: _Errors) -> str:
    name = _one_line(name)
    if not name:
        errors.add("name", "template_name_empty", "the template's name is empty")
    elif len(name) > CUSTOM_TEMPLATE_NAME_MAX:
        errors.add(
            "name",
            "template_name_long",
            f"the template's name may have at most {CUSTOM_TEMPLATE_NAME_MAX} characters",
        )
    return name


def check_name(name: str) -> str:
    errors = _Errors()
    name = _check_name(name, errors)
    errors.raise_any()
    return name


def _pair(first: str, second: str) -> tuple[str, str]:
    # A text written in one language only is shown in both.
    return first or second, second or first


def _check_stage(stage: Stage, index: int, errors: _Errors) -> Stage:
    prefix = f"stage-{index}"
    if not STAGE_KEY_PATTERN.fullmatch(stage.key):
        errors.add(f"{prefix}-key", "stage_key_invalid", "the stage's key is not valid")
    title = Text(*_pair(_one_line(stage.title.id), _one_line(stage.title.en)))
    if not title.id:
        errors.add(f"{prefix}-title-id", "stage_title_empty", "the stage's name is empty")
    for language in ("id", "en"):
        if len(title(language)) > STAGE_TITLE_MAX:
            errors.add(
                f"{prefix}-title-{language}",
                "stage_title_long",
                f"a stage's name may have at most {STAGE_TITLE_MAX} characters",
            )
    guidance = Text(*_pair(stage.guidance.id.strip(), stage.guidance.en.strip()))
    for language in ("id", "en"):
        if len(guidance(language)) > STAGE_GUIDANCE_MAX:
            errors.add(
                f"{prefix}-guidance-{language}",
                "stage_guidance_long",
                f"the guidance may have at most {STAGE_GUIDANCE_MAX} characters",
            )
    checklist = []
    for item in stage.checklist:
        line = Text(*_pair(_one_line(item.id), _one_line(item.en)))
        if not line.id:
            continue  # an empty line is no item
        checklist.append(line)
        for language in ("id", "en"):
            if len(line(language)) > CHECKLIST_ITEM_MAX:
                errors.add(
                    f"{prefix}-checklist-{language}",
                    "checklist_item_long",
                    f"a checklist line may have at most {CHECKLIST_ITEM_MAX} characters",
                )
    if len(checklist) > CHECKLIST_ITEMS_MAX:
        errors.add(
            f"{prefix}-checklist-id",
            "checklist_long",
            f"a checklist may have at most {CHECKLIST_ITEMS_MAX} lines",
        )
    if (
        type(stage.minutes) is not int
        or not STAGE_MINUTES_MIN <= stage.minutes <= STAGE_MINUTES_MAX
    ):
        errors.add(
            f"{prefix}-minutes",
            "stage_minutes_invalid",
            f"the minutes must be a whole number from {STAGE_MINUTES_MIN} to {STAGE_MINUTES_MAX}",
        )
    if stage.preset.policy not in POLICIES:
        errors.add(f"{prefix}-policy", "stage_policy_invalid", "no such speaking rule")
    return replace(stage, title=title, guidance=guidance, checklist=tuple(checklist))


def _check_stages(stages: Sequence[Stage], errors: _Errors) -> tuple[Stage, ...]:
    if not stages:
        errors.add("stages", "stages_empty", "a template needs at least one stage")
    elif len(stages) > TEMPLATE_STAGES_MAX:
        errors.add(
            "stages", "stages_many", f"a template may have at most {TEMPLATE_STAGES_MAX} stages"
        )
    checked = tuple(_check_stage(stage, index, errors) for index, stage in enumerate(stages))
    seen: set[str] = set()
    for index, stage in enumerate(checked):
        if stage.key in seen:
            errors.add(f"stage-{index}-key", "stage_key_invalid", "two stages have the same key")
        seen.add(stage.key)
    return checked


def check_stages(stages: Sequence[Stage]) -> tuple[Stage, ...]:
    """The stages as they will be stored (whitespace tidied, a text missing in one language
    taken from the other, empty checklist lines dropped); TemplateInputError naming every bad
    field otherwise."""
    errors = _Errors()
    checked = _check_stages(stages, errors)
    errors.raise_any()
    return checked


def new_stage_key(keys: Collection[str]) -> str:
    """A key none of the stages (their ``keys``) has, for a stage the counselor adds."""
    taken = set(keys)
    number = len(taken) + 1
    while f"stage_{number}" in taken:
        number += 1
    return f"stage_{number}"


# --- the repository ----------------------------------------------------------------------------


def _template(row: RowMapping) -> CustomTemplate:
    return CustomTemplate(
        id=row["id"],
        counselor_id=row["counselor_id"],
        name=row["name"],
        base=row["base"],
        stages=stages_from_json(row["stages"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def create_template(
    db: AsyncEngine, counselor_id: int, *, base: str, name: str
) -> CustomTemplate:
    """A new template of this counselor: a copy of the built-in ``base``'s stages."""
    errors = _Errors()
    if base not in TEMPLATES:
        errors.add("base", "template_unknown", "no such built-in template")
    name = _check_name(name, errors)
    errors.raise_any()
    async with db.begin() as conn:
        count = await conn.scalar(
            select(func.count())
            .select_from(templates)
            .where(templates.c.counselor_id == counselor_id)
        )
        if (count or 0) >= TEMPLATES_PER_COUNSELOR_MAX:
            errors.add(
                "base",
                "templates_many",
                f"a counselor may keep at most {TEMPLATES_PER_COUNSELOR_MAX} templates",
            )
            errors.raise_any()
        now = datetime.now(UTC)
        result = await conn.execute(
            insert(templates).values(
                counselor_id=counselor_id,
                name=name,
                base=base,
                stages=stages_to_json(TEMPLATES[base].stages),
                created_at=now,
                updated_at=now,
            )
        )
    key = result.inserted_primary_key
    assert key is not None  # an INSERT of one row always reports its key
    created = await get_template(db, int(key[0]), counselor_id)
    assert created is not None
    return created


async def get_template(
    db: AsyncEngine, template_id: int, counselor_id: int
) -> CustomTemplate | None:
    """The template if it belongs to this counselor; another counselor's is None, as if
    missing."""
    query = select(templates).where(
        templates.c.id == template_id, templates.c.counselor_id == counselor_id
    )
    async with db.connect() as conn:
        row = (await conn.execute(query)).mappings().first()
    return None if row is None else _template(row)


async def list_templates(db: AsyncEngine, counselor_id: int) -> list[CustomTemplate]:
    query = (
        select(templates)
        .where(templates.c.counselor_id == counselor_id)
        .order_by(templates.c.name, templates.c.id)
    )
    async with db.connect() as conn:
        return [_template(row) for row in (await conn.execute(query)).mappings()]


async def own_template_keys(db: AsyncEngine, counselor_id: int) -> set[str]:
    """The ``custom:<id>`` keys of this counselor's templates."""
    query = select(templates.c.id).where(templates.c.counselor_id == counselor_id)
    async with db.connect() as conn:
        return {custom_key(row[0]) for row in await conn.execute(query)}


async def update_template(
    db: AsyncEngine,
    template_id: int,
    counselor_id: int,
    *,
    name: str,
    stages: Sequence[Stage],
) -> CustomTemplate | None:
    """Change a counselor's own template; None when it is not theirs (or gone)."""
    errors = _Errors()
    name = _check_name(name, errors)
    checked = _check_stages(stages, errors)
    errors.raise_any()
    async with db.begin() as conn:
        result = await conn.execute(
            update(templates)
            .where(templates.c.id == template_id, templates.c.counselor_id == counselor_id)
            .values(name=name, stages=stages_to_json(checked), updated_at=datetime.now(UTC))
        )
    if result.rowcount == 0:
        return None
    return await get_template(db, template_id, counselor_id)


async def delete_template(db: AsyncEngine, template_id: int, counselor_id: int) -> bool:
    """Delete a counselor's own template; False when it is not theirs. Raises TemplateInUse
    while an upcoming or open session of theirs uses it (nothing is deleted then)."""
    async with db.begin() as conn:
        users = await conn.execute(
            select(sessions.c.title)
            .where(
                and_(
                    sessions.c.counselor_id == counselor_id,
                    sessions.c.template == custom_key(template_id),
                    sessions.c.status.in_(_PENDING),
                )
            )
            .order_by(sessions.c.id)
        )
        titles = [row[0] for row in users]
        if titles:
            raise TemplateInUse(titles)
        result = await conn.execute(
            delete(templates).where(
                templates.c.id == template_id, templates.c.counselor_id == counselor_id
            )
        )
    return result.rowcount > 0


async def resolve_template(db: AsyncEngine, key: str, counselor_id: int) -> Template | None:
    """The template a session of this counselor names by ``key``: a built-in, or one of their
    own (``custom:<id>``); None when there is no such template (or it is another's)."""
    built_in = TEMPLATES.get(key)
    if built_in is not None:
        return built_in
    template_id = custom_id(key)
    if template_id is None:
        return None
    own = await get_template(db, template_id, counselor_id)
    return None if own is None else own.as_template()


def template_choices(own: Collection[CustomTemplate]) -> list[Template]:
    """What a session's template select offers: the built-ins, then the counselor's own."""
    return [*TEMPLATES.values(), *(t.as_template() for t in own)]
