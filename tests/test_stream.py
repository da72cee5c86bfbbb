"""The streaming recognizer's rules, detection in a stream with known keyword times, stream_eval."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from test_simulate import LABELS, RATE, burst, model_dirs, noisy_clip
from toolchain.simulate.recognizer import Recognizer, detect, smoothed_scores

STREAMING = {"smoothing_window_ms": 100, "suppression_ms": 500, "minimum_count": 3, "inference_stride_ms": 20}


def recognizer(threshold=0.5, **overrides) -> Recognizer:
    return Recognizer.from_manifest(LABELS, threshold, {**STREAMING, **overrides})


def row(beep: float) -> np.ndarray:
    return np.array([0.0, 1.0 - beep, beep], np.float32)


def test_needs_minimum_count_before_detecting():
    r = recognizer()
    assert [r.process(row(1.0), t).label for t in (0, 20, 40)] == [-1, -1, 2]


def test_averages_over_the_smoothing_window_only():
    r = recognizer(threshold=0.6)
    for t, p in ((0, 0.0), (20, 0.0), (40, 0.9), (60, 0.9)):
        result = r.process(row(p), t)
    assert result.label == -1 and result.score == pytest.approx(0.45)  # 4 rows in 100 ms
    result = r.process(row(0.9), 100)  # the row at 0 ms has left: times must be > now - window
    assert r.count == 4 and result.score == pytest.approx(0.675) and result.label == 2


def test_suppression_marks_one_detection_per_utterance():
    r = recognizer()
    news = [t for t in range(0, 2000, 20) if r.process(row(1.0), t).is_new]
    assert news == [40, 540, 1040, 1540]  # first at minimum count, then every suppression_ms


def test_silence_labels_are_never_reported_and_time_going_back_resets():
    r = recognizer()
    for t in (0, 20, 40):
        assert r.process(np.array([1.0, 0.0, 0.0], np.float32), t).label == -1
    for t in (0, 20):
        r.process(row(1.0), t)
    assert r.count == 2 and r.process(row(1.0), 40).is_new


def test_vectorised_rules_equal_the_streaming_port():
    rng = np.random.default_rng(3)
    beep = np.clip(np.convolve(rng.random(3000) > 0.97, np.ones(12), "same") * 0.4 + rng.random(3000) * 0.3, 0, 1)
    posteriors = np.stack([0.5 * (1 - beep), 0.5 * (1 - beep), beep], 1).astype(np.float32)
    times = np.arange(3000) * 20
    for threshold in (0.3, 0.5, 0.7):
        r = recognizer(threshold)
        expected = [(t, res.label) for t, p in zip(times, posteriors) if (res := r.process(p, int(t))).is_new]
        best, score, counts = smoothed_scores(posteriors, LABELS, STREAMING)
        assert [(t, label) for t, label, _ in detect(best, score, counts, times, threshold, STREAMING)] == expected
        assert expected


@pytest.fixture(scope="module")
def beep_stream(tmp_path_factory):
    """8 s of noise at 16 kHz with 0.4 s beeps centred on 2.0 s and 5.0 s, saved at 44.1 kHz."""
    rng = np.random.default_rng(11)
    audio = rng.normal(0, 0.015, 8 * RATE).astype(np.float32)
    for centre in (2.0, 5.0):
        word = burst(rng, 0.4, 1000.0 * 0.7)
        start = int(centre * RATE) - word.size // 2
        audio[start:start + word.size] += word
    path = tmp_path_factory.mktemp("stream") / "beeps.wav"
    from scipy.signal import resample_poly

    sf.write(path, resample_poly(audio, 441, 160), 44100, subtype="PCM_16")
    return path


@pytest.mark.parametrize("runtime", ["tflm", "litert", "float"])
def test_stream_finds_the_keywords_at_their_times(beep_stream, runtime):
    from toolchain.simulate.stream import stream

    detections = stream(model_dirs()[0], beep_stream, runtime)
    assert [d["label"] for d in detections] == ["beep", "beep"], detections
    for detection, expected in zip(detections, (2.0, 5.0)):
        assert abs(detection["time_s"] - expected) <= 0.5 and detection["score"] >= 0.6


def test_stream_eval_sweeps_thresholds(tmp_path, monkeypatch):
    import toolchain.simulate.stream as stream_module

    monkeypatch.setattr(stream_module, "CHUNK_SECONDS", 20)
    corpus = tmp_path / "corpus"
    rng = np.random.default_rng(4)
    for word, kind in (("beep", "beep"), ("boop", "boop")):
        (corpus / word).mkdir(parents=True)
        for i in range(6):
            sf.write(corpus / word / f"{i}.wav", noisy_clip(rng, kind), RATE, subtype="PCM_16")
    result = stream_module.stream_eval(model_dirs()[0], corpus, tmp_path / "eval", hours=60 / 3600, seed=1)
    saved = json.loads((tmp_path / "eval" / "stream_eval.json").read_text())
    assert saved["hours"] == pytest.approx(60 / 3600, rel=1e-3) and saved["keyword_occurrences"] >= 5
    assert saved["windows"] == pytest.approx(60 * 50, abs=50)
    tprs = [row["tpr"] for row in saved["sweep"]]
    assert tprs == sorted(tprs, reverse=True)  # a higher threshold never finds more
    assert saved["sweep"][0]["tpr"] >= 0.8
    assert result["at_threshold"]["threshold"] == 0.6
    assert (tmp_path / "eval" / "det_curve.png").stat().st_size > 1000


def test_stream_at_a_slower_device_stride_still_finds_the_keywords(beep_stream):
    from toolchain.errors import KwsError
    from toolchain.simulate.stream import load_at_stride, stream

    retimed = load_at_stride(model_dirs()[0], 200)
    assert retimed.streaming["inference_stride_ms"] == 200 and retimed.streaming["minimum_count"] == 2
    detections = stream(model_dirs()[0], beep_stream, "tflm", inference_stride_ms=200)
    assert [d["label"] for d in detections] == ["beep", "beep"], detections
    # windows end at 990 ms (49 frames of 20 ms + the 30 ms window's tail) and every 200 ms after
    assert all(round(d["time_s"] * 1000) % 200 == 190 for d in detections), detections
    with pytest.raises(KwsError, match="multiple of the frontend step"):
        load_at_stride(model_dirs()[0], 50)
