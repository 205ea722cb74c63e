"""The counselor's own templates on the dashboard ("Templat saya"): list, make one from a
built-in, edit (name; per stage its names, guidance, checklist, minutes and preset; add, remove,
move up or down) and delete. Server-rendered forms, no script needed; another counselor's
template is 404. The repository and its rules are in server/counseling/custom_templates.py.

The edit page is one form: its save button and each stage's add, remove and move buttons all
submit every field, so nothing typed is lost; a structural change is saved with the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import zip_longest
from typing import cast

from aiohttp import web
from multidict import MultiDictProxy

from server.accounts.auth import checked_form, csrf_token, require_counselor
from server.accounts.counselors import Counselor
from server.counseling.custom_templates import (
    CHECKLIST_ITEM_MAX,
    CHECKLIST_ITEMS_MAX,
    POLICIES,
    STAGE_GUIDANCE_MAX,
    STAGE_MINUTES_MAX,
    STAGE_MINUTES_MIN,
    STAGE_TITLE_MAX,
    TEMPLATE_STAGES_MAX,
    CustomTemplate,
    TemplateInputError,
    TemplateInUse,
    create_template,
    delete_template,
    get_template,
    list_templates,
    new_stage_key,
    update_template,
)
from server.counseling.stages import DEFAULT_TEMPLATE, TEMPLATES, Policy, Preset, Stage, Text
from server.db.database import DATABASE
from server.db.schema import CUSTOM_TEMPLATE_NAME_MAX
from server.platform.pages import page_context, render_page

# Longer input cannot be a number of minutes: do not parse it.
MINUTES_INPUT_MAX = 6
_LIMITS = {
    "name_max": CUSTOM_TEMPLATE_NAME_MAX,
    "title_max": STAGE_TITLE_MAX,
    "guidance_max": STAGE_GUIDANCE_MAX,
    # A textarea's maxlength counts every line and its line break.
    "checklist_max": CHECKLIST_ITEMS_MAX * (CHECKLIST_ITEM_MAX + 2),
    "minutes_min": STAGE_MINUTES_MIN,
    "minutes_max": STAGE_MINUTES_MAX,
    "stages_max": TEMPLATE_STAGES_MAX,
    "policies": POLICIES,
}


@dataclass
class StageDraft:
    """One stage's fields as the edit form shows and sends them."""

    key: str
    title_id: str
    title_en: str
    guidance_id: str
    guidance_en: str
    checklist_id: str
    checklist_en: str
    minutes: str
    policy: str
    video: bool
    chat: bool
    share: bool

    @classmethod
    def of(cls, stage: Stage) -> StageDraft:
        return cls(
            key=stage.key,
            title_id=stage.title.id,
            title_en=stage.title.en,
            guidance_id=stage.guidance.id,
            guidance_en=stage.guidance.en,
            checklist_id="\n".join(item.id for item in stage.checklist),
            checklist_en="\n".join(item.en for item in stage.checklist),
            minutes=str(stage.minutes),
            policy=stage.preset.policy,
            video=stage.preset.video,
            chat=stage.preset.chat,
            share=stage.preset.share,
        )

    @classmethod
    def from_form(cls, form: MultiDictProxy[str], index: int) -> StageDraft:
        def text(name: str) -> str:
            return form.get(f"stage-{index}-{name}", "")

        return cls(
            key=text("key"),
            title_id=text("title-id"),
            title_en=text("title-en"),
            guidance_id=text("guidance-id"),
            guidance_en=text("guidance-en"),
            checklist_id=text("checklist-id"),
            checklist_en=text("checklist-en"),
            minutes=text("minutes")[:MINUTES_INPUT_MAX],
            policy=text("policy"),
            video=bool(text("video")),
            chat=bool(text("chat")),
            share=bool(text("share")),
        )

    def stage(self) -> Stage:
        """The stage to validate (custom_templates.py names what is wrong with it)."""
        minutes = self.minutes.strip()
        lines = zip_longest(
            self.checklist_id.splitlines(), self.checklist_en.splitlines(), fillvalue=""
        )
        return Stage(
            self.key,
            Text(self.title_id, self.title_en),
            Text(self.guidance_id, self.guidance_en),
            tuple(Text(first, second) for first, second in lines),
            int(minutes) if minutes.isascii() and minutes.isdigit() else -1,
            Preset(cast(Policy, self.policy), self.video, self.chat, self.share),
        )


def drafts_from_form(form: MultiDictProxy[str]) -> list[StageDraft]:
    drafts = []
    # One past the limit, so a tampered form is refused rather than cut.
    for index in range(TEMPLATE_STAGES_MAX + 1):
        if f"stage-{index}-key" not in form:
            break
        drafts.append(StageDraft.from_form(form, index))
    return drafts


def apply_action(drafts: list[StageDraft], action: str) -> tuple[list[StageDraft], int | None]:
    """The stages after the button pressed (``add``, ``remove-N``, ``up-N``, ``down-N``;
    anything else saves as is) and the stage to show afterwards."""
    drafts = list(drafts)
    verb, _, number = action.partition("-")
    if verb == "add" and drafts and len(drafts) < TEMPLATE_STAGES_MAX:
        drafts.append(replace(drafts[-1], key=new_stage_key([d.key for d in drafts])))
        return drafts, len(drafts) - 1
    if not number.isascii() or not number.isdigit() or int(number) >= len(drafts):
        return drafts, None
    index = int(number)
    if verb == "remove" and len(drafts) > 1:
        del drafts[index]
        return drafts, max(index - 1, 0)
    target = {"up": index - 1, "down": index + 1}.get(verb)
    if target is not None and 0 <= target < len(drafts):
        drafts[index], drafts[target] = drafts[target], drafts[index]
        return drafts, target
    return drafts, None


