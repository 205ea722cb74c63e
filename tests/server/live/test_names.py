"""Display names that read like one already in the session are taken (issue 14): case, and
Unicode look-alikes from the confusables table, the counselor's name first of all."""

from __future__ import annotations

import pytest

from server.live.names import ensure_unique, skeleton
from server.platform.errors import LingkarError

LOOK_ALIKES = [
    "Bu S\u0430ri",  # Cyrillic small a
    "\u0412u Sari",  # Cyrillic capital ve for B
    "Bu Sar\u0456",  # Ukrainian i
    "BU SARI",  # case
    "Bu \uff33ari",  # fullwidth S
    "Bu \U0001d412ari",  # mathematical bold S
]


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_a_look_alike_of_the_counselors_name_is_taken(name: str) -> None:
    assert skeleton(name) == skeleton("Bu Sari")
    with pytest.raises(LingkarError) as refused:
        ensure_unique(name, ["Ani", "Bu Sari"])
    assert refused.value.error.value == "name_taken"


@pytest.mark.parametrize(
    ("name", "other"), [("Ani", "Ari"), ("Dewi", "Dewi Sartika"), ("Eko", "Eka")]
)
def test_different_names_stay_different(name: str, other: str) -> None:
    assert skeleton(name) != skeleton(other)
    ensure_unique(name, [other])
