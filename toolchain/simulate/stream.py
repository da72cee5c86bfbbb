"""Keyword detection over long recordings, as the device does it, and its false-accept rate.

`stream` runs one recording: features with the frontend state carried across the whole file, a
49-frame window slid by the inference stride, the model on every window, the recognizer on the
posteriors. `stream_eval` builds hours of test audio with keywords at known times among other
words and noise, scores every window once, and sweeps the threshold (true-positive rate vs false
accepts per hour, DET curve).
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from toolchain.artifacts import write_json_atomic
from toolchain.audio import load_audio, to_int16
from toolchain.convert.artifact import ConvertedModel, load_converted_model
from toolchain.corpus.background import coloured_noise, hum
from toolchain.errors import KwsError
from toolchain.export.settings_header import streaming_at_stride
from toolchain.features import decode_clips
from toolchain.frontend import SETTLING_MS, lead_in_samples, stream_features
from toolchain.simulate.clips import evaluation_records, read_any_corpus
from toolchain.simulate.recognizer import Recognizer, detect, smoothed_scores
from toolchain.simulate.runtimes import LiteRtRunner, runner

HIT_TOLERANCE_S = 0.75
CHUNK_SECONDS = 60
SCORE_BATCH = 4096
KEYWORD_PROBABILITY = 0.3
SNR_DB_RANGE = (5.0, 25.0)
MAX_CLIP_POOL = 400


def load_at_stride(model_dir: Path, inference_stride_ms: int | None) -> ConvertedModel:
    """The converted model, with its recognizer retimed for a device that infers every `inference_stride_ms`
    (as `kws export-firmware` retimes it for a slow board); None keeps the model's own settings."""
    model = load_converted_model(model_dir)
    if inference_stride_ms is None:
        return model
    streaming = streaming_at_stride(model.streaming, inference_stride_ms, model.frontend.window_step_ms)
    return dataclasses.replace(model, streaming=streaming)


def stride_frames(model: ConvertedModel) -> int:
    return max(1, round(int(model.streaming["inference_stride_ms"]) / model.frontend.window_step_ms))


def window_end_ms(model: ConvertedModel, last_frame: np.ndarray) -> np.ndarray:
    """Time (ms from the start) of the last audio sample the window ending at `last_frame` uses."""
    p = model.frontend
    return (last_frame * p.step_samples + p.window_samples) * 1000 // p.sample_rate


def _window_ends(model: ConvertedModel, frame_count: int) -> np.ndarray:
    frames = model.frontend.num_frames
    return np.arange(frames - 1, frame_count, stride_frames(model))


def _windows(frames: np.ndarray, ends: np.ndarray, length: int) -> np.ndarray:
    view = np.lib.stride_tricks.sliding_window_view(frames, (length, frames.shape[1]))[:, 0]
    return np.ascontiguousarray(view[ends - (length - 1)])


