"""The HTTPS bodies of the live session's entry points (docs/protocol.md, "HTTPS endpoints"),
one typed struct each, parsed in one place like the channel's messages: size, decode,
validate, no field the protocol does not define. A refusal names its field: a name that is not
text is ``invalid_name``, a missing or non-true consent ``consent_required``, a value over its
length ``too_large``, anything else ``malformed``."""

from __future__ import annotations

import re
from typing import Annotated, Literal, TypeVar

import msgspec

from server.platform.errors import ErrorId, LingkarError
from server.platform.limits import MAX_HTTP_BODY_BYTES, MAX_SESSION_PASSWORD_CHARS

# A rejoin token: a signed claim of a few hundred characters (server/live/rejoin.py).
MAX_REJOIN_TOKEN_CHARS = 1024
# Participant ids and resume tokens are ~12 and 32 characters (server/live/participant.py).
MAX_KEY_CHARS = 64

_Key = Annotated[str, msgspec.Meta(max_length=MAX_KEY_CHARS)]


class _Body(msgspec.Struct, forbid_unknown_fields=True):
    """A request body the server takes."""


class JoinBody(_Body):
    """``POST .../join`` and ``POST .../observe``."""

    name: str
    consent: bool
    password: Annotated[str, msgspec.Meta(max_length=MAX_SESSION_PASSWORD_CHARS)] = ""


class LeadBody(_Body):
    """``POST .../lead``: nothing; the login cookie says who."""


class ResumeBody(_Body):
    participant: _Key
    resume_token: _Key


class RejoinBody(_Body):
    rejoin_token: Annotated[str, msgspec.Meta(max_length=MAX_REJOIN_TOKEN_CHARS)]


class OfferBody(_Body):
    type: Literal["offer"]
    sdp: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_HTTP_BODY_BYTES)]


BODIES: tuple[type[_Body], ...] = (JoinBody, LeadBody, ResumeBody, RejoinBody, OfferBody)

# Fields whose refusal has an id of its own.
_FIELD_ERRORS = {"name": ErrorId.INVALID_NAME, "consent": ErrorId.CONSENT_REQUIRED}
_FIELD = re.compile(r"`\$\.([a-z_]+)`|field `([a-z_]+)`")

B = TypeVar("B", bound=_Body)


def parse_body(raw: bytes, kind: type[B]) -> B:
    """One valid body of ``kind``, or LingkarError naming what is wrong."""
    try:
        body = msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        raise _refusal(str(exc)) from None
    except msgspec.DecodeError:
        raise LingkarError(ErrorId.MALFORMED, "the body is not JSON") from None
    if isinstance(body, JoinBody) and body.consent is not True:
        raise LingkarError(ErrorId.CONSENT_REQUIRED, "joining needs your consent")
    return body


def _refusal(problem: str) -> LingkarError:
    found = _FIELD.search(problem)
    field = next((group for group in found.groups() if group), "") if found else ""
    if field in _FIELD_ERRORS:
        return LingkarError(_FIELD_ERRORS[field], f"{field}: {problem}")
    if "length <=" in problem:
        return LingkarError(ErrorId.TOO_LARGE, problem)
    return LingkarError(ErrorId.MALFORMED, problem)
