"""The counselor's dashboard: their sessions (open, upcoming, ended; filtered and paged by
server/sessions/listing.py), create, edit, delete, each session's join link and QR code on demand,
and a notice about sessions that ended by themselves. Login required; another counselor's
session is 404.
"""

from __future__ import annotations

import io
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import segno
from aiohttp import web
from multidict import MultiDictProxy

from server.accounts.auth import checked_form, csrf_token, require_counselor
from server.accounts.counselors import Counselor, get_counselor
from server.counseling.custom_templates import CustomTemplate, list_templates, template_choices
from server.counseling.plans import (
    Plan,
    get_plan,
    parse_plan_form,
    plan_form_values,
    plan_values,
    save_plan,
)
from server.counseling.stages import DEFAULT_TEMPLATE, TEMPLATES
from server.db.database import DATABASE
from server.db.schema import ABANDONED, FIELDS, GROUP_SIZE_MAX, GROUP_SIZE_MIN, TOPIC_KINDS
from server.platform.pages import render_page
from server.platform.settings import SETTINGS
from server.sessions.listing import ListQuery, group_sessions, session_date
from server.sessions.store import (
    GuidanceSession,
    Keep,
    SessionInputError,
    check_session_password_rules,
    check_template,
    check_title,
    create_session,
    delete_session,
    dismiss_notices,
    get_counselor_session,
    list_counselor_sessions,
    parse_scheduled_at,
    update_session,
)
from server.sessions.team import list_co_leaders, list_co_led_sessions


def join_url(request: web.Request, code: str) -> str:
    """The link students open, on the host name the counselor reached this server by."""
    secure = request.secure or request.app[SETTINGS].insecure_http
    return f"{'https' if secure else request.scheme}://{request.host}/s/{code}"


def observer_url(request: web.Request, code: str) -> str:
    """The observers' own link: they wait in the lobby and are named in the room."""
    return f"{join_url(request, code)}/observe"


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    # The server's clock is the school's: show times as the counselor entered them.
    return "" if value is None else value.astimezone().strftime(fmt)


@dataclass(frozen=True)
class SessionView:
    session: GuidanceSession
    join_url: str
    # The name of the counselor's own template the session uses
    # (server/counseling/custom_templates.py).
    custom_name: str | None = None
    # For a session this counselor co-leads: its owner's name.
    owner: str = ""

    @property
    def scheduled(self) -> str:
        return local_time(self.session.scheduled_at)

    @property
    def when(self) -> str:
        """The session's date (its schedule, else when it opened, else its creation)."""
        return local_time(session_date(self.session))

    @property
    def ended(self) -> str:
        return local_time(self.session.ended_at)

    @property
    def abandoned(self) -> bool:
        return self.session.end_reason == ABANDONED

    def template_name(self, language: str) -> str:
        if self.custom_name is not None:
            return self.custom_name
        template = TEMPLATES.get(self.session.template)
        return self.session.template if template is None else template.name(language)


@dataclass
class SessionFormValues:
    title: str = ""
    template: str = DEFAULT_TEMPLATE
    scheduled_at: str = ""
    # The plan's fields (server/counseling/plans.py) as typed.
    plan: dict[str, str] = field(default_factory=lambda: plan_values(Plan()))


@dataclass(frozen=True)
class ParsedForm:
    title: str
    template: str
    scheduled_at: datetime | None
    password: str | None
    plan: Plan


def parse_session_form(
    form: MultiDictProxy[str], own_templates: Collection[str] = ()
) -> tuple[ParsedForm | None, dict[str, str]]:
    """The validated fields, or None and the error message key of each bad field.
    ``own_templates``: the ``custom:<id>`` keys of the counselor's own templates."""
    errors: dict[str, str] = {}
    parsed: dict[str, Any] = {}
    checks = (
        ("title", check_title, form.get("title", "")),
        ("template", lambda key: check_template(key, own_templates), form.get("template", "")),
        ("scheduled_at", parse_scheduled_at, form.get("scheduled_at", "")),
    )
    for name, check, raw in checks:
        try:
            parsed[name] = check(raw)
        except SessionInputError as exc:
            errors[exc.field] = f"error.{exc.error_id}"
    password = form.get("password", "")
    parsed["password"] = None
    if password:
        try:
            parsed["password"] = check_session_password_rules(password)
        except SessionInputError as exc:
            errors[exc.field] = f"error.{exc.error_id}"
    plan, plan_errors = parse_plan_form(form)
    errors.update(plan_errors)
    if errors or plan is None:
        return None, errors
    return ParsedForm(**parsed, plan=plan), {}


