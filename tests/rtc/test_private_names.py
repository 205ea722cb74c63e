"""Every private name rtc/ touches in aiortc, aioice, pylibsrtp and asyncio is in one list
(rtc/private_names.py), and the start-up self-test refuses to run, naming it, when one is gone.

The source is read, not imported: an attribute read or written on any object other than
``self``/``cls`` whose name starts with one underscore, any string constant naming such an
attribute outside a ``__slots__`` declaration (getattr/setattr of a name-mangled attribute), and
any private module imported from (``pylibsrtp._binding``) must be listed.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from rtc import SelfTestError, self_test
from rtc.private_names import PRIVATE_NAMES, PrivateName, exists, missing

RTC = Path(__file__).resolve().parents[2] / "rtc"
PRIVATE = re.compile(r"_[A-Za-z]\w*")
# Private names of rtc/'s own making that appear outside ``self.``: a marker attribute rtc.ports
# sets on the loop method it wraps.
OWN = {"_lingkar_media_ports_hook"}


def _slots(tree: ast.AST) -> set[int]:
    """ids of the string constants in ``__slots__ = (...)`` declarations."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets
        ):
            found.update(id(c) for c in ast.walk(node.value) if isinstance(c, ast.Constant))
    return found


def private_uses() -> dict[str, list[str]]:
    """Private names rtc/ uses on other objects: name -> where."""
    uses: dict[str, list[str]] = {}
    for path in sorted(RTC.glob("*.py")):
        if path.name == "private_names.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        slots = _slots(tree)
        for node in ast.walk(tree):
            name = None
            if isinstance(node, ast.Attribute) and PRIVATE.fullmatch(node.attr):
                base = node.value
                if not (isinstance(base, ast.Name) and base.id in ("self", "cls")):
                    name = node.attr
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and PRIVATE.fullmatch(node.value)
                and id(node) not in slots
            ):
                name = node.value
            elif isinstance(node, ast.ImportFrom) and node.module:
                inner = [part for part in node.module.split(".") if PRIVATE.fullmatch(part)]
                name = inner[0] if inner else None
            if name is not None and not name.startswith("__"):
                uses.setdefault(name, []).append(f"{path.name}:{node.lineno}")
    return uses


def test_every_private_name_rtc_touches_is_listed() -> None:
    listed = {entry.name for entry in PRIVATE_NAMES} | OWN
    uses = private_uses()
    # The scan sees what is known to be there (it is not blind).
    assert {"_rtp_router", "_RTCRtpSender__encoder", "_nominated", "_codecs"} <= set(uses)
    unlisted = {name: where for name, where in uses.items() if name not in listed}
    assert not unlisted, f"private names used in rtc/ but not in rtc/private_names.py: {unlisted}"


def test_every_listed_name_is_used_and_present() -> None:
    uses = private_uses()
    unused = [str(entry) for entry in PRIVATE_NAMES if entry.name not in uses]
    assert not unused, f"listed but no longer used by rtc/: {unused}"
    assert missing() == []


def test_a_renamed_attribute_is_noticed() -> None:
    assert not exists(PrivateName("aiortc.rtcrtpsender", "RTCRtpSender", "_renamed_ssrc"))
    assert not exists(PrivateName("aiortc.no_such_module", "", "_x"))
    assert exists(PrivateName("aiortc.rtcrtpsender", "RTCRtpSender", "_track_id"))  # a setter's
    assert exists(PrivateName("aiortc.rtcrtpsender", "RTCRtpSender", "_handle_rtcp_packet"))


def test_a_method_removed_from_its_class_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    from aiortc.rtcrtpreceiver import RTCRtpReceiver

    monkeypatch.delattr(RTCRtpReceiver, "_send_rtcp_pli")  # other methods still call it
    assert [str(m) for m in missing()] == ["aiortc.rtcrtpreceiver.RTCRtpReceiver._send_rtcp_pli"]


async def test_the_self_test_names_a_name_that_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    gone = PrivateName("aioice.ice", "Connection", "_nominated_pairs")
    monkeypatch.setattr("rtc.private_names.PRIVATE_NAMES", (*PRIVATE_NAMES, gone))
    with pytest.raises(SelfTestError, match=r"aioice\.ice\.Connection\._nominated_pairs"):
        await self_test()
