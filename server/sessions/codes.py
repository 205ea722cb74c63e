"""Session codes: ``XXX-XXX``, easy to read aloud and to type on a phone.

The alphabet leaves out characters that look or sound alike (0/O, 1/I/L, 2/Z, 5/S, 8/B).
25 symbols to the 6th power is about 244 million codes; they come from ``secrets`` so a code
cannot be guessed from another one.
"""

from __future__ import annotations

import re
import secrets
from typing import Final

ALPHABET: Final = "34679ACDEFGHJKMNPQRTUVWXY"
GROUP = 3
CODE_LENGTH = 2 * GROUP  # symbols, without the dash
# What a person may type around the symbols: spaces, dashes of any kind, dots.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015.]+")
# Longer input is not a code: do not spend work on it.
MAX_INPUT = 40


def generate_code() -> str:
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{symbols[:GROUP]}-{symbols[GROUP:]}"


def normalize_code(text: str) -> str | None:
    """The canonical ``XXX-XXX`` form of what a person typed, or None if it is not a code."""
    if len(text) > MAX_INPUT:
        return None
    symbols = _SEPARATORS.sub("", text).upper()
    if len(symbols) != CODE_LENGTH or any(ch not in ALPHABET for ch in symbols):
        return None
    return f"{symbols[:GROUP]}-{symbols[GROUP:]}"