def _values(form: MultiDictProxy[str]) -> SessionFormValues:
    # Echoed back into the form after an error, cut to what the fields accept anyway.
    return SessionFormValues(
        title=form.get("title", "")[:200],
        template=form.get("template", DEFAULT_TEMPLATE)[:40],
        scheduled_at=form.get("scheduled_at", "")[:40],
        plan=plan_form_values(form),
    )


def _plan_choices() -> dict[str, Any]:
    return {
        "topic_kinds": TOPIC_KINDS,
        "plan_fields": FIELDS,
        "group_size_min": GROUP_SIZE_MIN,
        "group_size_max": GROUP_SIZE_MAX,
    }


async def _render_dashboard(
    request: web.Request,
    counselor: Counselor,
    *,
    values: SessionFormValues | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    own = await list_counselor_sessions(request.app[DATABASE], counselor.id)
    own_templates = await list_templates(request.app[DATABASE], counselor.id)
    names = {t.key: t.name for t in own_templates}

    def view(session: GuidanceSession) -> SessionView:
        return SessionView(session, join_url(request, session.code), names.get(session.template))

    query = ListQuery.parse(request)
    groups = [(group, [view(s) for s in group.sessions]) for group in group_sessions(own, query)]
    co_led = []
    for session in await list_co_led_sessions(request.app[DATABASE], counselor.id):
        owner = await get_counselor(request.app[DATABASE], session.counselor_id)
        co_led.append(
            SessionView(
                session,
                join_url(request, session.code),
                owner="" if owner is None else owner.display_name,
            )
        )
    notices = [
        view(s)
        for s in sorted(own, key=lambda s: s.id)
        if s.end_reason == ABANDONED and not s.notice_seen
    ]
    response = render_page(
        request,
        "dashboard.html",
        counselor=counselor,
        csrf=await csrf_token(request),
        groups=groups,
        co_led=co_led,
        query=query,
        notices=notices,
        abandoned_minutes=request.app[SETTINGS].abandoned_minutes,
        has_sessions=bool(own),
        templates=template_choices(own_templates),
        values=values or SessionFormValues(),
        errors=errors or {},
        **_plan_choices(),
    )
    response.set_status(status)
    return response


async def dashboard(request: web.Request) -> web.Response:
    counselor = await require_counselor(request)
    return await _render_dashboard(request, counselor)


async def create(request: web.Request) -> web.Response:
    counselor = await require_counselor(request)
    form = await checked_form(request)
    parsed, errors = parse_session_form(form, await _own_template_keys(request, counselor.id))
    if parsed is None:
        return await _render_dashboard(
            request, counselor, values=_values(form), errors=errors, status=400
        )
    created = await create_session(
        request.app[DATABASE],
        counselor.id,
        title=parsed.title,
        template=parsed.template,
        password=parsed.password,
        scheduled_at=parsed.scheduled_at,
    )
    if not parsed.plan.is_empty:
        await save_plan(request.app[DATABASE], created.id, parsed.plan)
    raise web.HTTPSeeOther(location=f"/dashboard#session-{created.id}")


async def _own_templates(request: web.Request, counselor_id: int) -> list[CustomTemplate]:
    return await list_templates(request.app[DATABASE], counselor_id)


async def _own_template_keys(request: web.Request, counselor_id: int) -> set[str]:
    return {t.key for t in await _own_templates(request, counselor_id)}


async def own_session(request: web.Request, counselor: Counselor) -> GuidanceSession:
    session = await get_counselor_session(
        request.app[DATABASE], int(request.match_info["id"]), counselor.id
    )
    if session is None:
        # Another counselor's session looks exactly like a missing one.
        raise web.HTTPNotFound()
    return session


async def render_edit(
    request: web.Request,
    session: GuidanceSession,
    values: SessionFormValues,
    errors: dict[str, str],
    status: int,
    *,
    team_errors: dict[str, str] | None = None,
    team_values: dict[str, str] | None = None,
) -> web.Response:
    """The edit page: the session's fields, and its team (server/sessions/team_pages.py)."""
    response = render_page(
        request,
        "session_edit.html",
        csrf=await csrf_token(request),
        session=session,
        templates=template_choices(await _own_templates(request, session.counselor_id)),
        values=values,
        errors=errors,
        co_leaders=await list_co_leaders(request.app[DATABASE], session.id),
        observer_url=observer_url(request, session.code),
        team_errors=team_errors or {},
        team_values=team_values or {},
        **_plan_choices(),
    )
    response.set_status(status)
    return response


async def stored_values(request: web.Request, session: GuidanceSession) -> SessionFormValues:
    """The edit form's fields as the session and its plan are stored."""
    plan = await get_plan(request.app[DATABASE], session.id)
    return SessionFormValues(
        session.title,
        session.template,
        local_time(session.scheduled_at, "%Y-%m-%dT%H:%M"),
        plan_values(plan or Plan()),
    )


async def edit_form(request: web.Request) -> web.Response:
    counselor = await require_counselor(request)
    session = await own_session(request, counselor)
    return await render_edit(request, session, await stored_values(request, session), {}, 200)


async def edit_submit(request: web.Request) -> web.Response:
    counselor = await require_counselor(request)
    session = await own_session(request, counselor)
    form = await checked_form(request)
    parsed, errors = parse_session_form(form, await _own_template_keys(request, counselor.id))
    if parsed is None:
        return await render_edit(request, session, _values(form), errors, 400)
    password: str | Keep | None = Keep.KEEP
    if form.get("remove_password"):
        password = None
    elif parsed.password is not None:
        password = parsed.password
    await update_session(
        request.app[DATABASE],
        session.id,
        counselor.id,
        title=parsed.title,
        template=parsed.template,
        scheduled_at=parsed.scheduled_at,
        password=password,
    )
    await save_plan(request.app[DATABASE], session.id, parsed.plan)
    raise web.HTTPSeeOther(location=f"/dashboard#session-{session.id}")


async def delete_form(request: web.Request) -> web.Response:
    counselor = await require_counselor(request)
    session = await own_session(request, counselor)
    return render_page(
        request, "session_delete.html", csrf=await csrf_token(request), session=session
    )


async def delete_submit(request: web.Request) -> web.Response:
    counselor = await require_counselor(request)
    session = await own_session(request, counselor)
    await checked_form(request)
    await delete_session(request.app[DATABASE], session.id, counselor.id)
    raise web.HTTPSeeOther(location="/dashboard")


async def qr_svg(request: web.Request) -> web.Response:
    counselor = await require_counselor(request)
    session = await own_session(request, counselor)
    # Error correction M survives a smudged projector or a phone photo of the screen.
    qr = segno.make(join_url(request, session.code), error="m", micro=False)
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=4, border=4, xmldecl=False, svgns=True)
    return web.Response(
        body=out.getvalue(),
        content_type="image/svg+xml",
        headers={"Cache-Control": "private, no-store"},
    )


