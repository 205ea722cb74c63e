"""Message catalogues (web/static/i18n/*.json) and the choice of language for a request.

The same JSON files serve the templates here and the browser's scripts, so a string lives in
exactly one place per language. Bahasa Indonesia is the default.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

DEFAULT_LANGUAGE = "id"
LANGUAGE_COOKIE = "lang"


@dataclass(frozen=True)
class Catalogues:
    by_language: Mapping[str, Mapping[str, str]]

    @classmethod
    def load(cls, directory: Path) -> Catalogues:
        loaded: dict[str, dict[str, str]] = {}
        for path in sorted(directory.glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in data.items()
            ):
                raise ValueError(f"{path}: a catalogue is one JSON object of strings")
            loaded[path.stem] = data
        if DEFAULT_LANGUAGE not in loaded:
            raise ValueError(f"{directory}: the {DEFAULT_LANGUAGE}.json catalogue is missing")
        return cls(loaded)

    @property
    def languages(self) -> list[str]:
        return sorted(self.by_language)

    def translate(self, language: str, key: str) -> str:
        """The string for ``key``; a missing key shows itself rather than an empty space."""
        catalogue = self.by_language.get(language, self.by_language[DEFAULT_LANGUAGE])
        return catalogue.get(key) or self.by_language[DEFAULT_LANGUAGE].get(key, key)

    def choose(self, query: str | None, cookie: str | None, accept_language: str | None) -> str:
        """An explicit ?lang= wins, then the saved cookie, then the browser's preference."""
        for candidate in (query, cookie):
            if candidate is not None and candidate in self.by_language:
                return candidate
        for tag in _ranked_tags(accept_language or ""):
            primary = tag.split("-", 1)[0].lower()
            if primary in self.by_language:
                return primary
        return DEFAULT_LANGUAGE


def _ranked_tags(header: str) -> list[str]:
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        fields = part.strip().split(";")
        tag = fields[0].strip()
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in fields[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(ranked)]


# The message catalogues, loaded once at start-up (``setup_catalogues``).
CATALOGUES = web.AppKey("catalogues", Catalogues)


def setup_catalogues(app: web.Application, directory: Path) -> None:
    app[CATALOGUES] = Catalogues.load(directory)
