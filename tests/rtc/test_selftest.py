"""The start-up self-test passes on the pinned aiortc and names the version when hooks break."""

from __future__ import annotations

import aiortc
import pytest
from aiortc.rtcrtpreceiver import RTCRtpReceiver

from rtc import SelfTestError, self_test, self_test_in_child


async def test_self_test_passes() -> None:
    await self_test()


async def test_self_test_fails_clearly_when_a_hook_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(RTCRtpReceiver, "_send_rtcp_pli")
    with pytest.raises(SelfTestError, match=f"aiortc {aiortc.__version__}.*_send_rtcp_pli"):
        await self_test()
    assert issubclass(SelfTestError, RuntimeError)


async def test_the_self_test_in_a_child_process_passes() -> None:
    await self_test_in_child()


async def test_the_child_process_reason_reaches_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``lingkar serve`` shows when the child's self-test fails: the child's problem, or
    what the child said last when it failed otherwise, in the self-test's own words."""
    problem = "frames did not pass through the hooks ({'audio': 0, 'video': 0})"
    monkeypatch.setattr(
        "rtc.selftest._CHILD", f"import sys; print({problem!r}, file=sys.stderr); sys.exit(1)"
    )
    with pytest.raises(SelfTestError) as raised:
        await self_test_in_child()
    assert str(raised.value) == str(SelfTestError(problem))
    monkeypatch.setattr("rtc.selftest._CHILD", "raise SystemExit('no aiortc here')")
    with pytest.raises(SelfTestError, match=f"aiortc {aiortc.__version__}: no aiortc here"):
        await self_test_in_child()
    monkeypatch.setattr("rtc.selftest._CHILD", "import os; os._exit(3)")
    with pytest.raises(SelfTestError, match="exit status 3"):
        await self_test_in_child()
