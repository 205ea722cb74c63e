"""HTML pages rendered from web/templates through aiohttp-jinja2."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from server.platform.i18n import CATALOGUES, LANGUAGE_COOKIE

# A year: the choice is a preference, not personal data.
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600


def page_context(request: web.Request) -> dict[str, Any]:
    """What every template gets: the chosen language and its translate function."""
    catalogues = request.app[CATALOGUES]
    language = catalogues.choose(
        request.query.get("lang"),
        request.cookies.get(LANGUAGE_COOKIE),
        request.headers.get("Accept-Language"),
    )

    def t(key: str, **values: object) -> str:
        """The string for ``key``, its ``{name}`` places filled from ``values``."""
        text = catalogues.translate(language, key)
        for name, value in values.items():
            text = text.replace("{" + name + "}", str(value))
        return text

    return {"lang": language, "languages": catalogues.languages, "t": t}


def render_page(request: web.Request, template: str, **extra: Any) -> web.Response:
    context = page_context(request)
    context.update(extra)
    response = aiohttp_jinja2.render_template(template, request, context)
    if request.query.get("lang") == context["lang"]:
        response.set_cookie(
            LANGUAGE_COOKIE,
            context["lang"],
            max_age=LANGUAGE_COOKIE_MAX_AGE,
            samesite="Lax",
            secure=request.secure,
            httponly=True,
        )
    response.headers["Content-Language"] = context["lang"]
    return response


def error_page(
    request: web.Request, status: type[web.HTTPException], message_key: str, **extra: Any
) -> web.HTTPException:
    """An HTTP error to raise whose body is the localized error.html page."""
    page = render_page(request, "error.html", message_key=message_key, **extra)
    return status(
        text=page.text,
        content_type="text/html",
        headers={"Content-Language": page.headers["Content-Language"]},
    )


async def index(request: web.Request) -> web.Response:
    return render_page(request, "index.html")
