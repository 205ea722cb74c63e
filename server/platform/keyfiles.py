"""Key files in the data directory: made once, readable by the owner only, never overwritten.

Used for the login cookies' key (secret.key) and the notes-at-rest key (notes.key) when the
settings give none. Two processes starting at once (the server and a CLI command) agree on one
key: the file is created exclusively, and the loser reads the winner's.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def load_or_create_key(
    path: Path, size: int, encode: Callable[[bytes], str], decode: Callable[[str], bytes]
) -> bytes:
    """The key in ``path``, or a new random ``size``-byte key written there first.

    ``decode`` raises (a SettingsError naming the setting) when the file is damaged.
    """
    try:
        return decode(path.read_text(encoding="ascii", errors="replace").strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(size)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return decode(path.read_text(encoding="ascii", errors="replace").strip())
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(encode(key) + "\n")
    return key
