"""`kws simulate`: the same labelled clips through the float model, TFLM int8 and LiteRT int8.

The gate is the accuracy lost by quantization on the device's runtime: `accuracy_drop` is
(float accuracy − TFLM int8 accuracy) in percentage points, and the run fails when it exceeds
`max_drop`. Accuracies in the report are fractions (0..1). TFLM and LiteRT run the same int8
flatbuffer, so their agreement should be 1.0; less points at a kernel difference.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from toolchain.artifacts import write_json_atomic
from toolchain.convert.artifact import ConvertedModel, load_converted_model
from toolchain.corpus.background import background_tracks, silence_clips
from toolchain.corpus.records import SILENCE, UNKNOWN, ClipRecord
from toolchain.errors import KwsError
from toolchain.features import batch_features, decode_clips
from toolchain.outputs import claim_files
from toolchain.simulate.runtimes import KerasRunner, LiteRtRunner, TflmRunner
from toolchain.streaming import is_keyword

SILENCE_SHARE = 0.1
MAX_DISAGREEMENTS = 200

RUNNERS = {"float": KerasRunner, "tflm_int8": TflmRunner, "litert_int8": LiteRtRunner}  # report keys → runtimes


def read_any_corpus(corpus: Path):
    """MSWC, Speech Commands or a folder of labelled subfolders, recognised by layout."""
    from toolchain.corpus.any_corpus import read_corpus

    return read_corpus(Path(corpus), "auto")


def _shot_sources(model: ConvertedModel) -> set[Path]:
    sources = set()
    for info in model.manifest.get("keywords", {}).values():
        if isinstance(info, dict):
            sources |= {Path(p).resolve() for p in info.get("source", [])}
    return sources


def evaluation_records(model: ConvertedModel, clips: list[ClipRecord]) -> tuple[list[ClipRecord], list[ClipRecord]]:
    """(keyword clips, other-word clips) fit for testing: the test split if the corpus has one
    (else dev, else all), without the keyword shots' own files or their speakers."""
    for split in ("test", "dev"):
        chosen = [c for c in clips if c.split == split]
        if chosen:
            break
    else:
        chosen = list(clips)
    sources = _shot_sources(model)
    shot_speakers = {c.speaker for c in clips if c.path.resolve() in sources and c.speaker not in ("", "user")}
    chosen = [c for c in chosen if c.path.resolve() not in sources and c.speaker not in shot_speakers]
    keywords = {label for label in model.labels if is_keyword(label)}
    return [c for c in chosen if c.label in keywords], [c for c in chosen if c.label not in keywords]


def _select(model: ConvertedModel, clips: list[ClipRecord], max_per_label: int, seed: int) -> list[ClipRecord]:
    """Every keyword's clips and the other words' clips (as `_unknown_`), at most `max_per_label` each."""
    rng = np.random.default_rng(seed)
    keyword_clips, others = evaluation_records(model, clips)
    if not keyword_clips:
        keywords = [label for label in model.labels if is_keyword(label)]
        raise KwsError(f"simulate: the corpus has no clips of the model's keywords {keywords} "
                       "(labels must equal the keyword names)")
    chosen = []
    by_label: dict[str, list[ClipRecord]] = {}
    for clip in keyword_clips:
        by_label.setdefault(clip.label, []).append(clip)
    for group in by_label.values():
        chosen += [group[i] for i in sorted(rng.permutation(len(group))[:max_per_label])]
    unknown_count = min(len(others), max_per_label)
    chosen += [others[i] for i in sorted(rng.permutation(len(others))[:unknown_count])]
    return chosen


def _silence(corpus: Path, count: int, seed: int, samples: int) -> np.ndarray:
    return silence_clips(background_tracks(corpus, seed), count, seed, samples)


def _confusion(truth: np.ndarray, predicted: np.ndarray, n: int) -> np.ndarray:
    matrix = np.zeros((n, n), np.int64)
    np.add.at(matrix, (truth, predicted), 1)
    return matrix


