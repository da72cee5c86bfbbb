"""`kws eval-fewshot`: the few-shot experiment, done without test-on-train leakage.

Targets are words the embedding never learned, from its own languages and from languages it never
saw. Shots come from training voices, test clips from other voices only; negatives are other unseen
words and silence. The head, a from-scratch network and MFCC+DTW see exactly the same shots.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from toolchain.artifacts import write_bytes_atomic, write_json_atomic
from toolchain.corpus.background import silence_clips
from toolchain.corpus.mswc import read_mswc
from toolchain.corpus.records import ClipRecord
from toolchain.embedding.artifact import Embedding, embed
from toolchain.errors import KwsError
from toolchain.features import batch_features, decode_clips
from toolchain.fewshot.baselines import dtw_scores, from_scratch_scores
from toolchain.fewshot.head import EmbeddingCache, head_data_from_features, head_settings, keyword_training_features, train_head
from toolchain.frontend import require_feature_input


@dataclass(frozen=True)
class EvalConfig:
    targets_per_group: int = 12
    shots: int = 5
    threshold: float = 0.8
    negatives_per_target: int = 120
    silence_per_target: int = 20
    seed: int = 0
    baselines: bool = True


def binary_metrics(scores: np.ndarray, is_target: np.ndarray, threshold: float, lower_is_target: bool = False) -> dict:
    hits = scores <= threshold if lower_is_target else scores >= threshold
    tp = int(np.sum(hits & is_target)); fn = int(np.sum(~hits & is_target))
    fp = int(np.sum(hits & ~is_target)); tn = int(np.sum(~hits & ~is_target))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "fn": fn, "fp": fp, "tn": tn, "f1": f1, "accuracy": (tp + tn) / max(1, tp + tn + fp + fn),
            "frr": fn / max(1, tp + fn), "far": fp / max(1, fp + tn)}


def summarise(rows: list[dict]) -> dict:
    """Mean per-word F1 (as the reference reports it) and pooled FRR / FAR / accuracy."""
    if not rows:
        return {"f1": None, "far": None, "frr": None, "accuracy": None, "words": 0}
    tp, fn, fp, tn = (sum(r[k] for r in rows) for k in ("tp", "fn", "fp", "tn"))
    return {"f1": round(float(np.mean([r["f1"] for r in rows])), 4), "far": round(fp / max(1, fp + tn), 4),
            "frr": round(fn / max(1, tp + fn), 4), "accuracy": round((tp + tn) / max(1, tp + tn + fp + fn), 4), "words": len(rows)}


def choose_targets(clips: list[ClipRecord], embedding: Embedding, config: EvalConfig) -> dict[str, list[tuple[str, str]]]:
    vocab = {(lang, w) for lang, words in embedding.manifest["vocabulary"].items() for w in words}
    own = set(embedding.manifest["languages"])
    words = sorted({(c.language, c.label) for c in clips} - vocab)
    rng = np.random.default_rng(config.seed)
    groups = {"in_embedding": [w for w in words if w[0] in own], "out_of_embedding": [w for w in words if w[0] not in own]}
    return {group: spread_over_languages(candidates, config.targets_per_group, rng) for group, candidates in groups.items()}


def spread_over_languages(candidates: list[tuple[str, str]], count: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    """A seeded sample of `count` (language, word) pairs, taken in turn from each language."""
    by_language: dict[str, list] = {}
    for item in rng.permutation(len(candidates)):
        by_language.setdefault(candidates[item][0], []).append(candidates[item])
    picked, queues = [], [by_language[k] for k in sorted(by_language)]
    while len(picked) < count and any(queues):
        for queue in queues:
            if queue and len(picked) < count:
                picked.append(queue.pop(0))
    return picked


def target_split(key: str, keys: np.ndarray, splits: np.ndarray, speakers: np.ndarray, shots: int, negatives: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(shot, positive, negative) clip indices for one target word, or None with too few training clips:
    shots from training voices, positives from test clips of other voices, negatives from other words' test clips."""
    train_idx = np.flatnonzero((keys == key) & (splits == "train"))
    if len(train_idx) < shots:
        return None
    shot_idx = np.sort(rng.choice(train_idx, shots, replace=False))
    pos_idx = np.flatnonzero((keys == key) & (splits == "test") & ~np.isin(speakers, list(set(speakers[shot_idx]))))
    neg_pool = np.flatnonzero((keys != key) & (splits == "test"))
    return shot_idx, pos_idx, rng.choice(neg_pool, min(negatives, len(neg_pool)), replace=False)


