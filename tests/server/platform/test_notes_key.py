"""The notes-at-rest key: given in the settings, else made once in the data directory."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from server.platform.notes_key import NOTES_KEY_FILE, load_or_create_notes_key
from server.platform.settings import Settings, SettingsError


def test_made_once_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    key = load_or_create_notes_key(settings)
    assert len(key) == 32
    path = tmp_path / NOTES_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_notes_key(settings) == key


def test_given_key_wins(tmp_path: Path) -> None:
    given = base64.b64encode(bytes(range(32))).decode()
    assert load_or_create_notes_key(Settings(data_dir=tmp_path, notes_key=given)) == bytes(
        range(32)
    )
    assert not (tmp_path / NOTES_KEY_FILE).exists()


def test_a_damaged_file_is_named(tmp_path: Path) -> None:
    (tmp_path / NOTES_KEY_FILE).write_text("nonsense\n")
    with pytest.raises(SettingsError, match=r"notes_key: .*damaged"):
        load_or_create_notes_key(Settings(data_dir=tmp_path))
