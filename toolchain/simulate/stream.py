"""Keyword detection over long recordings, as the device does it, and its false-accept rate.

`stream` reads one recording block by block, so memory stays bounded whatever its length: the
audio is resampled to the frontend's rate, the frontend's C code runs over it with its state carried
from block to block (`frontend_c`: one pass over the whole file, without importing TensorFlow), the
49-frame window slides by the inference stride, every window is scored, and the recognizer runs on the
posteriors. `stream_eval` builds hours of test audio with keywords at known times among other
words and noise, scores it the same way, and sweeps the threshold (true-positive rate vs false
accepts per hour, DET curve).

By default windows are scored on LiteRT's builtin int8 kernels in two processes, and every window
that could change a detection at the model's threshold is re-run on TFLM in the same run
(`scoring.CheckedScorer`): the detections of an all-TFLM run at ~10× its speed.
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from toolchain.artifacts import write_json_atomic
from toolchain.audio import check_sample_rate, resample, to_int16
from toolchain.convert.artifact import ConvertedModel, first_window_end, load_converted_model
from toolchain.corpus.background import coloured_noise, hum
from toolchain.errors import KwsError, bad_input
from toolchain.features import decode_clips
from toolchain.frontend_c import FrontendStream
from toolchain.simulate.clips import evaluation_records, read_any_corpus
from toolchain.simulate.recognizer import Recognizer, detect, smoothed_scores
from toolchain.simulate.runtimes import RUNTIMES, runner
from toolchain.simulate.scoring import CheckedScorer
from toolchain.simulate.twin import TWIN, TwinScorer

HIT_TOLERANCE_S = 0.75
CHUNK_SECONDS = 60  # the synthetic test stream is built, featurised and scored this much at a time
# A recording is read, featurised and scored this much at a time; 180 s blocks traced 223 MiB instead of < 120 MiB.
READ_BLOCK_SECONDS = 60
# The default runtime: a model with a streaming twin runs the twin on TFLM, hop by hop, as its device
# does; any other model LiteRT builtin int8 kernels, with TFLM wherever a detection can change.
CHECKED = "checked"
STREAM_RUNTIMES = (CHECKED, *RUNTIMES, TWIN)
KEYWORD_PROBABILITY = 0.3
SNR_DB_RANGE = (5.0, 25.0)
MAX_CLIP_POOL = 400


def load_at_stride(model_dir: Path, inference_stride_ms: int | None) -> ConvertedModel:
    """The converted model, with its recognizer retimed for a device that infers every `inference_stride_ms`
    (as `kws export-firmware` retimes it for a slow board); None keeps the model's own settings."""
    model = load_converted_model(model_dir)
    if inference_stride_ms is None:
        return model
    return dataclasses.replace(model, streaming=model.streaming.at_stride(inference_stride_ms, model.frontend))


def window_end_ms(model: ConvertedModel, last_frame: np.ndarray) -> np.ndarray:
    """Time (ms from the start) of the last audio sample the window ending at `last_frame` uses."""
    p = model.frontend
    return (np.asarray(last_frame, np.int64) * p.step_samples + p.window_samples) * 1000 // p.sample_rate