def stream_posteriors(model: ConvertedModel, run, audio_int16: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(window end times in ms, posteriors) for one recording."""
    frames = stream_features(audio_int16, model.frontend)
    ends = _window_ends(model, len(frames))
    if len(ends) == 0:
        return np.zeros(0, np.int64), np.zeros((0, len(model.labels)), np.float32)
    return window_end_ms(model, ends), run.predict(_windows(frames, ends, model.frontend.num_frames))


def stream(model_dir: Path, audio_path: Path, runtime: str = "tflm", inference_stride_ms: int | None = None) -> list[dict]:
    """Detections {"time_s", "label", "score"} in a recording (any rate; resampled to 16 kHz), with the
    manifest's threshold and streaming settings (retimed to `inference_stride_ms` when given). `time_s`
    is the end of the window that fired."""
    model = load_at_stride(model_dir, inference_stride_ms)
    audio = to_int16(load_audio(Path(audio_path)))
    times, posteriors = stream_posteriors(model, runner(model, runtime), audio)
    recognizer = Recognizer.from_manifest(model.labels, model.threshold, model.streaming)
    detections = []
    for now_ms, row in zip(times, posteriors):
        result = recognizer.process(row, int(now_ms))
        if result.is_new:
            detections.append({"time_s": round(int(now_ms) / 1000, 3), "label": model.labels[result.label],
                               "score": round(result.score, 4)})
    return detections


def _clip_pool(records, rng: np.random.Generator, what: str) -> tuple[list, list[np.ndarray]]:
    picks = [records[i] for i in sorted(rng.permutation(len(records))[:MAX_CLIP_POOL])]
    kept, audio, _ = decode_clips(picks, progress=False)
    if not kept:
        raise KwsError(f"stream-eval: no readable {what} clips in the corpus")
    return kept, [a.astype(np.float32) / 32768.0 for a in audio]


def _noise_bed(rng: np.random.Generator, seconds: float) -> np.ndarray:
    kind = int(rng.integers(5))
    if kind < 3:
        return coloured_noise(rng, seconds, float(kind))
    return hum(rng, seconds, 50.0 if kind == 3 else 60.0)


def _chunk(rng, samples: int, rate: int, keyword_pool, keyword_labels, word_pool) -> tuple[np.ndarray, list[tuple[float, str]]]:
    """`samples` of noise with words laid end to end at random gaps; keywords' end times returned."""
    audio = np.zeros(samples, np.float32)
    events = []
    position = int(rng.uniform(0.5, 2.0) * rate)
    while True:
        is_keyword = rng.random() < KEYWORD_PROBABILITY
        pool = keyword_pool if is_keyword else word_pool
        index = int(rng.integers(len(pool)))
        clip = pool[index]
        if position + clip.size > samples:
            break
        gain = rng.uniform(0.3, 1.0) / max(1e-3, float(np.max(np.abs(clip))))
        audio[position:position + clip.size] += clip * gain
        if is_keyword:
            events.append(((position + clip.size) / rate, keyword_labels[index]))
        position += clip.size + int(rng.uniform(1.0 if is_keyword else 0.3, 3.0) * rate)
    speech_rms = float(np.sqrt(np.mean(np.square(audio[audio != 0])))) if np.any(audio) else 0.05
    noise = _noise_bed(rng, samples / rate)
    snr = rng.uniform(*SNR_DB_RANGE)
    noise *= speech_rms / 10 ** (snr / 20) / max(1e-9, float(np.sqrt(np.mean(np.square(noise)))))
    mixed = audio + noise
    return to_int16(mixed / max(1.0, float(np.max(np.abs(mixed))))), events


def _build_stream(model: ConvertedModel, corpus: Path, hours: float, seed: int) -> tuple[np.ndarray, list[tuple[float, str]]]:
    rng = np.random.default_rng(seed)
    keyword_records, other_records = evaluation_records(model, read_any_corpus(corpus).clips)
    if not keyword_records:
        raise KwsError(f"{corpus}: no test clips of the model's keywords")
    if not other_records:
        raise KwsError(f"{corpus}: no non-keyword words to build the background from")
    kept, keyword_pool = _clip_pool(keyword_records, rng, "keyword")
    _, word_pool = _clip_pool(other_records, rng, "non-keyword")
    rate = model.frontend.sample_rate
    chunk_samples = CHUNK_SECONDS * rate // model.frontend.step_samples * model.frontend.step_samples
    chunks = max(1, int(np.ceil(hours * 3600 / CHUNK_SECONDS)))
    audio = np.zeros(chunks * chunk_samples, np.int16)
    events = []
    for k in range(chunks):
        audio[k * chunk_samples:(k + 1) * chunk_samples], found = _chunk(
            rng, chunk_samples, rate, keyword_pool, [r.label for r in kept], word_pool)
        events += [(k * CHUNK_SECONDS + t, label) for t, label in found]
    return audio, events


def _segment_features(model: ConvertedModel, audio: np.ndarray, first: int, count: int) -> np.ndarray:
    """Frames first..first+count-1 of the whole stream, computed from a bounded slice of audio."""
    p = model.frontend
    start = max(0, first - lead_in_samples(SETTLING_MS, p) // p.step_samples)  # the frontend settles first
    end_sample = (first + count - 1) * p.step_samples + p.window_samples
    frames = stream_features(audio[start * p.step_samples:end_sample], p)
    return frames[first - start:first - start + count]


def _score_stream(model: ConvertedModel, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LiteRT int8 posteriors of every window (TFLM agrees with it exactly; `simulate` checks that)."""
    p = model.frontend
    run = LiteRtRunner(model, reference_kernels=False)  # optimised kernels: an hour of windows in about a minute
    total_frames = 1 + (len(audio) - p.window_samples) // p.step_samples
    ends = _window_ends(model, total_frames)
    posteriors = np.zeros((len(ends), len(model.labels)), np.float32)
    per_segment = CHUNK_SECONDS * 1000 // p.window_step_ms
    for first in range(0, total_frames, per_segment):
        lo = max(0, first - (p.num_frames - 1))
        frames = _segment_features(model, audio, lo, min(total_frames, first + per_segment) - lo)
        mask = (ends >= first) & (ends < first + per_segment)
        for batch in np.array_split(np.flatnonzero(mask), max(1, int(mask.sum()) // SCORE_BATCH + 1)):
            if len(batch):
                posteriors[batch] = run.predict(_windows(frames, ends[batch] - lo, p.num_frames))
    return window_end_ms(model, ends), posteriors


def _score_threshold(detections, events, hours: float, labels: list[str]) -> dict:
    """Hits: a detection of the right keyword within the tolerance of an unclaimed occurrence."""
    event_times = np.array([t for t, _ in events])
    claimed = np.zeros(len(events), bool)
    false_accepts = 0
    for time_ms, label, _ in detections:
        t = time_ms / 1000
        near = np.flatnonzero((np.abs(event_times - t) <= HIT_TOLERANCE_S) & ~claimed) if len(events) else []
        match = [i for i in near if events[i][1] == labels[label]]
        if match:
            claimed[min(match, key=lambda i: abs(event_times[i] - t))] = True
        else:
            false_accepts += 1
    return {"tpr": round(float(claimed.mean()) if len(events) else 0.0, 4),
            "false_accepts": false_accepts, "fa_per_hour": round(false_accepts / hours, 3)}


def _plot_det(sweep: list[dict], operating: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fa = np.array([max(row["fa_per_hour"], 1e-2) for row in sweep])
    miss = np.array([1 - row["tpr"] for row in sweep])
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(fa, 100 * miss, marker=".")
    ax.plot([max(operating["fa_per_hour"], 1e-2)], [100 * (1 - operating["tpr"])], "r*", markersize=12,
            label=f"threshold {operating['threshold']:.2f}")
    ax.set_xscale("log")
    ax.set_xlabel("false accepts per hour")
    ax.set_ylabel("miss rate (%)")
    ax.set_title("DET curve (streaming)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)


def stream_eval(model_dir: Path, corpus: Path, out_dir: Path, hours: float = 1.0, seed: int = 0,
                inference_stride_ms: int | None = None) -> dict:
    """False accepts per hour against detection rate over ≥ `hours` of synthetic test stream.

    Keyword clips (test split, not the shots' speakers) are laid at known times among other corpus
    words over coloured noise or hum at 5–25 dB SNR. A detection of the right keyword within
    ±0.75 s of an occurrence's end is a hit (one per occurrence); every other detection is a false
    accept. Writes `stream_eval.json` and `det_curve.png` in `out_dir`.
    """
    if hours <= 0:
        raise KwsError(f"stream-eval: --hours must be positive, got {hours}")
    started = time.time()
    model = load_at_stride(model_dir, inference_stride_ms)
    audio, events = _build_stream(model, Path(corpus), hours, seed)
    duration_h = len(audio) / model.frontend.sample_rate / 3600
    times, posteriors = _score_stream(model, audio)
    best, score, counts = smoothed_scores(posteriors, model.labels, model.streaming)
    thresholds = sorted({round(float(t), 2) for t in np.arange(0.05, 1.0, 0.01)} | {round(model.threshold, 4)})
    sweep = []
    for threshold in thresholds:
        found = detect(best, score, counts, times, threshold, model.streaming)
        sweep.append({"threshold": threshold, **_score_threshold(found, events, duration_h, model.labels)})
    at_threshold = next(row for row in sweep if row["threshold"] == round(model.threshold, 4))
    reaching = [row for row in sweep if row["tpr"] >= 0.9]
    at_90 = min(reaching, key=lambda row: (row["fa_per_hour"], -row["threshold"])) if reaching else None

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    det_png = out_dir / "det_curve.png"
    _plot_det(sweep, at_threshold, det_png)
    keywords = sorted({label for _, label in events})
    result = {
        "model_dir": str(model_dir), "corpus": str(corpus), "seed": seed, "runtime": "litert_int8 (optimised kernels)",
        "hours": round(duration_h, 6), "windows": int(len(times)),
        "keyword_occurrences": len(events),
        "occurrences_per_keyword": {k: sum(1 for _, label in events if label == k) for k in keywords},
        "hit_tolerance_s": HIT_TOLERANCE_S, "streaming": model.streaming,
        "threshold": model.threshold, "at_threshold": at_threshold,
        "fa_per_hour_at_90_tpr": at_90["fa_per_hour"] if at_90 else None,
        "threshold_at_90_tpr": at_90["threshold"] if at_90 else None,
        "sweep": sweep, "det_png": str(det_png),
        "wall_time_s": round(time.time() - started, 1),
    }
    write_json_atomic(out_dir / "stream_eval.json", result)
    return result
