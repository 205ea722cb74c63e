"""Session codes cannot be guessed fast: each client address may ask for at most
UNKNOWN_CODES_PER_ADDRESS codes that do not exist per UNKNOWN_CODES_WINDOW_S; past that, every
code it asks for (known or not, so the answer tells nothing) is refused with 429 until the
window moves on. A student who types one code, or mistypes it a few times, never meets it."""

from __future__ import annotations

from aiohttp import web

from server.db.database import DATABASE
from server.platform.errors import ErrorId, LingkarError
from server.platform.limits import UNKNOWN_CODES_PER_ADDRESS, UNKNOWN_CODES_WINDOW_S
from server.platform.ratelimit import LIMITERS, Limiter
from server.sessions.codes import normalize_code
from server.sessions.store import GuidanceSession, get_session_by_code

# Unknown codes asked for, per client address.
CODE_GUESSES: web.AppKey[Limiter] = web.AppKey("code_guesses")


def setup_code_guard(app: web.Application) -> None:
    app[CODE_GUESSES] = app[LIMITERS](
        "code_guesses", UNKNOWN_CODES_PER_ADDRESS, UNKNOWN_CODES_WINDOW_S
    )


class TooManyGuesses(LingkarError):
    def __init__(self, retry_after: float) -> None:
        super().__init__(ErrorId.RATE_LIMITED, "too many unknown session codes; wait a minute")
        self.retry_after = retry_after


async def session_by_code(request: web.Request, typed: str) -> GuidanceSession | None:
    """The session with this code as a person typed it, None when there is none (counted as a
    guess of this address); TooManyGuesses when the address has guessed too much."""
    guesses = request.app[CODE_GUESSES]
    address = request.remote or "unknown"
    if not await guesses.would_allow(address):
        raise TooManyGuesses(await guesses.retry_after(address))
    code = normalize_code(typed)
    record = None if code is None else await get_session_by_code(request.app[DATABASE], code)
    if record is None:
        await guesses.allow(address)
    return record
