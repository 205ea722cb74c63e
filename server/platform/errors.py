"""The error taxonomy: stable ids, their HTTP status, and the replies built from them.

A client gets ``{"type": "error", "error": "<id>", "message": "...", "ref": "<type>"}`` on the
data channel, or ``{"error": "<id>", "message": "..."}`` with the status below over HTTP.
The ids are part of the protocol (docs/protocol.md); never rename one.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorId(StrEnum):
    MALFORMED = "malformed"  # not JSON, not an object, wrong field types
    TOO_LARGE = "too_large"  # over a size limit
    UNKNOWN_TYPE = "unknown_type"  # a message type the protocol does not have
    FORBIDDEN = "forbidden"  # the sender's role may not do this
    NOT_ALLOWED = "not_allowed"  # the role may, but the session's rules say no now
    NOT_FOUND = "not_found"  # no such session or participant
    UNAUTHORIZED = "unauthorized"  # missing, wrong or expired token or login
    CONFLICT = "conflict"  # name taken, session ended, offer already made
    RATE_LIMITED = "rate_limited"
    CONSENT_REQUIRED = "consent_required"
    WRONG_PASSWORD = "wrong_password"
    SESSION_FULL = "session_full"
    SESSION_LOCKED = "session_locked"
    SESSION_NOT_OPEN = "session_not_open"
    INVALID_NAME = "invalid_name"
    NAME_TAKEN = "name_taken"
    NEGOTIATION_FAILED = "negotiation_failed"
    SERVER_BUSY = "server_busy"  # no free media port: try again in a minute


HTTP_STATUS: dict[ErrorId, int] = {
    ErrorId.MALFORMED: 400,
    ErrorId.TOO_LARGE: 413,
    ErrorId.UNKNOWN_TYPE: 400,
    ErrorId.FORBIDDEN: 403,
    ErrorId.NOT_ALLOWED: 403,
    ErrorId.NOT_FOUND: 404,
    ErrorId.UNAUTHORIZED: 401,
    ErrorId.CONFLICT: 409,
    ErrorId.RATE_LIMITED: 429,
    ErrorId.CONSENT_REQUIRED: 400,
    ErrorId.WRONG_PASSWORD: 403,
    ErrorId.SESSION_FULL: 409,
    ErrorId.SESSION_LOCKED: 423,
    ErrorId.SESSION_NOT_OPEN: 409,
    ErrorId.INVALID_NAME: 400,
    ErrorId.NAME_TAKEN: 409,
    ErrorId.NEGOTIATION_FAILED: 400,
    ErrorId.SERVER_BUSY: 503,
}


class LingkarError(Exception):
    """An expected refusal: carries its stable id and a human-readable message (English)."""

    def __init__(self, error: ErrorId, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.error]


class CannotStart(RuntimeError):
    """``lingkar serve`` cannot start (a self-test, the media ports, a worker); the message says
    why, for the administrator."""
