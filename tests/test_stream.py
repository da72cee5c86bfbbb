"""The streaming recognizer's rules, detection in a stream with known keyword times, stream_eval."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from test_simulate import LABELS, RATE, burst, model_dirs, noisy_clip
from toolchain.frontend_c import FrontendStream
from toolchain.simulate.recognizer import Recognizer, detect, smoothed_scores
from toolchain.streaming import StreamingParams

STREAMING = StreamingParams(smoothing_window_ms=100, suppression_ms=500, minimum_count=3, inference_stride_ms=20)


def recognizer(threshold=0.5) -> Recognizer:
    return Recognizer(LABELS, threshold, STREAMING)


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


@pytest.mark.parametrize("runtime", ["checked", "tflm", "litert", "float"])
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
    # every window on TFLM: the same figures at the model's threshold, which "checked" promises
    on_tflm = stream_module.stream_eval(model_dirs()[0], corpus, tmp_path / "eval_tflm", hours=60 / 3600, seed=1, runtime="tflm")
    assert result["at_threshold"] == on_tflm["at_threshold"] and on_tflm["tflm_exact_at_threshold"] == "all"
    assert result["windows_rerun_on_tflm"] < result["windows"] and result["windows_outside_interval"] == 0


def test_operating_points_take_the_fewest_false_accepts_among_thresholds_reaching_the_rate():
    from toolchain.simulate.stream import _fewest_false_accepts

    sweep = [{"threshold": 0.5, "tpr": 0.97, "fa_per_hour": 4.0}, {"threshold": 0.6, "tpr": 0.95, "fa_per_hour": 2.0},
             {"threshold": 0.7, "tpr": 0.95, "fa_per_hour": 2.0}, {"threshold": 0.8, "tpr": 0.92, "fa_per_hour": 0.0},
             {"threshold": 0.9, "tpr": 0.85, "fa_per_hour": 0.0}]
    assert _fewest_false_accepts(sweep, 0.95)["threshold"] == 0.7  # the higher of two equal ones
    assert _fewest_false_accepts(sweep, 0.9)["threshold"] == 0.8
    assert _fewest_false_accepts(sweep, 0.99) is None


def test_stream_at_a_slower_device_stride_still_finds_the_keywords(beep_stream):
    from toolchain.errors import KwsError
    from toolchain.simulate.stream import load_at_stride, stream

    retimed = load_at_stride(model_dirs()[0], 200)
    assert retimed.streaming == StreamingParams(inference_stride_ms=200, minimum_count=2)
    detections = stream(model_dirs()[0], beep_stream, "tflm", inference_stride_ms=200)
    assert [d["label"] for d in detections] == ["beep", "beep"], detections
    # windows end at 990 ms (49 frames of 20 ms + the 30 ms window's tail) and every 200 ms after
    assert all(round(d["time_s"] * 1000) % 200 == 190 for d in detections), detections
    with pytest.raises(KwsError, match="multiple of the frontend step"):
        load_at_stride(model_dirs()[0], 50)


@pytest.fixture(scope="module")
def long_stream(tmp_path_factory):
    """Three minutes at 16 kHz: noise whose level changes every second, with beeps and boops at random times."""
    rng = np.random.default_rng(21)
    seconds = 180
    audio = rng.normal(0, 0.01, seconds * RATE) * np.repeat(rng.uniform(0.3, 3.0, seconds), RATE)
    for centre in rng.uniform(1, seconds - 1, 60):
        word = burst(rng, 0.4, 700.0 if rng.random() < 0.5 else 170.0)
        start = int(centre * RATE)
        audio[start:start + word.size] += word[:audio.size - start]
    path = tmp_path_factory.mktemp("long") / "long.wav"
    sf.write(path, np.clip(audio, -1, 1), RATE, subtype="PCM_16")
    return path


def test_blocks_read_resampled_and_downmixed_equal_the_whole_file(tmp_path):
    from toolchain.audio import load_audio, to_int16
    from toolchain.simulate.stream import audio_blocks

    rng = np.random.default_rng(8)
    for rate, channels in ((16000, 1), (44100, 2), (48000, 1), (22050, 2)):
        path = tmp_path / f"{rate}_{channels}.wav"
        sf.write(path, rng.uniform(-0.5, 0.5, (int(rate * 20.3), channels)), rate, subtype="PCM_16")
        blocks = list(audio_blocks(path, 16000, block_seconds=3.3))
        assert len(blocks) >= 6
        np.testing.assert_array_equal(np.concatenate(blocks), to_int16(load_audio(path)), err_msg=f"{rate} Hz")


def test_stream_refuses_what_enroll_refuses(tmp_path):
    from toolchain.errors import KwsError
    from toolchain.simulate.stream import stream

    path = tmp_path / "phone.wav"
    sf.write(path, np.zeros(8000 * 3), 8000, subtype="PCM_16")
    with pytest.raises(KwsError, match="sample rate 8000 Hz is below 16000 Hz"):
        stream(model_dirs()[0], path)


def test_chunked_features_and_detections_equal_one_pass_over_the_whole_file(long_stream, monkeypatch):
    import toolchain.simulate.stream as stream_module
    from toolchain.convert.artifact import load_converted_model
    from toolchain.frontend import stream_features
    from toolchain.simulate.recognizer import Recognizer
    from toolchain.simulate.runtimes import TflmRunner

    model = load_converted_model(model_dirs()[0])
    whole_audio = sf.read(long_stream, dtype="int16")[0]
    whole = stream_features(whole_audio, model.frontend)
    with FrontendStream(model.frontend) as frontend:
        chunked = np.concatenate([frontend.push(block) for block in stream_module.audio_blocks(long_stream, RATE, block_seconds=40)])
    np.testing.assert_array_equal(chunked, whole)

    # the whole file in one pass, every window on TFLM, the recognizer port
    ends = np.arange(model.frontend.num_frames - 1, len(whole), model.streaming.stride_frames(model.frontend))
    windows = np.stack([whole[end - model.frontend.num_frames + 1:end + 1] for end in ends])
    recognizer = Recognizer(model.labels, model.threshold, model.streaming)
    expected = []
    for now_ms, row in zip(stream_module.window_end_ms(model, ends), TflmRunner(model).predict(windows)):
        result = recognizer.process(row, int(now_ms))
        if result.is_new:
            expected.append({"time_s": round(int(now_ms) / 1000, 3), "label": model.labels[result.label], "score": round(result.score, 4)})

    monkeypatch.setattr(stream_module, "READ_BLOCK_SECONDS", 40)  # several blocks, so seams are crossed
    report = stream_module.stream_report(model_dirs()[0], long_stream, workers=2)
    assert len(expected) >= 20 and report["detections"] == expected
    assert report["windows"] == len(ends) and report["runtime"].startswith("litert_builtin_int8")
    # the builtin kernels differ from TFLM on some windows, always within the bound the re-runs rely on
    assert report["windows_rerun_on_tflm"] >= len(expected) and report["windows_outside_interval"] == 0


@pytest.mark.slow
def test_a_long_recording_streams_in_bounded_memory(tmp_path):
    """Twenty minutes at 48 kHz stereo: read whole it would be 440 MiB of float32; streamed, a few blocks."""
    import tracemalloc

    from toolchain.simulate.stream import stream_report

    path = tmp_path / "long.wav"
    rng = np.random.default_rng(2)
    with sf.SoundFile(path, "w", 48000, 2, "PCM_16") as out:
        for _ in range(20):
            out.write(rng.normal(0, 0.02, (48000 * 60, 2)))
    tracemalloc.start()
    report = stream_report(model_dirs()[0], path, workers=1)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert report["seconds"] == pytest.approx(1200) and report["windows"] == pytest.approx(1200 * 50, abs=60)
    assert peak < 120 * 2**20, f"{peak / 2**20:.0f} MiB traced"


@pytest.mark.parametrize("args, message", [
    (["--inference-stride-ms", "60000"], "inference stride 60000 ms: at most 1780 ms; the microphone ring must hold"),
    (["--inference-stride-ms", "30"], "must be a positive multiple of the frontend step (20 ms)"),
    (["--inference-stride-ms", "-20"], "must be a positive multiple of the frontend step"),
])
def test_cli_refuses_strides_a_board_cannot_keep_in_one_line(beep_stream, args, message):
    from click.testing import CliRunner

    from toolchain.cli import main

    result = CliRunner().invoke(main, ["stream", str(model_dirs()[0]), str(beep_stream), *args])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr and result.stderr.count("\n") == 1


def test_cli_stream_refuses_8_khz_audio_in_one_line(tmp_path):
    from click.testing import CliRunner

    from toolchain.cli import main

    path = tmp_path / "phone.wav"
    sf.write(path, np.zeros(8000 * 2), 8000, subtype="PCM_16")
    result = CliRunner().invoke(main, ["stream", str(model_dirs()[0]), str(path), "--quiet"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: {path}: sample rate 8000 Hz is below 16000 Hz")


def test_cli_stream_prints_detections_and_how_they_were_computed(beep_stream):
    from click.testing import CliRunner

    from toolchain.cli import main

    result = CliRunner().invoke(main, ["stream", str(model_dirs()[0]), str(beep_stream), "--json"])
    assert result.exit_code == 0, result.output
    assert [d["label"] for d in json.loads(result.stdout)] == ["beep", "beep"]
    assert "windows on litert_builtin_int8 + tflm" in result.stderr and "re-run on TFLM" in result.stderr


def test_export_refuses_a_stride_whose_microphone_ring_a_board_cannot_hold(tmp_path):
    from click.testing import CliRunner

    from toolchain.cli import main

    out = tmp_path / "fw"
    result = CliRunner().invoke(main, ["export-firmware", str(model_dirs()[0]), "--board", "nano33ble", "--out", str(out),
                                       "--inference-stride-ms", "60000"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "at most 1780 ms; the microphone ring must hold" in result.stderr and "budget" not in result.stderr
    assert not out.exists()


def test_output_interval_holds_every_softmax_whose_logits_move_one_step():
    from toolchain.simulate.scoring import output_interval

    rng = np.random.default_rng(6)
    logit_step, output_step = 0.57, 1 / 256  # the demo model's scales
    logits = rng.normal(0, 3, (20000, 4)) * logit_step

    def quantized_softmax(z):
        p = np.exp(z - z.max(axis=1, keepdims=True))
        return (np.round(p / p.sum(axis=1, keepdims=True) / output_step) * output_step).astype(np.float32)

    fast = quantized_softmax(logits)
    moved = quantized_softmax(logits + logit_step * rng.integers(-1, 2, logits.shape))
    low, high = output_interval(fast, logit_step, output_step)
    assert np.all((low <= moved) & (moved <= high))
    assert high[fast <= output_step].max() < 0.05  # a keyword that is absent stays far below any threshold
    wider = quantized_softmax(logits + 3 * logit_step * rng.integers(-1, 2, logits.shape))
    assert np.any((wider < low) | (wider > high))  # three steps apart escapes it: the check can fail