def _runtime_metrics(truth: np.ndarray, probs: np.ndarray, labels: list[str]) -> dict:
    predicted = probs.argmax(1)
    matrix = _confusion(truth, predicted, len(labels))
    recall = {label: (round(float(matrix[i, i] / matrix[i].sum()), 4) if matrix[i].sum() else None)
              for i, label in enumerate(labels)}
    return {"accuracy": round(float(np.mean(predicted == truth)), 4), "per_class_recall": recall,
            "confusion": matrix.tolist()}


def _plot_confusion(matrix: np.ndarray, labels: list[str], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = 2.5 + 0.5 * len(labels)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, str(value), ha="center", va="center", color="white" if value > matrix.max() / 2 else "black")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)


def summary_table(report: dict) -> str:
    """The report as a few aligned lines for a terminal."""
    labels = list(report["float"]["per_class_recall"])
    width = max(12, *(len(label) + 2 for label in labels))
    names = {"float": "float", "tflm_int8": "TFLM int8", "litert_int8": "LiteRT int8"}
    lines = [f"{'':<{width}}" + "".join(f"{title:>13}" for title in names.values()),
             f"{'accuracy':<{width}}" + "".join(f"{report[k]['accuracy']:>13.2%}" for k in names)]
    for label in labels:
        cells = [report[k]["per_class_recall"][label] for k in names]
        lines.append(f"{'  ' + label:<{width}}" + "".join(f"{'-':>13}" if c is None else f"{c:>13.2%}" for c in cells))
    lines += [
        f"clips: {report['n']}   float↔TFLM agreement {report['agreement_float_int8']:.2%}   "
        f"TFLM↔LiteRT agreement {report['agreement_tflm_litert']:.2%}",
        f"accuracy drop (float → TFLM int8): {report['accuracy_drop']:.2f} pp (limit {report['max_drop']:.2f} pp)   "
        f"TFLM throughput {report['tflm_clips_per_s']:.0f} clips/s",
        "PASSED" if report["passed"] else "FAILED: int8 accuracy drop above the limit",
    ]
    return "\n".join(lines)


def confusion_png(report: Path, runtime: str) -> Path:
    return report.with_name(f"{report.stem}_confusion_{runtime}.png")


def simulate(model_dir: Path, data: Path, report: Path, max_drop: float = 1.0, max_per_label: int = 300,
             seed: int = 0, progress: bool = False, force: bool = False) -> dict:
    """Score float, TFLM int8 and LiteRT int8 on `data`'s clips; write `report` (JSON) and one
    confusion-matrix PNG per runtime beside it. Corpus labels equal to a keyword map to that
    keyword, every other word to `_unknown_`; ~10 % noise clips form `_silence_`.

    Returns the report plus `table` (text for the terminal). `passed` is false when
    `accuracy_drop` (percentage points) > `max_drop`. An existing report or picture is replaced only
    with `force`; the report may not lie inside the model or the data.
    """
    if not (math.isfinite(max_drop) and max_drop >= 0):
        raise KwsError(f"--max-drop {max_drop}: give a number of percentage points ≥ 0")
    model = load_converted_model(model_dir)
    report = Path(report)
    pictures = [confusion_png(report, runtime) for runtime in RUNNERS]
    with claim_files([report, *pictures], inputs={"MODEL_DIR": model_dir, "--data": data}, force=force, option="--report"):
        return _simulate(model, model_dir, data, report, max_drop, max_per_label, seed, progress)


