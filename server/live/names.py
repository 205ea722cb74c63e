"""Display names: what a member types becomes a clean, bounded, unique label."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from confusable_homoglyphs import confusables

from server.platform.errors import ErrorId, LingkarError
from server.platform.limits import MAX_DISPLAY_NAME_CHARS

# Raw input bigger than this is refused before any work on it.
_MAX_RAW_CHARS = 400
# The table wraps right-to-left characters in direction marks; they are not part of a look.
_DIRECTION_MARKS = "\u200e\u200f"


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


@functools.cache
def _representatives() -> Mapping[str, str]:
    """Each character that Unicode's confusables table (confusables.txt, as the maintained
    confusable-homoglyphs package ships it) lists, mapped to one member of its group: the
    lowest code point among its single-character look-alikes."""
    table: dict[str, list[dict[str, str]]] = confusables.confusables_data
    representatives = {}
    for char, looks in table.items():
        if len(char) != 1:
            continue
        options = [char, *(look["c"].strip(_DIRECTION_MARKS) for look in looks)]
        representatives[char] = min((o for o in options if len(o) == 1), key=ord)
    return MappingProxyType(representatives)


def _map(text: str) -> str:
    table = _representatives()
    return "".join(table.get(char, char) for char in text)


def skeleton(name: str) -> str:
    """What a name looks like, in the spirit of Unicode's UTS #39 skeleton: "Bu Sari" with a
    Cyrillic "a" (U+0430), "BU SARI" and "Bu \uff33ari" share one; two names with one skeleton
    would confuse a group (and let a stranger pass for the counselor)."""
    return _map(_map(unicodedata.normalize("NFKC", name)).casefold())


def ensure_unique(name: str, taken: Iterable[str]) -> None:
    """Refuse a name that reads like one in the session: the same without case, or a
    look-alike (Unicode confusables) of it, the counselor's first of all."""
    key, look = name_key(name), skeleton(name)
    if any(name_key(other) == key or skeleton(other) == look for other in taken):
        raise LingkarError(ErrorId.NAME_TAKEN, "someone in this session already uses that name")
