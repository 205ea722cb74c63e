"""The key that encrypts counselors' notes at rest: from the settings, else made once on disk.

Like ``secret.key`` it lives in the data directory (mode 0600), so a backup of that directory
restores readable notes, and losing it makes them unreadable: docs/deploy.md says to back it up.
"""

from __future__ import annotations

import base64

from server.platform.keyfiles import load_or_create_key
from server.platform.settings import NOTES_KEY_BYTES, Settings, SettingsError, parse_notes_key

NOTES_KEY_FILE = "notes.key"


def load_or_create_notes_key(settings: Settings) -> bytes:
    given = settings.notes_key_bytes
    if given is not None:
        return given
    path = settings.data_dir / NOTES_KEY_FILE

    def decode(text: str) -> bytes:
        try:
            return parse_notes_key(text)
        except SettingsError:
            raise SettingsError(f"notes_key: {path} is damaged; restore it from a backup") from None

    def encode(key: bytes) -> str:
        return base64.b64encode(key).decode("ascii")

    return load_or_create_key(path, NOTES_KEY_BYTES, encode, decode)
