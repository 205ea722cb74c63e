"""Who is logged in: the encrypted login cookie, the current counselor, CSRF protection.

The login cookie (aiohttp-session's EncryptedCookieStorage, Fernet) holds the counselor's id,
a stamp of their password hash (a password reset or a removed account ends every login), and
the CSRF token of that login. Nothing is stored server-side, so it works the same with several
processes sharing one secret key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from urllib.parse import unquote, urlsplit

import aiohttp_session
from aiohttp import web
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from multidict import MultiDict, MultiDictProxy
from yarl import URL

from server.accounts.counselors import Counselor, get_counselor
from server.accounts.logins import end_all_logins, end_login, login_is_valid, start_login
from server.db.database import DATABASE
from server.platform.keyfiles import load_or_create_key
from server.platform.limits import MAX_NEXT_CHARS
from server.platform.pages import error_page
from server.platform.settings import SECRET_KEY_BYTES, SETTINGS, Settings, SettingsError

SESSION_COOKIE = "lingkar_login"
# A counselor logs in once per school day.
LOGIN_MAX_AGE_S = 12 * 3600
SECRET_KEY_FILE = "secret.key"
CSRF_FIELD = "csrf"

_COUNSELOR_ID = "counselor_id"
_AUTH_STAMP = "auth"
_LOGIN_ID = "login"
_CSRF = "csrf"
_COUNSELOR = web.RequestKey("counselor", Counselor)


class LoginCookieStorage(EncryptedCookieStorage):
    """Marks the cookie Secure whenever the browser reached us over https."""

    def __init__(self, key: bytes, behind_tls_proxy: bool) -> None:
        super().__init__(
            key,
            cookie_name=SESSION_COOKIE,
            max_age=LOGIN_MAX_AGE_S,
            httponly=True,
            samesite="Lax",
        )
        self._behind_tls_proxy = behind_tls_proxy

    async def save_session(
        self,
        request: web.Request,
        response: web.StreamResponse,
        session: aiohttp_session.Session,
    ) -> None:
        await super().save_session(request, response, session)
        morsel = response.cookies.get(SESSION_COOKIE)
        # insecure_http is only for running behind a proxy that speaks https to the browser.
        if morsel is not None and (request.secure or self._behind_tls_proxy):
            morsel["secure"] = True


def load_or_create_secret(settings: Settings) -> bytes:
    """The cookie key: from the settings, else <data_dir>/secret.key (made once, mode 0600)."""
    given = settings.secret_key_bytes
    if given is not None:
        return given
    path = settings.data_dir / SECRET_KEY_FILE

    def decode(text: str) -> bytes:
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = b""
        if len(key) != SECRET_KEY_BYTES:
            raise SettingsError(f"secret_key: {path} is damaged; delete it to make a new one")
        return key

    return load_or_create_key(path, SECRET_KEY_BYTES, bytes.hex, decode)


def setup_login_cookies(app: web.Application, settings: Settings) -> None:
    key = load_or_create_secret(settings)
    aiohttp_session.setup(app, LoginCookieStorage(key, settings.insecure_http))


def _auth_stamp(counselor: Counselor) -> str:
    return hashlib.sha256(counselor.password_hash.encode()).hexdigest()[:32]


async def log_in(request: web.Request, counselor: Counselor) -> None:
    """Start a fresh login (a new cookie and CSRF token, so none can be planted)."""
    login = await aiohttp_session.new_session(request)
    login[_COUNSELOR_ID] = counselor.id
    login[_AUTH_STAMP] = _auth_stamp(counselor)
    login[_LOGIN_ID] = await start_login(request.app[DATABASE], counselor.id, LOGIN_MAX_AGE_S)
    login[_CSRF] = secrets.token_urlsafe(32)


async def log_out(request: web.Request, *, everywhere: bool = False) -> None:
    """End this browser's login (its cookie is refused from now on, a copy too); with
    ``everywhere``, every login of the counselor."""
    login = await aiohttp_session.get_session(request)
    db = request.app[DATABASE]
    login_id = login.get(_LOGIN_ID)
    counselor_id = login.get(_COUNSELOR_ID)
    if everywhere and isinstance(counselor_id, int):
        await end_all_logins(db, counselor_id)
    elif isinstance(login_id, str):
        await end_login(db, login_id)
    login.invalidate()


async def current_counselor(request: web.Request) -> Counselor | None:
    """The logged-in counselor of this request, or None."""
    cached = request.get(_COUNSELOR)
    if isinstance(cached, Counselor):
        return cached
    login = await aiohttp_session.get_session(request)
    counselor_id = login.get(_COUNSELOR_ID)
    if not isinstance(counselor_id, int):
        return None
    counselor = await get_counselor(request.app[DATABASE], counselor_id)
    stamp = login.get(_AUTH_STAMP)
    login_id = login.get(_LOGIN_ID)
    if (
        counselor is None
        or not isinstance(stamp, str)
        or not hmac.compare_digest(stamp, _auth_stamp(counselor))
        or not isinstance(login_id, str)
        or not await login_is_valid(request.app[DATABASE], login_id, counselor.id, LOGIN_MAX_AGE_S)
    ):
        login.invalidate()
        return None
    request[_COUNSELOR] = counselor
    return counselor


async def current_counselor_id(request: web.Request) -> int | None:
    counselor = await current_counselor(request)
    return None if counselor is None else counselor.id


# What a path to return to after login never holds, raw or percent-decoded: control characters
# and spaces (aiohttp drops some, so "/\t/evil.example" became "//evil.example") and backslashes
# (browsers read "\\" as "/").
_NOT_IN_A_NEXT_PATH = re.compile(r"[\x00-\x20\x7f\\]")


def safe_next(target: str | None) -> str:
    """A path on this server to go to after login; anything else goes to /dashboard.

    Refused: anything not starting with one "/", control characters, spaces or backslashes in
    the text or once percent-decoded, a decoded path starting with "//", dot segments, and
    whatever yarl (aiohttp's URL parser) reads as having a scheme or a host."""
    fallback = "/dashboard"
    if not target or not target.startswith("/") or len(target) > MAX_NEXT_CHARS:
        return fallback
    path = target.split("?", 1)[0].split("#", 1)[0]
    decoded = unquote(path)
    if _NOT_IN_A_NEXT_PATH.search(target) or _NOT_IN_A_NEXT_PATH.search(decoded):
        return fallback
    if decoded.startswith("//") or any(part in {".", ".."} for part in decoded.split("/")):
        return fallback
    try:
        url = URL(target)
    except ValueError:
        return fallback
    if url.is_absolute() or url.scheme or url.raw_host is not None:
        return fallback
    return target


async def require_counselor(request: web.Request) -> Counselor:
    """The logged-in counselor, or a redirect to the login page that comes back here."""
    counselor = await current_counselor(request)
    if counselor is None:
        location = URL("/login").with_query(next=request.path_qs)
        raise web.HTTPSeeOther(location=location)
    return counselor


async def csrf_token(request: web.Request) -> str:
    """This browser's CSRF token (made on first use, before login too: the login form has one)."""
    login = await aiohttp_session.get_session(request)
    token = login.get(_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        login[_CSRF] = token
    return token


def request_from_our_pages(request: web.Request) -> bool:
    """Whether a POST can have come from this server's own pages (a CSRF defence in depth;
    the form token or the JSON content type is the other).

    ``Origin: null`` carries no information: browsers send it for our own POSTs too, under
    ``Referrer-Policy: no-referrer``. Fetch metadata, where sent, must say same-origin.
    """
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null" and not _same_origin(request, origin):
        return False
    return request.headers.get("Sec-Fetch-Site", "same-origin") == "same-origin"


def _same_origin(request: web.Request, origin: str) -> bool:
    parts = urlsplit(origin)
    schemes = {request.scheme}
    if request.app[SETTINGS].insecure_http:
        schemes.add("https")  # the proxy speaks https to the browser
    return parts.scheme in schemes and parts.netloc == request.host and not parts.path


async def checked_form(request: web.Request) -> MultiDictProxy[str]:
    """The POSTed form, after the CSRF checks: the Origin (when sent) is ours, and the token
    matches this browser's. Otherwise a 403 page asks to reload the form and try again."""
    if not request_from_our_pages(request):
        raise error_page(request, web.HTTPForbidden, "error.csrf")
    form = await request.post()
    login = await aiohttp_session.get_session(request)
    expected = login.get(_CSRF)
    sent = form.get(CSRF_FIELD)
    if (
        not isinstance(expected, str)
        or not isinstance(sent, str)
        or not hmac.compare_digest(sent.encode(), expected.encode())
    ):
        raise error_page(request, web.HTTPForbidden, "error.csrf")
    # Only text fields: no form here uploads files.
    return MultiDictProxy(MultiDict((k, v) for k, v in form.items() if isinstance(v, str)))