def _simulate(model: ConvertedModel, model_dir: Path, data: Path, report: Path, max_drop: float, max_per_label: int, seed: int,
              progress: bool) -> dict:
    labels = model.labels
    if SILENCE not in labels or UNKNOWN not in labels:
        raise KwsError(f"{model_dir}: labels {labels} lack {SILENCE} or {UNKNOWN}")
    scan = read_any_corpus(data)
    records, audio, skipped = decode_clips(_select(model, scan.clips, max_per_label, seed), progress=progress)
    if not records:
        raise KwsError(f"{data}: no readable test clips")
    silence_count = max(1, round(len(records) * SILENCE_SHARE / (1 - SILENCE_SHARE)))
    clips = np.concatenate([np.stack(audio), _silence(Path(data), silence_count, seed, model.frontend.clip_samples)])
    names = [str(r.path) for r in records] + [f"<noise {i}>" for i in range(silence_count)]
    truth_labels = [r.label if r.label in labels else UNKNOWN for r in records] + [SILENCE] * silence_count
    truth = np.array([labels.index(label) for label in truth_labels])
    features = batch_features(clips, model.frontend)

    probs, seconds = {}, {}
    for key, make in RUNNERS.items():
        run = make(model)
        started = time.perf_counter()
        probs[key] = run.predict(features)
        seconds[key] = time.perf_counter() - started
    predicted = {k: p.argmax(1) for k, p in probs.items()}

    result = {"model_dir": str(model_dir), "data": str(data), "n": int(len(truth)), "labels": labels,
              "counts": {label: int(np.sum(truth == i)) for i, label in enumerate(labels)}}
    for key in probs:
        result[key] = _runtime_metrics(truth, probs[key], labels)
    result["agreement_float_int8"] = round(float(np.mean(predicted["float"] == predicted["tflm_int8"])), 4)
    result["agreement_float_litert"] = round(float(np.mean(predicted["float"] == predicted["litert_int8"])), 4)
    result["agreement_tflm_litert"] = round(float(np.mean(predicted["tflm_int8"] == predicted["litert_int8"])), 4)
    result["accuracy_drop"] = round(100 * (result["float"]["accuracy"] - result["tflm_int8"]["accuracy"]), 2)
    result["accuracy_drop_litert"] = round(100 * (result["float"]["accuracy"] - result["litert_int8"]["accuracy"]), 2)
    pairs = {"float_vs_tflm": ("float", "tflm_int8"), "float_vs_litert": ("float", "litert_int8"),
             "tflm_vs_litert": ("tflm_int8", "litert_int8")}
    result["max_abs_output_diff"] = {k: round(float(np.max(np.abs(probs[a] - probs[b]))), 6) for k, (a, b) in pairs.items()}
    result["mean_abs_output_diff"] = {k: round(float(np.mean(np.abs(probs[a] - probs[b]))), 6) for k, (a, b) in pairs.items()}
    differs = np.flatnonzero((predicted["float"] != predicted["tflm_int8"]) | (predicted["tflm_int8"] != predicted["litert_int8"]))
    result["disagreements_total"] = int(len(differs))
    result["disagreements"] = [{"path": names[i], "label": labels[truth[i]], "float": labels[predicted["float"][i]],
                                "tflm": labels[predicted["tflm_int8"][i]], "litert": labels[predicted["litert_int8"][i]]}
                               for i in differs[:MAX_DISAGREEMENTS]]
    result["tflm_clips_per_s"] = round(len(truth) / max(seconds["tflm_int8"], 1e-9), 1)
    result["seconds"] = {k: round(v, 3) for k, v in seconds.items()}
    result["skipped"] = [{"path": p, "reason": why} for p, why in skipped]
    result["max_drop"] = float(max_drop)
    result["accuracy_drop_unit"] = "percentage points (float − TFLM int8); accuracies are fractions"
    result["passed"] = bool(result["accuracy_drop"] <= max_drop)

    report.parent.mkdir(parents=True, exist_ok=True)
    result["confusion_png"] = {}
    for key in probs:
        png = confusion_png(report, key)
        _plot_confusion(np.array(result[key]["confusion"]), labels, f"{key}: accuracy {result[key]['accuracy']:.1%}", png)
        result["confusion_png"][key] = str(png)
    write_json_atomic(report, result)
    return {**result, "table": summary_table(result)}
