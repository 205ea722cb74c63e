"""Display names: what a member types becomes a clean, bounded, unique label."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from server.platform.errors import ErrorId, LingkarError
from server.platform.limits import MAX_DISPLAY_NAME_CHARS

# Raw input bigger than this is refused before any work on it.
_MAX_RAW_CHARS = 400


def clean_display_name(raw: object) -> str:
    """Trim, drop control and format characters, collapse spaces, bound the length."""
    if not isinstance(raw, str):
        raise LingkarError(ErrorId.INVALID_NAME, "the name must be text")
    if len(raw) > _MAX_RAW_CHARS:
        raise LingkarError(ErrorId.INVALID_NAME, "the name is far too long")
    text = unicodedata.normalize("NFC", raw)
    # Cc: control characters; Cf: invisible format characters (bidi overrides, zero widths);
    # Cs/Co/Cn: surrogates, private use and unassigned code points.
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co", "Cn"}
    )
    name = " ".join(kept.split())
    if not name:
        raise LingkarError(ErrorId.INVALID_NAME, "the name is empty")
    if len(name) > MAX_DISPLAY_NAME_CHARS:
        raise LingkarError(
            ErrorId.INVALID_NAME, f"the name is longer than {MAX_DISPLAY_NAME_CHARS} characters"
        )
    return name


def name_key(name: str) -> str:
    """Names compare without case: "Budi" and "budi" would confuse a group."""
    return unicodedata.normalize("NFKC", name).casefold()


def ensure_unique(name: str, taken: Iterable[str]) -> None:
    key = name_key(name)
    if any(name_key(other) == key for other in taken):
        raise LingkarError(ErrorId.NAME_TAKEN, "someone in this session already uses that name")
