"""Audio levels from the ssrc-audio-level header extension, without decoding.

aiortc's sender computes the RFC 6465 level of every frame it encodes and sends it in the
extension, so an aiortc peer sending a tone reports a real level, and one sending
AudioStreamTrack's silence reports -127 dBov.
"""

from __future__ import annotations

from aiortc import AudioStreamTrack

from rtc.audiolevel import SPEAKING_HOLD_S, AudioLevelMeter
from tests.rtc.clients import Client, ToneTrack, wait_for
from tests.rtc.conftest import Harness


async def test_tone_is_speaking_and_silence_is_not(harness: Harness) -> None:
    room = harness.room
    await harness.join(Client("speaker", audio=ToneTrack()))
    await harness.join(Client("quiet", audio=AudioStreamTrack()))

    def measured() -> bool:
        levels = room.audio_levels()
        return (
            "speaker" in levels
            and "quiet" in levels
            and levels["speaker"].speaking
            and levels["speaker"].speaking_seconds > 0.5
        )

    await wait_for(measured, what="levels for both publishers")
    speaker = room.audio_level("speaker")
    quiet = room.audio_level("quiet")
    assert speaker is not None
    assert quiet is not None
    assert -20 < speaker.dbov < -5  # a 0.3 full-scale sine is about -13 dBov
    assert quiet.dbov <= -100
    assert not quiet.speaking
    assert quiet.speaking_seconds == 0
    assert room.audio_level("nobody") is None
    assert room.counters.decodes == 0


def test_speaking_hysteresis() -> None:
    meter = AudioLevelMeter()
    t = 0.0
    for _ in range(10):  # 200 ms of speech at -30 dBov
        meter.update(30, t)
        t += 0.02
    assert meter.snapshot(t).speaking
    for _ in range(10):  # a soft syllable at -45 dBov keeps the flag (above the off level)
        meter.update(45, t)
        t += 0.02
    assert meter.snapshot(t).speaking
    for _ in range(int(SPEAKING_HOLD_S / 0.02) + 5):  # silence longer than the hold time
        meter.update(127, t)
        t += 0.02
    level = meter.snapshot(t)
    assert not level.speaking
    assert 0.35 < level.speaking_seconds < 0.5
    meter.update(45, t)  # -45 dBov alone does not start speaking (below the on level)
    assert not meter.snapshot(t).speaking
    assert meter.snapshot(t + 5).dbov == -127  # stale
