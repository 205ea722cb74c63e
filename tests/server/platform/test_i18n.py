from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.platform.i18n import Catalogues
from web import CATALOGUE_DIR


def test_every_language_has_every_key() -> None:
    catalogues = Catalogues.load(CATALOGUE_DIR)
    assert catalogues.languages == ["en", "id"]
    keys = {lang: set(cat) for lang, cat in catalogues.by_language.items()}
    assert keys["en"] == keys["id"]
    for cat in catalogues.by_language.values():
        assert all(value.strip() for value in cat.values())


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-GB,en;q=0.8", "en"),
        ("fr-FR,fr;q=0.9,en;q=0.5", "en"),
        ("en;q=0.2,id;q=0.9", "id"),
        ("de", "id"),
        ("", "id"),
        ("en;q=abc", "id"),
        ("*", "id"),
        (";;;,,,", "id"),
    ],
)
def test_accept_language_choice(header: str, expected: str) -> None:
    catalogues = Catalogues.load(CATALOGUE_DIR)
    assert catalogues.choose(None, None, header) == expected


def test_query_beats_cookie_beats_header() -> None:
    catalogues = Catalogues.load(CATALOGUE_DIR)
    assert catalogues.choose("en", "id", "id") == "en"
    assert catalogues.choose(None, "en", "id") == "en"
    assert catalogues.choose("zz", "zz", "en") == "en"


def test_a_missing_key_shows_the_key(tmp_path: Path) -> None:
    (tmp_path / "id.json").write_text(json.dumps({"a": "A"}))
    (tmp_path / "en.json").write_text(json.dumps({}))
    catalogues = Catalogues.load(tmp_path)
    assert catalogues.translate("en", "a") == "A"
    assert catalogues.translate("en", "nope") == "nope"


def test_a_malformed_catalogue_is_refused(tmp_path: Path) -> None:
    (tmp_path / "id.json").write_text(json.dumps({"a": 1}))
    with pytest.raises(ValueError, match="one JSON object of strings"):
        Catalogues.load(tmp_path)