def request_lang(request: web.Request) -> str:
    language: str = page_context(request)["lang"]
    return language


async def _own(request: web.Request, counselor: Counselor) -> CustomTemplate:
    template = await get_template(
        request.app[DATABASE], int(request.match_info["id"]), counselor.id
    )
    if template is None:
        # Another counselor's template looks exactly like a missing one.
        raise web.HTTPNotFound()
    return template


async def _render_list(
    request: web.Request,
    counselor: Counselor,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    own = await list_templates(request.app[DATABASE], counselor.id)
    response = render_page(
        request,
        "templates.html",
        csrf=await csrf_token(request),
        own=own,
        built_in=list(TEMPLATES.values()),
        errors=errors or {},
        values=values or {"base": DEFAULT_TEMPLATE, "name": ""},
        **_LIMITS,
    )
    response.set_status(status)
    return response


async def list_page(request: web.Request) -> web.Response:
    counselor = await require_counselor(request)
    return await _render_list(request, counselor)


async def create(request: web.Request) -> web.Response:
    counselor = await require_counselor(request)
    form = await checked_form(request)
    base = form.get("base", "")
    name = " ".join(form.get("name", "").split())
    if not name and base in TEMPLATES:
        context = page_context(request)
        copy_of = context["t"]("templates.copy_of")
        name = copy_of.replace("{name}", TEMPLATES[base].name(context["lang"]))
    try:
        made = await create_template(request.app[DATABASE], counselor.id, base=base, name=name)
    except TemplateInputError as exc:
        errors = {field: f"error.{error_id}" for field, error_id in exc.errors.items()}
        values = {"base": base[:40], "name": form.get("name", "")[:200]}
        return await _render_list(request, counselor, errors=errors, values=values, status=400)
    raise web.HTTPSeeOther(location=f"/dashboard/templates/{made.id}/edit")


async def _render_edit(
    request: web.Request,
    template: CustomTemplate,
    name: str,
    drafts: list[StageDraft],
    errors: dict[str, str],
    status: int,
) -> web.Response:
    base = TEMPLATES.get(template.base)
    response = render_page(
        request,
        "template_edit.html",
        csrf=await csrf_token(request),
        custom=template,
        base_name=base.name(request_lang(request)) if base else template.base,
        name=name,
        drafts=drafts,
        errors=errors,
        **_LIMITS,
    )
    response.set_status(status)
    return response


async def edit_form(request: web.Request) -> web.Response:
    counselor = await require_counselor(request)
    template = await _own(request, counselor)
    drafts = [StageDraft.of(stage) for stage in template.stages]
    return await _render_edit(request, template, template.name, drafts, {}, 200)


async def edit_submit(request: web.Request) -> web.Response:
    counselor = await require_counselor(request)
    template = await _own(request, counselor)
    form = await checked_form(request)
    action = form.get("action", "save")
    drafts, focus = apply_action(drafts_from_form(form), action)
    name = form.get("name", "")
    try:
        await update_template(
            request.app[DATABASE],
            template.id,
            counselor.id,
            name=name,
            stages=[draft.stage() for draft in drafts],
        )
    except TemplateInputError as exc:
        errors = {field: f"error.{error_id}" for field, error_id in exc.errors.items()}
        return await _render_edit(request, template, name[:200], drafts, errors, 400)
    if action == "save":
        raise web.HTTPSeeOther(location=f"/dashboard/templates#template-{template.id}")
    anchor = "" if focus is None else f"#stage-{focus}"
    raise web.HTTPSeeOther(location=f"/dashboard/templates/{template.id}/edit{anchor}")


async def delete_form(request: web.Request) -> web.Response:
    counselor = await require_counselor(request)
    template = await _own(request, counselor)
    return render_page(
        request,
        "template_delete.html",
        csrf=await csrf_token(request),
        custom=template,
        in_use=[],
    )


async def delete_submit(request: web.Request) -> web.Response:
    counselor = await require_counselor(request)
    template = await _own(request, counselor)
    await checked_form(request)
    try:
        await delete_template(request.app[DATABASE], template.id, counselor.id)
    except TemplateInUse as exc:
        response = render_page(
            request,
            "template_delete.html",
            csrf=await csrf_token(request),
            custom=template,
            in_use=exc.titles,
        )
        response.set_status(409)
        return response
    raise web.HTTPSeeOther(location="/dashboard/templates")


def add_routes(app: web.Application) -> None:
    one = r"/dashboard/templates/{id:\d{1,9}}"
    app.router.add_get("/dashboard/templates", list_page, name="templates")
    app.router.add_post("/dashboard/templates", create)
    app.router.add_get(f"{one}/edit", edit_form, name="template_edit")
    app.router.add_post(f"{one}/edit", edit_submit)
    app.router.add_get(f"{one}/delete", delete_form, name="template_delete")
    app.router.add_post(f"{one}/delete", delete_submit)