async def notices_seen(request: web.Request) -> web.Response:
    """The counselor hides the notice about sessions that ended by themselves."""
    counselor = await require_counselor(request)
    await checked_form(request)
    await dismiss_notices(request.app[DATABASE], counselor.id)
    raise web.HTTPSeeOther(location="/dashboard")


async def to_dashboard(request: web.Request) -> web.Response:
    # A GET on a POST-only address (e.g. the language switch after a form error).
    raise web.HTTPSeeOther(location="/dashboard")


def add_routes(app: web.Application) -> None:
    session = r"/dashboard/sessions/{id:\d{1,9}}"
    app.router.add_get("/dashboard", dashboard, name="dashboard")
    app.router.add_post("/dashboard/sessions", create, name="session_create")
    app.router.add_get("/dashboard/sessions", to_dashboard)
    app.router.add_post("/dashboard/notices/seen", notices_seen, name="notices_seen")
    app.router.add_get("/dashboard/notices/seen", to_dashboard)
    app.router.add_get(f"{session}/edit", edit_form, name="session_edit")
    app.router.add_post(f"{session}/edit", edit_submit)
    app.router.add_get(f"{session}/delete", delete_form, name="session_delete")
    app.router.add_post(f"{session}/delete", delete_submit)
    app.router.add_get(f"{session}/qr.svg", qr_svg, name="session_qr")
