import numpy as np
import pytest

from toolchain.audio import to_int16
from toolchain.errors import KwsError
from toolchain.frontend import (FrontendParams, clip_features, filterbank_tf, lead_in_samples, quantize_filterbank,
                                require_feature_input, require_same_frontend, settled_features_tf, stream_features)

REFERENCE = FrontendParams()


def test_reference_settings_give_49x40_int8():
    params = REFERENCE
    assert (params.sample_rate, params.window_size_ms, params.window_step_ms, params.num_channels) == (16000, 30, 20, 40)
    assert params.feature_shape == (49, 40)
    rng = np.random.default_rng(0)
    feats = clip_features(to_int16(rng.normal(0, 0.1, 16000).astype(np.float32)), params)
    assert feats.shape == (49, 40) and feats.dtype == np.int8
    assert feats.min() >= -128 and feats.max() <= 127
    assert feats.std() > 1  # noise gives a non-constant map


def test_int8_mapping_matches_micro_speech_formula():
    import tensorflow as tf

    rng = np.random.default_rng(1)
    audio = to_int16(rng.normal(0, 0.2, 16000).astype(np.float32))
    filterbank = filterbank_tf(tf.constant(audio), REFERENCE).numpy()
    # micro_speech feature provider: ((v * 256 + 666 / 2) / 666) - 128, clamped to int8
    expected = np.clip((filterbank * 256 + 333) // 666 - 128, -128, 127)
    np.testing.assert_array_equal(quantize_filterbank(filterbank, REFERENCE), expected)
    np.testing.assert_array_equal(clip_features(audio, REFERENCE), expected)


def test_silence_maps_to_the_feature_floor():
    feats = clip_features(np.zeros(16000, np.int16), REFERENCE)
    assert feats.max() == -128


def test_stream_features_keep_frontend_state_over_long_audio():
    rng = np.random.default_rng(2)
    audio = to_int16(rng.normal(0, 0.1, 48000).astype(np.float32))
    frames = stream_features(audio, REFERENCE)
    assert frames.shape == (1 + (48000 - 480) // 320, 40)
    # Noise reduction adapts over time, so later frames differ from a fresh 1 s computation.
    fresh = clip_features(audio[32000:48000], REFERENCE)
    assert not np.array_equal(frames[-49:], fresh)


def test_changed_params_change_fingerprint_and_are_refused():
    other = FrontendParams(num_channels=32)
    assert other.fingerprint() != REFERENCE.fingerprint()
    with pytest.raises(KwsError, match="num_channels"):
        require_same_frontend(REFERENCE, other.to_dict(), "model.keras")
    require_same_frontend(REFERENCE, REFERENCE.to_dict(), "same")


def test_invalid_params_are_rejected():
    with pytest.raises(KwsError, match="band limits"):
        FrontendParams(upper_band_limit=9000.0)
    with pytest.raises(KwsError, match="unknown parameters"):
        FrontendParams.from_dict({"window": 3})


def test_settled_features_are_the_clip_alone_or_the_end_of_a_longer_run():
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 0.05, 4 * 16000)
    word = np.zeros(4 * 16000)
    word[-10000:-4000] = 0.4 * np.sin(np.arange(6000) * 2 * np.pi * 500 / 16000)
    audio = to_int16(noise + word)
    lead = lead_in_samples(3000, REFERENCE)
    assert lead == 48000 and lead_in_samples(3010, REFERENCE) == lead  # whole frame steps only
    alone = settled_features_tf(audio[-16000:], REFERENCE).numpy()
    np.testing.assert_array_equal(alone, clip_features(audio[-16000:], REFERENCE))
    settled = settled_features_tf(audio, REFERENCE).numpy()
    np.testing.assert_array_equal(settled, stream_features(audio, REFERENCE)[-49:])
    # the device, listening for 3 s, has learnt the noise: its first frames (noise only) sit lower
    assert settled[:10].astype(float).mean() < alone[:10].astype(float).mean() - 5


def test_a_network_built_for_another_frontend_is_refused():
    narrow = FrontendParams(num_channels=32)
    require_feature_input((None, 49, 32), narrow, "emb")
    with pytest.raises(KwsError, match=r"emb: the network takes 49×40 feature maps but its frontend makes 49×32"):
        require_feature_input((None, 49, 40), narrow, "emb")


def test_every_frontend_function_needs_the_artifacts_params():
    import inspect

    from toolchain import features, frontend

    for function in (frontend.filterbank_tf, frontend.quantize_filterbank_tf, frontend.quantize_filterbank, frontend.features_tf,
                     frontend.settled_features_tf, frontend.lead_in_samples, frontend.clip_features, frontend.stream_features,
                     features.batch_features, features.featurise):
        params = inspect.signature(function).parameters["params"]
        assert params.default is inspect.Parameter.empty, f"{function.__name__} falls back to a default frontend"
    assert not hasattr(frontend, "DEFAULT_FRONTEND")
