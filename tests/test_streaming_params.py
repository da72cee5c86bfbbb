"""StreamingParams: ranges, the manifest's JSON shape, retiming for a slow board, the ring bound, label roles."""
from __future__ import annotations

import dataclasses

import pytest

from toolchain.errors import KwsError
from toolchain.frontend import FrontendParams
from toolchain.streaming import (MAX_AUDIO_RING_BYTES, StreamingParams, audio_ring_samples, is_keyword,
                                 max_inference_stride_ms)

FRONTEND = FrontendParams()


def test_manifest_shape_round_trips_with_the_same_keys():
    params = StreamingParams()
    assert params.to_dict() == {"smoothing_window_ms": 300, "suppression_ms": 1500, "minimum_count": 3, "inference_stride_ms": 20}
    assert StreamingParams.from_dict(params.to_dict()) == params
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.minimum_count = 1


@pytest.mark.parametrize("data, message", [
    ({"smoothing_window_ms": 300, "suppression_ms": 1500, "minimum_count": 3}, "lack \\['inference_stride_ms'\\]"),
    ({**StreamingParams().to_dict(), "extra": 1}, "unknown streaming settings \\['extra'\\]"),
    ({**StreamingParams().to_dict(), "minimum_count": 0}, "minimum_count 0: must be 1–15"),
    ({**StreamingParams().to_dict(), "minimum_count": 16}, "minimum_count 16: must be 1–15"),
    ({**StreamingParams().to_dict(), "inference_stride_ms": -20}, "inference_stride_ms -20: must be positive"),
    ({**StreamingParams().to_dict(), "suppression_ms": -1}, "suppression_ms -1"),
    ({**StreamingParams().to_dict(), "smoothing_window_ms": 2.5}, "must be a whole number, got 2.5"),
    ({**StreamingParams().to_dict(), "minimum_count": True}, "must be a whole number, got True"),
    ([300, 1500], "not a mapping"),
])
def test_out_of_range_settings_are_refused_naming_the_file(data, message):
    with pytest.raises(KwsError, match=message) as caught:
        StreamingParams.from_dict(data, "model/manifest.json")
    assert str(caught.value).startswith("model/manifest.json: ") and "\n" not in str(caught.value)


def test_retiming_for_a_slow_device_keeps_a_reachable_count():
    fast = StreamingParams()
    assert fast.at_stride(20, FRONTEND) == fast
    assert fast.at_stride(100, FRONTEND) == dataclasses.replace(fast, inference_stride_ms=100)
    assert fast.at_stride(200, FRONTEND) == dataclasses.replace(fast, inference_stride_ms=200, minimum_count=2)  # 2 fit in 300 ms
    assert fast.at_stride(660, FRONTEND) == dataclasses.replace(fast, inference_stride_ms=660, minimum_count=1)
    assert fast.at_stride(660, FRONTEND).capacity == 2
    assert fast.at_stride(200, FRONTEND).stride_frames(FRONTEND) == 10
    for bad in (0, 30, -20):
        with pytest.raises(KwsError, match="positive multiple of the frontend step"):
            fast.at_stride(bad, FRONTEND)


def test_a_stride_whose_microphone_ring_a_board_cannot_hold_is_refused_with_the_reason():
    longest = max_inference_stride_ms(FRONTEND)
    assert 2 * audio_ring_samples(FRONTEND.sample_rate, longest) <= MAX_AUDIO_RING_BYTES
    assert 2 * audio_ring_samples(FRONTEND.sample_rate, longest + FRONTEND.window_step_ms) > MAX_AUDIO_RING_BYTES
    StreamingParams().at_stride(longest, FRONTEND)
    with pytest.raises(KwsError) as caught:
        StreamingParams().at_stride(60000, FRONTEND)
    message = str(caught.value)
    assert f"at most {longest} ms" in message and "microphone ring" in message and "2,097,152 B" in message


def test_ring_is_a_power_of_two_holding_the_busy_time_and_slack():
    assert audio_ring_samples(16000, 20) == 8192 and audio_ring_samples(16000, 760) == 16384
    for busy in (0, 100, 333, 1000):
        ring = audio_ring_samples(16000, busy)
        assert ring & (ring - 1) == 0 and ring >= 16 * (busy + 256)


def test_only_silence_and_unknown_are_not_keywords():
    assert [is_keyword(label) for label in ("_silence_", "_unknown_", "sete", "_", "hello_")] == [False, False, True, True, True]
