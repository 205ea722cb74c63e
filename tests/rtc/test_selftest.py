"""The start-up self-test passes on the pinned aiortc and names the version when hooks break."""

from __future__ import annotations

import aiortc
import pytest
from aiortc.rtcrtpreceiver import RTCRtpReceiver

from rtc import SelfTestError, self_test


async def test_self_test_passes() -> None:
    await self_test()


async def test_self_test_fails_clearly_when_a_hook_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(RTCRtpReceiver, "_send_rtcp_pli")
    with pytest.raises(SelfTestError, match=f"aiortc {aiortc.__version__}.*_send_rtcp_pli"):
        await self_test()
    assert issubclass(SelfTestError, RuntimeError)
