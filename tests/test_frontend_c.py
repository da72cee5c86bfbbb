"""toolchain/frontend_c.py: the micro frontend's C library through ctypes gives TensorFlow's op's features,
value for value, fed whole or in blocks of odd lengths, and the stream path never imports TensorFlow."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from toolchain.audio import load_clip
from toolchain.frontend import FrontendParams, stream_features
from toolchain.frontend_c import FrontendStream, recording_features

FRONTENDS = {
    "default": FrontendParams(),
    "32 channels": FrontendParams(num_channels=32),
    "32 channels, 25/10 ms, 60-3800 Hz": FrontendParams(num_channels=32, window_size_ms=25, window_step_ms=10,
                                                        lower_band_limit=60.0, upper_band_limit=3800.0),
    "64 channels, 8 kHz, no PCAN": FrontendParams(sample_rate=8000, num_channels=64, upper_band_limit=3900.0,
                                                  enable_pcan=False),
    "no log, other smoothing and gain": FrontendParams(enable_log=False, scale_shift=3, smoothing_bits=8, even_smoothing=0.1,
                                                       odd_smoothing=0.02, min_signal_remaining=0.2, pcan_strength=0.5,
                                                       pcan_offset=40.0, gain_bits=18, value_scale=300, value_div=500),
}


def _noise(rate: int, seconds: float, level: float, seed: int = 0) -> np.ndarray:
    return np.clip(np.random.default_rng(seed).normal(0, level, int(rate * seconds)), -32768, 32767).astype(np.int16)


def _varying(rate: int, seconds: int = 9) -> np.ndarray:
    """Quiet and loud stretches of noise under a swept tone: the noise estimate and PCAN gain move all along."""
    rng = np.random.default_rng(7)
    t = np.arange(rate * seconds) / rate
    sweep = np.sin(2 * np.pi * (100 + 300 * t) * t)
    noise = rng.normal(0, 1, t.size) * np.repeat(rng.uniform(0.001, 0.3, seconds * 4), rate // 4)
    return np.clip((0.3 * sweep + noise) * 8000, -32768, 32767).astype(np.int16)


def _in_blocks(audio: np.ndarray, params: FrontendParams, sizes: list[int]) -> np.ndarray:
    """Frames of `audio` pushed in blocks of `sizes` (cycled), odd lengths crossing frame boundaries anywhere."""
    parts, start, k = [], 0, 0
    with FrontendStream(params) as frontend:
        while start < len(audio):
            parts.append(frontend.push(audio[start:start + sizes[k % len(sizes)]]))
            start, k = start + sizes[k % len(sizes)], k + 1
    return np.concatenate(parts)


@pytest.mark.parametrize("name", sorted(FRONTENDS))
def test_equals_the_tensorflow_op_whole_and_in_odd_blocks(name):
    params = FRONTENDS[name]
    rate = params.sample_rate
    cases = {
        "random": _noise(rate, 2.3, 3000),
        "silence": np.zeros(rate * 2, np.int16),
        "clipping": _noise(rate, 2, 40000, seed=1),
        "full-scale square": np.where(np.sin(np.arange(rate * 2) * 0.05) >= 0, 32767, -32768).astype(np.int16),
        "varying, several seconds": _varying(rate),
        "shorter than a window": _noise(rate, 0.01, 3000),
    }
    for case, audio in cases.items():
        expected = stream_features(audio, params)
        np.testing.assert_array_equal(recording_features(audio, params), expected, err_msg=f"{name}: {case}")
        np.testing.assert_array_equal(_in_blocks(audio, params, [1, 7, 333, 4801, 2, 12_345]), expected,
                                      err_msg=f"{name}: {case} in blocks")
    assert len(stream_features(cases["varying, several seconds"], params)) > 400


def test_a_synthetic_word_equals_the_tensorflow_op(synth_corpus):
    clip = load_clip(sorted((synth_corpus / "en" / "clips").rglob("*.opus"))[0])
    for params in (FRONTENDS["default"], FRONTENDS["32 channels, 25/10 ms, 60-3800 Hz"]):
        expected = stream_features(clip, params)
        assert int(expected.max()) - int(expected.min()) > 50  # a word, not silence
        np.testing.assert_array_equal(recording_features(clip, params), expected)
        np.testing.assert_array_equal(_in_blocks(clip, params, [641, 3, 159]), expected)


def test_the_uint16_filterbank_is_the_ops():
    import tensorflow as tf

    from toolchain.frontend import filterbank_tf

    audio = _varying(16000, 3)
    with FrontendStream(FrontendParams()) as frontend:
        found = frontend.push_filterbank(audio)
    expected = filterbank_tf(tf.constant(audio), FrontendParams()).numpy()
    assert found.dtype == np.uint16 and expected.max() > 255
    np.testing.assert_array_equal(found.astype(np.int32), expected)


def test_a_closed_stream_refuses_audio():
    from toolchain.errors import KwsError

    frontend = FrontendStream(FrontendParams())
    frontend.close()
    frontend.close()  # twice is harmless: the C state is freed once
    with pytest.raises(KwsError, match="closed"):
        frontend.push(np.zeros(480, np.int16))


def test_a_missing_library_is_one_line(monkeypatch, tmp_path):
    import toolchain.frontend_c as frontend_c
    from toolchain.errors import KwsError

    monkeypatch.setattr(frontend_c, "OP_LIBRARY", tmp_path / "absent.so")
    frontend_c._library.cache_clear()
    try:
        with pytest.raises(KwsError, match="absent.so: missing") as error:
            FrontendStream(FrontendParams())
        assert "\n" not in str(error.value)
    finally:
        monkeypatch.undo()
        frontend_c._library.cache_clear()


def test_the_stream_path_never_imports_tensorflow(tmp_path):
    """`kws stream` and `kws stream-eval`'s library calls in a fresh process (a window model, scoring
    workers on): TensorFlow and Keras stay unloaded."""
    import soundfile as sf

    from test_simulate import RATE, model_dirs, noisy_clip

    audio, corpus = tmp_path / "talk.wav", tmp_path / "corpus"
    sf.write(audio, _varying(RATE, 4), RATE, subtype="PCM_16")
    rng = np.random.default_rng(4)
    for word in ("beep", "boop"):
        (corpus / word).mkdir(parents=True)
        for i in range(4):
            sf.write(corpus / word / f"{i}.wav", noisy_clip(rng, word), RATE, subtype="PCM_16")
    script = textwrap.dedent("""
        import json, sys
        from toolchain.simulate.stream import stream_eval, stream_report
        if __name__ == "__main__":
            model, audio, corpus, out = sys.argv[1:]
            windows = stream_report(model, audio, workers=2)["windows"]
            occurrences = stream_eval(model, corpus, out, hours=60 / 3600, workers=2)["keyword_occurrences"]
            print(json.dumps({"windows": windows, "occurrences": occurrences,
                              "loaded": sorted(m for m in ("tensorflow", "keras") if m in sys.modules)}))
    """)
    done = subprocess.run([sys.executable, "-c", script, str(model_dirs()[0]), str(audio), str(corpus), str(tmp_path / "eval")],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["windows"] > 100 and found["occurrences"] > 0 and found["loaded"] == []
