"""The key that encrypts counselors' notes at rest: from the settings, else made once on disk.

Like ``secret.key`` it lives in the data directory (mode 0600), so a backup of that directory
restores readable notes, and losing it makes them unreadable: docs/deploy.md says to back it up.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from server.settings import NOTES_KEY_BYTES, Settings, SettingsError, parse_notes_key

NOTES_KEY_FILE = "notes.key"


def load_or_create_notes_key(settings: Settings) -> bytes:
    given = settings.notes_key_bytes
    if given is not None:
        return given
    path = settings.data_dir / NOTES_KEY_FILE
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(NOTES_KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)  # another process made it first
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(base64.b64encode(key).decode("ascii") + "\n")
    return key


def _read(path: Path) -> bytes:
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        return parse_notes_key(text)
    except SettingsError:
        raise SettingsError(f"notes_key: {path} is damaged; restore it from a backup") from None
