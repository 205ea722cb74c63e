"""`lingkar serve` checks the forwarding core's aiortc hooks before it listens."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiortc import rtcrtpsender

from rtc import SelfTestError
from server.platform.settings import Settings
from server.serve import run_server


async def test_the_server_refuses_to_start_when_the_aiortc_hooks_are_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guards against serving with an aiortc whose internals moved (another release)."""
    # Play an aiortc release without the sender method the core wraps.
    monkeypatch.delattr(rtcrtpsender.RTCRtpSender, "_handle_rtcp_packet")
    settings = Settings(data_dir=tmp_path / "data", host="127.0.0.1", port=0)
    with pytest.raises(SelfTestError, match=r"aiortc 1\.16.*RTCRtpSender\._handle_rtcp_packet"):
        await run_server(settings)
    assert not (tmp_path / "data").exists()  # it stopped before touching anything
