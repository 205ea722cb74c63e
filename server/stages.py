"""Session templates: the ordered stages a counselor leads a group through.

Only the keys and names for now; the content of each stage (presets, prompts) comes later.
Names are given in Bahasa Indonesia (``id``) and English (``en``), the catalogue's languages.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


@dataclass(frozen=True)
class Stage:
    key: str
    name_id: str
    name_en: str

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_id


@dataclass(frozen=True)
class Template:
    key: str
    name_id: str
    name_en: str
    stages: tuple[Stage, ...]

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_id


# The five-stage model for online group guidance from the research the project is built on.
ONLINE: Final = Template(
    "online",
    "Model online (lima tahap)",
    "Online model (five stages)",
    (
        Stage("pre_preparation", "Pra-persiapan", "Pre-preparation"),
        Stage("preparation", "Persiapan", "Preparation"),
        Stage("activity", "Pelaksanaan kegiatan", "Activity"),
        Stage("observation", "Pengamatan", "Observation"),
        Stage("closing", "Pengakhiran", "Closing"),
    ),
)

# The classic face-to-face model many counselors know.
CLASSIC: Final = Template(
    "classic",
    "Model klasik (tatap muka)",
    "Classic model (face to face)",
    (
        Stage("forming", "Pembentukan", "Forming"),
        Stage("transition", "Peralihan", "Transition"),
        Stage("activity", "Kegiatan", "Activity"),
        Stage("summing_up", "Penyimpulan", "Summing up"),
        Stage("closing", "Pengakhiran", "Closing"),
    ),
)

TEMPLATES: Final = MappingProxyType({t.key: t for t in (ONLINE, CLASSIC)})
DEFAULT_TEMPLATE: Final = ONLINE.key
