from __future__ import annotations

import re

import pytest

from server.sessions.codes import ALPHABET, generate_code, normalize_code

CODE_FORMAT = re.compile(rf"[{ALPHABET}]{{3}}-[{ALPHABET}]{{3}}")


def test_alphabet_leaves_out_lookalikes_and_is_uppercase() -> None:
    for ambiguous in "0O1IL2Z5S8B":
        assert ambiguous not in ALPHABET
    assert ALPHABET.upper() == ALPHABET
    assert len(set(ALPHABET)) == len(ALPHABET) == 25


def test_generated_codes_have_the_format_and_vary() -> None:
    codes = [generate_code() for _ in range(2000)]
    assert all(CODE_FORMAT.fullmatch(code) for code in codes)
    # 25**6 possible codes: 2000 draws practically never repeat, and every symbol shows up.
    assert len(set(codes)) >= 1995
    assert set("".join(codes).replace("-", "")) == set(ALPHABET)


@pytest.mark.parametrize(
    "typed",
    [
        "ACD-EFG",
        "acd-efg",
        "ACDEFG",
        "acdefg",
        " acd efg ",
        "AC-D-EF-G",
        "acd \u2013 efg",
        "ACD.EFG",
    ],
)
def test_lookup_accepts_what_people_type(typed: str) -> None:
    assert normalize_code(typed) == "ACD-EFG"


@pytest.mark.parametrize(
    "typed",
    ["", "ACD-EF", "ACD-EFGH", "ACD-EF0", "OIL-SZB", "ACD_EFG", "ACD-EFÉ", "A" * 41, "ACD\x00EFG"],
)
def test_malformed_codes_are_none(typed: str) -> None:
    assert normalize_code(typed) is None