def evaluate_fewshot(embedding: Embedding, corpus: Path, out: Path, config: EvalConfig = EvalConfig(), progress: bool = True) -> dict:
    started = time.time()
    frontend = embedding.frontend
    require_feature_input(embedding.trunk.input_shape, frontend, str(embedding.path))
    scan = read_mswc(corpus)
    targets = choose_targets(scan.clips, embedding, config)
    if not any(targets.values()):
        raise KwsError(f"{corpus}: no words outside the embedding's vocabulary to evaluate on")
    pool = {w for group in targets.values() for w in group}
    records = [c for c in scan.clips if (c.language, c.label) in pool]
    kept, audio, _ = decode_clips(records, progress=progress)
    audio = np.stack(audio)
    features = batch_features(audio, frontend).astype(np.float32)
    vectors = embed(embedding.trunk, features)
    keys = np.array([f"{r.language}/{r.label}" for r in kept])
    splits = np.array([r.split for r in kept])
    speakers = np.array([r.speaker for r in kept])
    cache = EmbeddingCache(embedding, config.seed)
    silence_audio = silence_clips(cache.tracks, config.silence_per_target, config.seed + 99, frontend.clip_samples)
    silence_features = batch_features(silence_audio, frontend).astype(np.float32)
    silence_vectors = embed(embedding.trunk, silence_features)
    rng = np.random.default_rng(config.seed)
    baseline_rng = np.random.default_rng(config.seed + 1)  # the baselines' draws never shift the head's shots
    rows = []
    jobs = [(group, lang, word) for group, items in targets.items() for lang, word in items]
    for group, lang, word in tqdm(jobs, desc="eval targets", unit="word", disable=not progress):
        key = f"{lang}/{word}"
        split = target_split(key, keys, splits, speakers, config.shots, config.negatives_per_target, rng)
        if split is None:
            continue
        shot_idx, pos_idx, neg_idx = split
        if len(pos_idx) == 0:
            continue
        is_target = np.r_[np.ones(len(pos_idx), bool), np.zeros(len(neg_idx) + len(silence_vectors), bool)]
        test_vectors = np.concatenate([vectors[pos_idx], vectors[neg_idx], silence_vectors])
        positives = keyword_training_features({key: audio[shot_idx]}, config.seed, cache.tracks, frontend)
        data = head_data_from_features(cache, positives)
        head = train_head(data, config.seed)
        scores = head.predict(test_vectors, verbose=0)[:, 2]
        row = {"group": group, "language": lang, "word": word, "shots": config.shots, "positives": int(len(pos_idx)),
               "negatives": int(len(is_target) - len(pos_idx)), **binary_metrics(scores, is_target, config.threshold)}
        if config.baselines:
            test_features = np.concatenate([features[pos_idx], features[neg_idx], silence_features])
            bank = cache.bank_features
            unknown = bank[baseline_rng.choice(len(bank), min(400, len(bank)), replace=False)]
            scratch = from_scratch_scores(embedding.manifest["architecture"], embedding.manifest["architecture_params"],
                                          positives[key], unknown, silence_features, test_features, config.seed)
            test_audio = np.concatenate([audio[pos_idx], audio[neg_idx], silence_audio])
            others = np.flatnonzero((keys != key) & (splits == "train"))
            unknown_audio_idx = baseline_rng.choice(others, min(20, len(others)), replace=False)
            distances, dtw_threshold = dtw_scores(audio[shot_idx], audio[unknown_audio_idx], test_audio)
            row["baselines"] = {"from_scratch": binary_metrics(scratch, is_target, config.threshold),
                                "dtw": {**binary_metrics(distances, is_target, dtw_threshold, lower_is_target=True),
                                        "threshold": dtw_threshold}}
        rows.append(row)
    report = {
        "in_embedding": summarise([r for r in rows if r["group"] == "in_embedding"]),
        "out_of_embedding": summarise([r for r in rows if r["group"] == "out_of_embedding"]),
        "baselines": {name: {g: summarise([r["baselines"][name] for r in rows if r["group"] == g])
                             for g in ("in_embedding", "out_of_embedding")} for name in ("from_scratch", "dtw")} if config.baselines else {},
        "per_word": rows,
        "config": {**config.__dict__, **head_settings()},
        "embedding_hash": embedding.hash,
        "corpus": str(corpus),
        "wall_time_s": round(time.time() - started, 1),
    }
    out = Path(out)
    write_json_atomic(out / "report.json", report)
    write_bytes_atomic(out / "report.md", markdown(report).encode())
    return report


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.3f}"


def markdown(report: dict) -> str:
    lines = ["# Few-shot keyword spotting", "",
             f"Embedding `{report['embedding_hash']}`, {report['config']['shots']} shots, threshold {report['config']['threshold']}. "
             "F1 is the mean over target words; FAR/FRR pooled.", "",
             "| method | group | words | F1 | accuracy | FRR | FAR |", "|---|---|---|---|---|---|---|"]
    methods = [("embedding + head", {g: report[g] for g in ("in_embedding", "out_of_embedding")})]
    methods += [(name, groups) for name, groups in report["baselines"].items()]
    for name, groups in methods:
        for group, s in groups.items():
            lines.append(f"| {name} | {group} | {s['words']} | {_fmt(s['f1'])} | {_fmt(s['accuracy'])} | {_fmt(s['frr'])} | {_fmt(s['far'])} |")
    lines += ["", "## Per word", "", "| group | lang | word | F1 | FRR | FAR | scratch F1 | DTW F1 |", "|---|---|---|---|---|---|---|---|"]
    for r in report["per_word"]:
        b = r.get("baselines", {})
        lines.append(f"| {r['group']} | {r['language']} | {r['word']} | {r['f1']:.3f} | {r['frr']:.3f} | {r['far']:.3f} | "
                     f"{_fmt(b.get('from_scratch', {}).get('f1'))} | {_fmt(b.get('dtw', {}).get('f1'))} |")
    return "\n".join(lines) + "\n"
