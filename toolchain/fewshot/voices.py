"""Five-shot enrolment on voices of a family the embedding never heard, next to a real-speech peer.

A test voice of the training synthesizer is not an unseen voice. Here shots and test clips come
from another voice family's corpus (leave one family out: an embedding trained on espeak-ng is
tested on Kokoro voices, and the reverse). Per target word — a word outside the embedding's
vocabulary — 5 shots from training voices, positives from test voices only, negatives from other
target words and silence. Two scorers of ours (the softmax head the device runs, and a prototype:
cosine to the shots' mean embedding, its threshold calibrated on the unknown bank) and the peer,
EfficientWord-Net (max cosine to its own embeddings of the same shots, as its HotwordDetector does),
see the same clips. Reported per language group: equal error rate, FAR at 95 % TPR, and F1 / TPR /
FAR at each scorer's operating threshold.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from toolchain.corpus.background import silence_clips
from toolchain.corpus.mswc import read_mswc
from toolchain.embedding.artifact import Embedding, embed
from toolchain.errors import KwsError
from toolchain.features import batch_features, decode_clips
from toolchain.fewshot.evaluate import EvalConfig, binary_metrics, choose_targets, target_split
from toolchain.fewshot.head import EmbeddingCache, head_data_from_features, keyword_training_features, train_head

HEAD_THRESHOLD = 0.8
PEER_THRESHOLD = 0.9  # EfficientWord-Net's HotwordDetector default
PROTOTYPE_BANK_FAR = 0.005  # the prototype's threshold lets 0.5 % of the unknown bank through
SCORERS = ("head", "prototype", "peer")


@dataclass(frozen=True)
class VoicesConfig:
    targets_per_group: int = 12
    shots: int = 5
    negatives_per_target: int = 120
    silence_per_target: int = 20
    seed: int = 0
    peer: bool = True


def equal_error_rate(scores: np.ndarray, is_target: np.ndarray) -> float:
    """The rate where misses equal false accepts, sweeping the threshold over every score."""
    thresholds = np.unique(scores)
    positives, negatives = scores[is_target], scores[~is_target]
    miss = np.array([np.mean(positives < t) for t in thresholds])
    false_accept = np.array([np.mean(negatives >= t) for t in thresholds])
    k = int(np.argmin(np.abs(miss - false_accept)))
    return float((miss[k] + false_accept[k]) / 2)


def far_at_tpr(scores: np.ndarray, is_target: np.ndarray, tpr: float = 0.95) -> float:
    """False-accept rate at the highest threshold that still finds `tpr` of the positives."""
    positives = np.sort(scores[is_target])
    threshold = positives[int(np.floor((1 - tpr) * len(positives)))]
    return float(np.mean(scores[~is_target] >= threshold))


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def prototype_scores(shot_vectors: np.ndarray, test_vectors: np.ndarray) -> np.ndarray:
    return _unit(test_vectors) @ _unit(_unit(shot_vectors).mean(axis=0))


def _scorer_metrics(scores: np.ndarray, is_target: np.ndarray, threshold: float) -> dict:
    return {"eer": equal_error_rate(scores, is_target), "far_at_95_tpr": far_at_tpr(scores, is_target),
            "threshold": float(threshold), **binary_metrics(scores, is_target, threshold)}


def _summary(rows: list[dict], scorer: str) -> dict:
    picked = [r[scorer] for r in rows if scorer in r]
    if not picked:
        return {"words": 0}
    tp, fn, fp, tn = (sum(r[k] for r in picked) for k in ("tp", "fn", "fp", "tn"))
    return {"words": len(picked), "eer": round(float(np.mean([r["eer"] for r in picked])), 4),
            "far_at_95_tpr": round(float(np.mean([r["far_at_95_tpr"] for r in picked])), 4),
            "f1": round(float(np.mean([r["f1"] for r in picked])), 4),
            "tpr": round(tp / max(1, tp + fn), 4), "far": round(fp / max(1, fp + tn), 4)}


def evaluate_voices(embedding: Embedding, corpus: Path, config: VoicesConfig = VoicesConfig(), progress: bool = True) -> dict:
    """Leave-one-family-out few-shot figures of `embedding` on `corpus` (another voice family)."""
    started = time.time()
    frontend = embedding.frontend
    scan = read_mswc(corpus)
    families = sorted({c.speaker.split("-", 1)[0] for c in scan.clips if "-" in c.speaker})
    trained_on = embedding.manifest.get("corpus", {}).get("voice_families") or []
    targets = choose_targets(scan.clips, embedding, EvalConfig(targets_per_group=config.targets_per_group, seed=config.seed))
    if not any(targets.values()):
        raise KwsError(f"{corpus}: no words outside the embedding's vocabulary to evaluate on")
    pool = {w for group in targets.values() for w in group}
    kept, audio, _ = decode_clips([c for c in scan.clips if (c.language, c.label) in pool], progress=progress)
    audio = np.stack(audio)
    vectors = embed(embedding.trunk, batch_features(audio, frontend).astype(np.float32))
    keys = np.array([f"{r.language}/{r.label}" for r in kept])
    splits = np.array([r.split for r in kept])
    speakers = np.array([r.speaker for r in kept])
    cache = EmbeddingCache(embedding, config.seed)
    silence_audio = silence_clips(cache.tracks, config.silence_per_target, config.seed + 99, frontend.clip_samples)
    silence_vectors = embed(embedding.trunk, batch_features(silence_audio, frontend).astype(np.float32))
    peer = None
    if config.peer:
        from toolchain.embedding.teacher import load_teacher

        peer = load_teacher("efficientword-net", quantized=False)  # the peer as its users run it: the float model
        peer_vectors, peer_silence = peer.embed(audio, progress=progress), peer.embed(silence_audio)
    rng = np.random.default_rng(config.seed)
    rows = []
    jobs = [(group, lang, word) for group, items in targets.items() for lang, word in items]
    for group, lang, word in tqdm(jobs, desc="voices targets", unit="word", disable=not progress):
        key = f"{lang}/{word}"
        split = target_split(key, keys, splits, speakers, config.shots, config.negatives_per_target, rng)
        if split is None:
            continue
        shot_idx, pos_idx, neg_idx = split
        if len(pos_idx) == 0 or len(neg_idx) == 0:
            continue
        is_target = np.r_[np.ones(len(pos_idx), bool), np.zeros(len(neg_idx) + len(silence_vectors), bool)]
        test_vectors = np.concatenate([vectors[pos_idx], vectors[neg_idx], silence_vectors])
        data = head_data_from_features(cache, keyword_training_features({key: audio[shot_idx]}, config.seed, cache.tracks, frontend))
        head_scores = train_head(data, config.seed).predict(test_vectors, verbose=0)[:, data.class_names.index(key)]
        bank_scores = prototype_scores(vectors[shot_idx], cache.unknown_for([word]))
        prototype_threshold = float(np.quantile(bank_scores, 1 - PROTOTYPE_BANK_FAR))
        row = {"group": group, "language": lang, "word": word, "positives": int(len(pos_idx)),
               "negatives": int(len(is_target) - len(pos_idx)),
               "head": _scorer_metrics(head_scores, is_target, HEAD_THRESHOLD),
               "prototype": _scorer_metrics(prototype_scores(vectors[shot_idx], test_vectors), is_target, prototype_threshold)}
        if peer is not None:
            peer_tests = np.concatenate([peer_vectors[pos_idx], peer_vectors[neg_idx], peer_silence])
            peer_scores = (np.max(peer_tests @ peer_vectors[shot_idx].T, axis=1) + 1) / 2
            row["peer"] = _scorer_metrics(peer_scores, is_target, PEER_THRESHOLD)
        rows.append(row)
    groups = ("in_embedding", "out_of_embedding")
    return {
        "corpus": str(corpus), "corpus_voice_families": families, "embedding_voice_families": trained_on,
        "unseen_family": bool(families) and not set(families) & set(trained_on),
        "embedding_hash": embedding.hash,
        "summary": {scorer: {g: _summary([r for r in rows if r["group"] == g], scorer) for g in groups} for scorer in SCORERS},
        "thresholds": {"head": HEAD_THRESHOLD, "prototype": f"per keyword: unknown-bank FAR {PROTOTYPE_BANK_FAR}",
                       "peer": PEER_THRESHOLD},
        "peer": {"name": "EfficientWord-Net ResNet-50 ArcFace (float ONNX)", "model_sha256": peer.model_sha256} if peer else None,
        "per_word": rows, "config": asdict(config), "wall_time_s": round(time.time() - started, 1),
    }
