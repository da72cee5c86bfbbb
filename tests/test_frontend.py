import numpy as np
import pytest

from toolchain.audio import to_int16
from toolchain.errors import KwsError
from toolchain.frontend import (DEFAULT_FRONTEND, FrontendParams, clip_features, filterbank_tf,
                                quantize_filterbank, require_same_frontend, stream_features)


def test_reference_settings_give_49x40_int8():
    params = DEFAULT_FRONTEND
    assert (params.sample_rate, params.window_size_ms, params.window_step_ms, params.num_channels) == (16000, 30, 20, 40)
    assert params.feature_shape == (49, 40)
    rng = np.random.default_rng(0)
    feats = clip_features(to_int16(rng.normal(0, 0.1, 16000).astype(np.float32)))
    assert feats.shape == (49, 40) and feats.dtype == np.int8
    assert feats.min() >= -128 and feats.max() <= 127
    assert feats.std() > 1  # noise gives a non-constant map


def test_int8_mapping_matches_micro_speech_formula():
    import tensorflow as tf

    rng = np.random.default_rng(1)
    audio = to_int16(rng.normal(0, 0.2, 16000).astype(np.float32))
    filterbank = filterbank_tf(tf.constant(audio)).numpy()
    # micro_speech feature provider: ((v * 256 + 666 / 2) / 666) - 128, clamped to int8
    expected = np.clip((filterbank * 256 + 333) // 666 - 128, -128, 127)
    np.testing.assert_array_equal(quantize_filterbank(filterbank), expected)
    np.testing.assert_array_equal(clip_features(audio), expected)


def test_silence_maps_to_the_feature_floor():
    feats = clip_features(np.zeros(16000, np.int16))
    assert feats.max() == -128


def test_stream_features_keep_frontend_state_over_long_audio():
    rng = np.random.default_rng(2)
    audio = to_int16(rng.normal(0, 0.1, 48000).astype(np.float32))
    frames = stream_features(audio)
    assert frames.shape == (1 + (48000 - 480) // 320, 40)
    # Noise reduction adapts over time, so later frames differ from a fresh 1 s computation.
    fresh = clip_features(audio[32000:48000])
    assert not np.array_equal(frames[-49:], fresh)


def test_changed_params_change_fingerprint_and_are_refused():
    other = FrontendParams(num_channels=32)
    assert other.fingerprint() != DEFAULT_FRONTEND.fingerprint()
    with pytest.raises(KwsError, match="num_channels"):
        require_same_frontend(DEFAULT_FRONTEND, other.to_dict(), "model.keras")
    require_same_frontend(DEFAULT_FRONTEND, DEFAULT_FRONTEND.to_dict(), "same")


def test_invalid_params_are_rejected():
    with pytest.raises(KwsError, match="band limits"):
        FrontendParams(upper_band_limit=9000.0)
    with pytest.raises(KwsError, match="unknown parameters"):
        FrontendParams.from_dict({"window": 3})