def audio_blocks(path: Path, rate: int, block_seconds: float = READ_BLOCK_SECONDS) -> Iterator[np.ndarray]:
    """int16 mono blocks at `rate`: concatenated, sample for sample what `load_audio` + `to_int16`
    give for the whole file. Each block is resampled with enough audio on both sides for the
    polyphase filter (`resample_poly`) to see what it sees in one pass."""
    path = Path(path)
    if not path.is_file():
        raise bad_input(path, "is a folder; give one audio file" if path.is_dir() else "file not found")
    try:
        source = sf.SoundFile(str(path))
    except Exception as exc:  # soundfile raises several types for corrupt files
        raise bad_input(path, f"unreadable audio ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from exc
    with source:
        native = source.samplerate
        check_sample_rate(path, native)
        common = math.gcd(native, rate)
        up, down = rate // common, native // common
        # input samples the filter (10·max(up, down) taps each side at the upsampled rate) reaches, in whole `down`s
        context = 0 if up == down else -(-(10 * max(up, down) // up + 2) // down) * down
        block = max(down, int(block_seconds * native) // down * down)
        pending, offset, emitted, total = np.zeros(0, np.float32), 0, 0, 0
        at_end = False
        while not at_end:
            try:
                data = source.read(block, dtype="float32", always_2d=True)
            except Exception as exc:
                raise bad_input(path, f"unreadable audio ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from exc
            at_end = len(data) < block
            if not np.all(np.isfinite(data)):
                raise bad_input(path, "audio contains NaN or infinite samples")
            total += len(data)
            pending = np.concatenate([pending, data.mean(axis=1)])
            ready = total if at_end else (total - context) // down * down
            if ready <= emitted:
                continue
            start = max(0, emitted - context)
            out = resample(pending[start - offset:min(total, ready + context) - offset], native, rate)
            first = (emitted - start) * up // down
            count = (-(-ready * up // down) if at_end else ready * up // down) - emitted * up // down
            yield to_int16(out[first:first + count])
            emitted = ready
            drop = max(0, emitted - context) - offset
            pending, offset = pending[drop:], offset + drop
        if total == 0:
            raise bad_input(path, "empty audio (0 samples)")


# Reported because scripts read it: 0 by construction, the blocks sharing one frontend state (before, each
# block was featurised afresh from a 30 s lead-in and this counted the values differing at the seams).
SEAMLESS = {"frontend_seam_values_differing": 0}


class _Windows:
    """The model's windows (num_frames long, one every stride) over frames fed in order."""

    def __init__(self, model: ConvertedModel, first_end: int | None = None):
        self._length = model.frontend.num_frames
        self._stride = model.streaming.stride_frames(model.frontend)
        self._tail = np.zeros((0, model.frontend.num_channels), np.int8)
        self._tail_start = 0
        self._next_end = self._length - 1 if first_end is None else first_end

    def push(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(last frame index of each new window, the windows)."""
        joined = np.concatenate([self._tail, frames])
        last = self._tail_start + len(joined) - 1
        ends = np.arange(self._next_end, last + 1, self._stride)
        if len(ends):
            view = np.lib.stride_tricks.sliding_window_view(joined, (self._length, joined.shape[1]))[:, 0]
            windows = np.ascontiguousarray(view[ends - self._tail_start - (self._length - 1)])
            self._next_end = int(ends[-1]) + self._stride
        else:
            windows = np.zeros((0, self._length, joined.shape[1]), np.int8)
        keep = min(len(joined), self._length - 1)
        self._tail, self._tail_start = joined[len(joined) - keep:], last - keep + 1
        return ends, windows


class _RunnerScorer:
    """One of the clip simulator's runners (`float`, `tflm`, `litert`) on every window, as `CheckedScorer` is used."""

    def __init__(self, model: ConvertedModel, runtime: str):
        self._runner, self._runtime = runner(model, runtime), runtime
        self._labels = len(model.labels)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def push(self, windows: np.ndarray) -> np.ndarray:
        return self._runner.predict(windows)

    def flush(self) -> np.ndarray:
        return np.zeros((0, self._labels), np.float32)

    def summary(self) -> dict:
        return {"runtime": {"tflm": "tflm_int8", "litert": "litert_int8_reference", "float": "keras_float"}[self._runtime]}


def _scorer(model: ConvertedModel, runtime: str, workers: int | None, seed: int):
    if runtime == TWIN or (runtime == CHECKED and model.manifest.get("stream")):
        return TwinScorer(model)
    if runtime == CHECKED:
        return CheckedScorer(model, model.threshold, workers, seed)
    if runtime not in RUNTIMES:
        raise KwsError(f"--runtime {runtime}: choose one of {', '.join(STREAM_RUNTIMES)}")
    return _RunnerScorer(model, runtime)


def _posteriors(model: ConvertedModel, blocks: Iterable[np.ndarray], frontend: FrontendStream, scorer) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(window end times in ms, final posteriors) of the stream, in order, a block at a time."""
    # a model with a streaming twin decides where its device's twin answers, whichever runtime simulates it
    first_end = first_window_end(model) if model.manifest.get("stream") else None
    windows, times = _Windows(model, first_end), np.zeros(0, np.int64)
    for block in blocks:
        ends, batch = windows.push(frontend.push(block))
        times = np.concatenate([times, window_end_ms(model, ends)])
        if len(batch):
            posteriors = scorer.push(batch)
            yield times[:len(posteriors)], posteriors
            times = times[len(posteriors):]
    posteriors = scorer.flush()
    yield times[:len(posteriors)], posteriors


def _progress(seconds: float, enabled: bool, what: str) -> tqdm:
    return tqdm(total=round(seconds, 1), unit="s", desc=what, disable=not enabled, leave=False,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s audio [{elapsed}<{remaining}, {rate_fmt}]")


def stream_report(model_dir: Path, audio_path: Path, runtime: str = CHECKED, inference_stride_ms: int | None = None,
                  progress: bool = False, workers: int | None = None) -> dict:
    """Detections in a recording of any length, and how they were computed.

    Args:
        model_dir: a `kws convert` output.
        audio_path: any soundfile-readable recording at 16 kHz or more (resampled to 16 kHz).
        runtime: "checked" (LiteRT builtin int8 kernels, TFLM for every window that can change a
            detection: an all-TFLM run's detections), "tflm", "litert" (reference kernels) or "float".
        inference_stride_ms: run the model every N ms, as a slower board does (None: the model's own).
        progress: a progress bar on stderr.
        workers: scoring processes for "checked" (default: the cores, at most 2).

    Returns:
        {"detections": [{"time_s", "label", "score"}...], "seconds", "windows", "runtime", ...}; `time_s`
        is the end of the window that fired, with the manifest's threshold and streaming settings.

    Example:
        stream_report(Path("runs/hello/converted"), Path("kitchen.wav"))["detections"]
    """
    started = time.time()
    model = load_at_stride(model_dir, inference_stride_ms)
    audio_path = Path(audio_path)
    try:
        seconds = sf.info(str(audio_path)).duration
    except Exception:
        seconds = 0.0  # audio_blocks names the problem
    recognizer = Recognizer(model.labels, model.threshold, model.streaming)
    detections, windows = [], 0
    blocks = audio_blocks(audio_path, model.frontend.sample_rate, READ_BLOCK_SECONDS)
    # one C frontend state over every block: the frames of one pass over the whole recording
    with FrontendStream(model.frontend) as frontend, _scorer(model, runtime, workers, seed=0) as scorer, \
            _progress(seconds, progress, audio_path.name) as bar:
        for times, posteriors in _posteriors(model, blocks, frontend, scorer):
            for now_ms, row in zip(times, posteriors):
                result = recognizer.process(row, int(now_ms))
                if result.is_new:
                    detections.append({"time_s": round(int(now_ms) / 1000, 3), "label": model.labels[result.label],
                                       "score": round(result.score, 4)})
            windows += len(times)
            bar.update(min(bar.total - bar.n, round(len(times) * model.streaming.inference_stride_ms / 1000, 1)))
    wall = time.time() - started
    return {"detections": detections, "seconds": round(seconds, 3), "windows": windows, **scorer.summary(),
            **SEAMLESS, "streaming": model.streaming.to_dict(), "wall_time_s": round(wall, 2),
            "times_real_time": round(seconds / wall, 1) if wall > 0 else None}


def stream(model_dir: Path, audio_path: Path, runtime: str = CHECKED, inference_stride_ms: int | None = None) -> list[dict]:
    """Detections {"time_s", "label", "score"} in a recording; see `stream_report`."""
    return stream_report(model_dir, audio_path, runtime, inference_stride_ms)["detections"]


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


def _chunk_samples(model: ConvertedModel) -> int:
    p = model.frontend
    return CHUNK_SECONDS * p.sample_rate // p.step_samples * p.step_samples


def _chunk_count(hours: float) -> int:
    return max(1, math.ceil(hours * 3600 / CHUNK_SECONDS))


def _synthetic_blocks(model: ConvertedModel, corpus: Path, hours: float, seed: int,
                      events: list[tuple[float, str]]) -> Iterator[np.ndarray]:
    """The test stream, one CHUNK_SECONDS block at a time; keyword occurrences are appended to `events`."""
    rng = np.random.default_rng(seed)
    keyword_records, other_records = evaluation_records(model, read_any_corpus(corpus).clips)
    if not keyword_records:
        raise KwsError(f"{corpus}: no test clips of the model's keywords")
    if not other_records:
        raise KwsError(f"{corpus}: no non-keyword words to build the background from")
    kept, keyword_pool = _clip_pool(keyword_records, rng, "keyword")
    _, word_pool = _clip_pool(other_records, rng, "non-keyword")
    rate, chunk_samples = model.frontend.sample_rate, _chunk_samples(model)
    for k in range(_chunk_count(hours)):
        audio, found = _chunk(rng, chunk_samples, rate, keyword_pool, [r.label for r in kept], word_pool)
        events += [(k * chunk_samples / rate + t, label) for t, label in found]
        yield audio


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


def _fewest_false_accepts(sweep: list[dict], tpr: float) -> dict | None:
    """The sweep's operating point for a target detection rate: of the thresholds reaching `tpr`, the
    one with the fewest false accepts (the highest on a tie); None when no threshold reaches it."""
    reaching = [row for row in sweep if row["tpr"] >= tpr]
    return min(reaching, key=lambda row: (row["fa_per_hour"], -row["threshold"])) if reaching else None


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
                inference_stride_ms: int | None = None, runtime: str = CHECKED, progress: bool = False,
                workers: int | None = None) -> dict:
    """False accepts per hour against detection rate over ≥ `hours` of synthetic test stream.

    Keyword clips (test split, not the shots' speakers) are laid at known times among other corpus
    words over coloured noise or hum at 5–25 dB SNR. A detection of the right keyword within
    ±0.75 s of an occurrence's end is a hit (one per occurrence); every other detection is a false
    accept. Writes `stream_eval.json` and `det_curve.png` in `out_dir`.
    """
    if not (isinstance(hours, (int, float)) and math.isfinite(hours) and hours > 0):
        raise KwsError(f"--hours {hours}: must be a positive number of hours")
    started = time.time()
    model = load_at_stride(model_dir, inference_stride_ms)
    events: list[tuple[float, str]] = []
    times, posteriors = [], []
    blocks = _synthetic_blocks(model, Path(corpus), hours, seed, events)
    with FrontendStream(model.frontend) as frontend, _scorer(model, runtime, workers, seed) as scorer, \
            _progress(_chunk_count(hours) * CHUNK_SECONDS, progress, "stream-eval") as bar:
        for block_times, block_posteriors in _posteriors(model, blocks, frontend, scorer):
            times.append(block_times)
            posteriors.append(block_posteriors)
            bar.update(min(bar.total - bar.n, round(len(block_times) * model.streaming.inference_stride_ms / 1000, 1)))
    times, posteriors = np.concatenate(times), np.concatenate(posteriors)
    duration_h = _chunk_count(hours) * _chunk_samples(model) / model.frontend.sample_rate / 3600
    best, score, counts = smoothed_scores(posteriors, model.labels, model.streaming)
    thresholds = sorted({round(float(t), 2) for t in np.arange(0.05, 1.0, 0.01)} | {round(model.threshold, 4)})
    sweep = []
    for threshold in thresholds:
        found = detect(best, score, counts, times, threshold, model.streaming)
        sweep.append({"threshold": threshold, **_score_threshold(found, events, duration_h, model.labels)})
    at_threshold = next(row for row in sweep if row["threshold"] == round(model.threshold, 4))
    at_90, at_95 = _fewest_false_accepts(sweep, 0.9), _fewest_false_accepts(sweep, 0.95)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    det_png = out_dir / "det_curve.png"
    _plot_det(sweep, at_threshold, det_png)
    keyword_names = sorted({label for _, label in events})
    result = {
        "model_dir": str(model_dir), "corpus": str(corpus), "seed": seed, **scorer.summary(),
        **SEAMLESS,
        # "checked" re-runs on TFLM what can change a detection at the model's threshold: figures there equal an
        # all-TFLM run; elsewhere a window may differ from TFLM's within `scoring.output_interval`
        "tflm_exact_at_threshold": model.threshold if runtime == CHECKED else "all",
        "hours": round(duration_h, 6), "windows": int(len(times)),
        "keyword_occurrences": len(events),
        "occurrences_per_keyword": {k: sum(1 for _, label in events if label == k) for k in keyword_names},
        "hit_tolerance_s": HIT_TOLERANCE_S, "streaming": model.streaming.to_dict(),
        "threshold": model.threshold, "at_threshold": at_threshold,
        "fa_per_hour_at_90_tpr": at_90["fa_per_hour"] if at_90 else None,
        "threshold_at_90_tpr": at_90["threshold"] if at_90 else None,
        "fa_per_hour_at_95_tpr": at_95["fa_per_hour"] if at_95 else None,
        "threshold_at_95_tpr": at_95["threshold"] if at_95 else None,
        "sweep": sweep, "det_png": str(det_png),
        "wall_time_s": round(time.time() - started, 1),
    }
    write_json_atomic(out_dir / "stream_eval.json", result)
    return result
