"""The session report over HTTP (owner only; another counselor's session is 404):

- ``GET  /dashboard/sessions/{id}/report``: a printable page (no scripts, print CSS);
- ``POST /dashboard/sessions/{id}/report``: the conclusions and follow-up (CSRF form);
- ``GET  /dashboard/sessions/{id}/report.pdf`` and ``report.csv``: the same record to keep;
- ``GET  /dashboard/sessions/{id}/plan.json``: the plan, for the leader's live page.
"""

from __future__ import annotations

import logging
from datetime import datetime

from aiohttp import web

from server.accounts.auth import checked_form, csrf_token, current_counselor, require_counselor
from server.accounts.counselors import Counselor
from server.counseling.plans import Plan, get_plan
from server.db.database import DATABASE
from server.platform.errors import HTTP_STATUS, ErrorId
from server.platform.notes_key import load_or_create_notes_key
from server.platform.pages import error_page, page_context, render_page
from server.platform.settings import SETTINGS
from server.records.report import (
    CONCLUSION_FIELDS,
    EVALUATION_ANSWERS,
    RATINGS,
    ConclusionsInputError,
    SessionReport,
    check_conclusions,
    load_report,
    minutes_seconds,
    save_conclusions,
)
from server.records.report_csv import report_csv
from server.sessions.dashboard import local_time
from server.sessions.store import GuidanceSession, get_counselor_session

log = logging.getLogger("lingkar.report")

# Nothing of a report may stay in a shared computer's cache.
PRIVATE = {"Cache-Control": "private, no-store"}


def retention_days(request: web.Request) -> int:
    return request.app[SETTINGS].retention_days


async def _own(request: web.Request, counselor: Counselor) -> GuidanceSession:
    session = await get_counselor_session(
        request.app[DATABASE], int(request.match_info["id"]), counselor.id
    )
    if session is None:
        raise web.HTTPNotFound()  # another counselor's session looks like a missing one
    return session


async def _load(request: web.Request, session: GuidanceSession, language: str) -> SessionReport:
    key = load_or_create_notes_key(request.app[SETTINGS])
    return await load_report(
        request.app[DATABASE], key, session, language, retention_days=retention_days(request)
    )


def _filename(session: GuidanceSession, suffix: str) -> str:
    # The code is ASCII letters, digits and a dash: safe in a header without quoting rules.
    return f"lingkar-{session.code}-{suffix}"


async def _render(
    request: web.Request,
    counselor: Counselor,
    session: GuidanceSession,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    language = page_context(request)["lang"]
    report = await _load(request, session, language)
    response = render_page(
        request,
        "report.html",
        counselor=counselor,
        csrf=await csrf_token(request),
        report=report,
        when=local_time,
        minutes=minutes_seconds,
        ratings=RATINGS,
        answers=EVALUATION_ANSWERS,
        conclusion_fields=CONCLUSION_FIELDS,
        values=values or report.conclusions.as_json(),
        error=error,
        saved=request.query.get("saved") == "1",
    )
    response.set_status(status)
    response.headers.update(PRIVATE)
    return response


async def report_page(request: web.Request) -> web.Response:
    counselor = await require_counselor(request)
    session = await _own(request, counselor)
    return await _render(request, counselor, session)


async def report_submit(request: web.Request) -> web.Response:
    counselor = await require_counselor(request)
    session = await _own(request, counselor)
    form = await checked_form(request)
    try:
        conclusions = check_conclusions(dict(form))
    except ConclusionsInputError as exc:
        values = {name: form.get(name, "")[:5000] for name in CONCLUSION_FIELDS}
        return await _render(
            request, counselor, session, values=values, error=exc.field, status=400
        )
    key = load_or_create_notes_key(request.app[SETTINGS])
    await save_conclusions(request.app[DATABASE], key, session.id, conclusions)
    raise web.HTTPSeeOther(location=f"/dashboard/sessions/{session.id}/report?saved=1#conclusions")


async def report_pdf_download(request: web.Request) -> web.Response:
    counselor = await require_counselor(request)
    session = await _own(request, counselor)
    context = page_context(request)
    report = await _load(request, session, context["lang"])
    # fpdf and the image libraries it loads (about 20 MB) come in with the first PDF asked
    # for, not at start: most servers never make one (docs/performance.md, "Memory").
    from server.records.report_pdf import FontMissingError, report_pdf

    try:
        body = report_pdf(report, context["t"])
    except FontMissingError as exc:
        log.error("cannot make a PDF report: %s", exc)
        raise error_page(request, web.HTTPServiceUnavailable, "error.report_font") from None
    return web.Response(
        body=body,
        content_type="application/pdf",
        headers={
            **PRIVATE,
            "Content-Disposition": f'attachment; filename="{_filename(session, "report.pdf")}"',
        },
    )


async def report_csv_download(request: web.Request) -> web.Response:
    counselor = await require_counselor(request)
    session = await _own(request, counselor)
    report = await _load(request, session, page_context(request)["lang"])
    return web.Response(
        body=report_csv(report).encode("utf-8-sig"),  # the BOM makes spreadsheets read UTF-8
        content_type="text/csv",
        charset="utf-8",
        headers={
            **PRIVATE,
            "Content-Disposition": f'attachment; filename="{_filename(session, "report.csv")}"',
        },
    )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _api_error(error: ErrorId, message: str) -> web.Response:
    # The API's error shape (docs/protocol.md), for the leader's page that fetches the plan.
    return web.json_response(
        {"error": error.value, "message": message}, status=HTTP_STATUS[error], headers=PRIVATE
    )


async def plan_json(request: web.Request) -> web.Response:
    counselor = await current_counselor(request)
    if counselor is None:
        return _api_error(ErrorId.UNAUTHORIZED, "log in as the session's counselor")
    session = await get_counselor_session(
        request.app[DATABASE], int(request.match_info["id"]), counselor.id
    )
    if session is None:
        return _api_error(ErrorId.NOT_FOUND, "no such session")
    plan = await get_plan(request.app[DATABASE], session.id) or Plan()
    return web.json_response(
        {
            "session": {
                "id": session.id,
                "code": session.code,
                "title": session.title,
                "template": session.template,
                "scheduled_at": _iso(session.scheduled_at),
            },
            "plan": plan.as_json(),
        },
        headers=PRIVATE,
    )


def add_routes(app: web.Application) -> None:
    session = r"/dashboard/sessions/{id:\d{1,9}}"
    app.router.add_get(f"{session}/report", report_page, name="session_report")
    app.router.add_post(f"{session}/report", report_submit)
    app.router.add_get(f"{session}/report.pdf", report_pdf_download, name="session_report_pdf")
    app.router.add_get(f"{session}/report.csv", report_csv_download, name="session_report_csv")
    app.router.add_get(f"{session}/plan.json", plan_json, name="session_plan")
