"""Five-shot enrolment on voices of a family the embedding never heard, next to a real-speech peer.

A test voice of the training synthesizer is not an unseen voice. Here shots and test clips come
from another voice family's corpora (leave one family out: an embedding trained on espeak-ng is
tested on Kokoro voices, and the reverse). Per target word: 5 shots from training voices
(evaluate.target_split), positives from test voices that spoke no shot, and hard negatives: every
test clip of the other words of the target's language (the same and other test voices), a seeded
sample of test clips of other languages' words (unknown words) and silence. Two scorers of ours (the
softmax head the device runs, trained against the embedding's unknown bank, and a prototype: cosine
to the shots' mean embedding, its threshold calibrated on that bank) and the peer, EfficientWord-Net
(max cosine to its own embeddings of the same shots, as its HotwordDetector does), see the same clips.

Reported per language group (the embedding's languages / languages it never saw): equal error rate
two ways — the mean of per-target EERs (each target its own threshold) and the pooled EER (one
threshold over every target's scores, as a device has) — each with a bootstrap interval over
targets, since a group holds tens of targets and a 0.3 % vs 0.6 % difference can be noise; FAR at
95 % TPR; F1 / TPR / FAR at each scorer's operating threshold.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from toolchain.corpus.background import silence_clips
from toolchain.corpus.mswc import languages_in, read_mswc, splits_csv
from toolchain.corpus.records import ClipRecord, voice_families
from toolchain.embedding.artifact import Embedding, embed
from toolchain.errors import KwsError
from toolchain.features import batch_features, decode_clips
from toolchain.fewshot.evaluate import binary_metrics, spread_over_languages, target_split
from toolchain.fewshot.head import HEAD_L2, EmbeddingCache, head_data_from_features, keyword_training_features, train_head, unit_directions

PEER_THRESHOLD = 0.9  # EfficientWord-Net's HotwordDetector default
PROTOTYPE_BANK_FAR = 0.005  # the prototype's threshold lets 0.5 % of the unknown bank through
SCORERS = ("head", "prototype", "peer")
GROUPS = ("in_embedding", "out_of_embedding")


@dataclass(frozen=True)
class VoicesConfig:
    targets_per_group: int | None = 48  # a seeded sample spread over the languages; None: every word
    shots: int = 5
    other_language_negatives: int = 100  # unknown words: test clips of other languages' words, per target
    silence_per_target: int = 20
    threshold: float = 0.8  # the head's operating threshold (the enrolment default)
    head_l2: float = HEAD_L2  # the head's weight decay (benchmarks/head_decay.py compares others)
    bootstrap: int = 1000  # resamples of the targets behind each interval
    seed: int = 0
    peer: bool = True
    # "lang/word" never chosen as targets besides the embedding's own vocabulary: the union of the
    # vocabularies of several embeddings compared on one corpus, so that they all get the same targets
    avoid_words: tuple[str, ...] = ()


def equal_error_rate(scores: np.ndarray, is_target: np.ndarray) -> float:
    """The rate where misses equal false accepts, sweeping the threshold over every score."""
    if np.isnan(scores).any():
        raise ValueError("NaN scores: a scorer must say what an undefined score means")  # else NaN sorts above all
    thresholds = np.unique(scores)
    positives, negatives = np.sort(scores[is_target]), np.sort(scores[~is_target])
    miss = np.searchsorted(positives, thresholds, side="left") / len(positives)
    false_accept = 1 - np.searchsorted(negatives, thresholds, side="left") / len(negatives)
    k = int(np.argmin(np.abs(miss - false_accept)))
    return float((miss[k] + false_accept[k]) / 2)


def far_at_tpr(scores: np.ndarray, is_target: np.ndarray, tpr: float = 0.95) -> float:
    """False-accept rate at the highest threshold that still finds `tpr` of the positives."""
    positives = np.sort(scores[is_target])
    threshold = positives[int(np.floor((1 - tpr) * len(positives)))]
    return float(np.mean(scores[~is_target] >= threshold))


def prototype_scores(shot_vectors: np.ndarray, test_vectors: np.ndarray) -> np.ndarray:
    return unit_directions(test_vectors) @ unit_directions(unit_directions(shot_vectors).mean(axis=0))


def read_corpora(corpora: list[Path]) -> tuple[list[ClipRecord], dict]:
    """Clips of every complete language (its splits CSV written) of each corpus; a language found in
    several corpora is read from the first. Returns the clips and which languages came from where."""
    clips, sources, incomplete = [], {}, {}
    for corpus in corpora:
        complete = []
        for language in languages_in(corpus):
            try:
                splits_csv(corpus, language)
            except KwsError:
                incomplete.setdefault(str(corpus), []).append(language)  # still being synthesised
                continue
            if language not in sources:
                sources[language] = str(corpus)
                complete.append(language)
        if complete:
            clips += read_mswc(corpus, languages=complete, strict=True).clips
    if not clips:
        raise KwsError(f"{', '.join(map(str, corpora))}: no language with its splits CSV (corpus not finished?)")
    return clips, {"languages": sources, "incomplete_languages_skipped": incomplete}


def choose_voice_targets(clips: list[ClipRecord], embedding: Embedding, config: VoicesConfig) -> dict[str, dict]:
    """Per language group, the target words and whether they are words the embedding was trained on.

    New words (outside the vocabulary) when the group has any; a corpus holding only the vocabulary's
    words (a family's training corpus) gives trained words — said in the report, never mixed."""
    vocab = {(lang, w) for lang, words in embedding.manifest["vocabulary"].items() for w in words}
    vocab |= {tuple(key.split("/", 1)) for key in config.avoid_words}
    own = set(embedding.manifest["languages"])
    words = sorted({(c.language, c.label) for c in clips})
    rng = np.random.default_rng(config.seed)
    chosen = {}
    for group in GROUPS:
        in_group = [w for w in words if (w[0] in own) == (group == "in_embedding")]
        new = [w for w in in_group if w not in vocab]
        candidates = new or in_group
        count = len(candidates) if config.targets_per_group is None else config.targets_per_group
        chosen[group] = {"words": spread_over_languages(candidates, count, rng),
                         "trained_words": bool(candidates) and not new, "candidates": len(candidates)}
    return chosen


def hard_negatives(key: str, language: str, keys: np.ndarray, languages: np.ndarray, splits: np.ndarray,
                   other_language: int, rng: np.random.Generator) -> np.ndarray:
    """Every test clip of the other words of `language`, and a sample of other languages' test clips."""
    test = splits == "test"
    same = np.flatnonzero(test & (languages == language) & (keys != key))
    others = np.flatnonzero(test & (languages != language))
    return np.sort(np.r_[same, rng.choice(others, min(other_language, len(others)), replace=False)])


def _scorer_metrics(scores: np.ndarray, is_target: np.ndarray, threshold: float) -> dict:
    return {"eer": equal_error_rate(scores, is_target), "far_at_95_tpr": far_at_tpr(scores, is_target),
            "threshold": float(threshold), **binary_metrics(scores, is_target, threshold)}


def _interval(values: list[float]) -> list[float]:
    return [round(float(v), 4) for v in np.percentile(values, [2.5, 97.5])]


def summarise_scorer(rows: list[dict], scored: list[tuple[np.ndarray, np.ndarray]], config: VoicesConfig) -> dict:
    """Group figures of one scorer: `rows` its per-target metrics, `scored` its (scores, is_target) per target."""
    if not rows:
        return {"words": 0}
    n = len(rows)
    eers = np.array([r["eer"] for r in rows])
    pooled = (np.concatenate([s for s, _ in scored]), np.concatenate([t for _, t in scored]))
    rng = np.random.default_rng(config.seed + 7)
    picks = rng.integers(0, n, (config.bootstrap, n))
    pooled_resampled = [equal_error_rate(np.concatenate([scored[i][0] for i in pick]), np.concatenate([scored[i][1] for i in pick]))
                        for pick in picks]
    tp, fn, fp, tn = (sum(r[k] for r in rows) for k in ("tp", "fn", "fp", "tn"))
    return {"words": n, "positives": tp + fn, "negatives": fp + tn,
            "eer_mean": round(float(eers.mean()), 4), "eer_mean_ci95": _interval(eers[picks].mean(axis=1)),
            "eer_pooled": round(equal_error_rate(*pooled), 4), "eer_pooled_ci95": _interval(pooled_resampled),
            "far_at_95_tpr_mean": round(float(np.mean([r["far_at_95_tpr"] for r in rows])), 4),
            "far_at_95_tpr_pooled": round(far_at_tpr(*pooled), 4),
            "f1": round(float(np.mean([r["f1"] for r in rows])), 4),
            "tpr": round(tp / max(1, tp + fn), 4), "far": round(fp / max(1, fp + tn), 4)}


def embedding_record(embedding: Embedding) -> dict:
    """What an embedding is, for a report: hashes, architecture, training corpora and teacher."""
    manifest = embedding.manifest
    corpus = manifest.get("corpus", {})
    return {"path": str(embedding.path), "embedding_hash": embedding.hash,
            "manifest_sha256": hashlib.sha256((Path(embedding.path) / "manifest.json").read_bytes()).hexdigest(),
            "architecture": manifest["architecture"], "corpora": [corpus.get("path"), *(c["path"] for c in corpus.get("extra", []))],
            "voice_families": corpus.get("voice_families") or [], "teacher": manifest.get("teacher"),
            "room_augment": _room_augmented(manifest),
            "word_loss": manifest.get("training", {}).get("config", {}).get("word_loss", "softmax")}


def _room_augmented(manifest: dict) -> bool:
    """Whether training imitated real recordings (reverberation, colouring or VTLP; `--room-augment`)."""
    augment = manifest.get("training", {}).get("config", {}).get("augment", {})
    return any(augment.get(f"{kind}_probability", 0) > 0 for kind in ("reverb", "colour", "vtlp"))


def evaluate_voices(embedding: Embedding, corpora: list[Path], config: VoicesConfig = VoicesConfig(), progress: bool = True) -> dict:
    """Five-shot figures of `embedding` on the voices of `corpora` (one voice family; the report says
    whether the embedding ever heard it), the peer beside it on the same clips and shots."""
    started = time.time()
    frontend = embedding.frontend
    clips, sources = read_corpora([Path(c) for c in corpora])
    families = voice_families(clips)
    described = embedding_record(embedding)
    targets = choose_voice_targets(clips, embedding, config)
    if not any(t["words"] for t in targets.values()):
        raise KwsError(f"{', '.join(map(str, corpora))}: no words to enrol")
    keys = np.array([f"{c.language}/{c.label}" for c in clips])
    languages = np.array([c.language for c in clips])
    splits = np.array([c.split for c in clips])
    speakers = np.array([c.speaker for c in clips])
    rng = np.random.default_rng(config.seed)
    jobs, skipped = [], []
    for group in GROUPS:
        for lang, word in targets[group]["words"]:
            key = f"{lang}/{word}"
            split = target_split(key, keys, splits, speakers, config.shots, 0, rng)
            if split is None or len(split[1]) == 0:
                skipped.append(key)  # too few training clips, or no test voice left after the shots'
                continue
            jobs.append((group, lang, word, split[0], split[1], hard_negatives(key, lang, keys, languages, splits,
                                                                                 config.other_language_negatives, rng)))
    # only the clips some target uses are decoded and embedded: row at[i] holds clip i
    needed = np.unique(np.concatenate([np.r_[shot, pos, neg] for *_, shot, pos, neg in jobs]))
    at = np.full(len(clips), -1)
    at[needed] = np.arange(len(needed))
    _, decoded, _ = decode_clips([clips[i] for i in needed], strict=True, progress=progress)
    audio = np.stack(decoded)
    vectors = embed(embedding.trunk, batch_features(audio, frontend).astype(np.float32))
    cache = EmbeddingCache(embedding, config.seed)
    silence_audio = silence_clips(cache.tracks, config.silence_per_target, config.seed + 99, frontend.clip_samples)
    silence_vectors = embed(embedding.trunk, batch_features(silence_audio, frontend).astype(np.float32))
    peer = None
    if config.peer:
        from toolchain.embedding.teacher import load_teacher

        peer = load_teacher("efficientword-net", quantized=False)  # the peer as its users run it: the float model
        peer_vectors = peer.embed(audio, progress=progress)
        peer_silence = peer.embed(silence_audio)
        # digital silence has no log filterbank (log 0): its embedding is NaN, and its HotwordDetector
        # skips such frames, so they score 0 — never a detection
        peer_undefined = int(np.isnan(peer_vectors).any(axis=1).sum() + np.isnan(peer_silence).any(axis=1).sum())
        peer_vectors, peer_silence = np.nan_to_num(peer_vectors, nan=0.0), np.nan_to_num(peer_silence, nan=0.0)
    rows, scored = [], {scorer: {group: [] for group in GROUPS} for scorer in SCORERS}
    for group, lang, word, shot_clips, pos_clips, neg_clips in tqdm(jobs, desc="voices targets", unit="word", disable=not progress):
        key = f"{lang}/{word}"
        shot_idx, pos_idx, neg_idx = at[shot_clips], at[pos_clips], at[neg_clips]
        is_target = np.r_[np.ones(len(pos_idx), bool), np.zeros(len(neg_idx) + len(silence_vectors), bool)]
        test_vectors = np.concatenate([vectors[pos_idx], vectors[neg_idx], silence_vectors])
        data = head_data_from_features(cache, keyword_training_features({key: audio[shot_idx]}, config.seed, cache.tracks, frontend))
        bank_scores = prototype_scores(vectors[shot_idx], cache.unknown_for([word]))
        scores = {"head": (train_head(data, config.seed, l2=config.head_l2).predict(test_vectors, verbose=0)[:, data.class_names.index(key)], config.threshold),
                  "prototype": (prototype_scores(vectors[shot_idx], test_vectors), float(np.quantile(bank_scores, 1 - PROTOTYPE_BANK_FAR)))}
        if peer is not None:
            peer_tests = np.concatenate([peer_vectors[pos_idx], peer_vectors[neg_idx], peer_silence])
            peer_scores = (np.max(peer_tests @ peer_vectors[shot_idx].T, axis=1) + 1) / 2
            scores["peer"] = (np.where(np.any(peer_tests, axis=1), peer_scores, 0.0), PEER_THRESHOLD)
        row = {"group": group, "language": lang, "word": word, "positives": int(len(pos_idx)),
               "negatives": int(len(is_target) - len(pos_idx)),
               "negatives_same_language": int(np.sum(languages[neg_clips] == lang))}
        for scorer, (values, threshold) in scores.items():
            row[scorer] = _scorer_metrics(values, is_target, threshold)
            scored[scorer][group].append((values.astype(np.float32), is_target))
        rows.append(row)
    summary = {scorer: {group: summarise_scorer([r[scorer] for r in rows if r["group"] == group and scorer in r],
                                                scored[scorer][group], config) for group in GROUPS} for scorer in SCORERS}
    return {
        "corpora": [str(c) for c in corpora], "corpus_languages": sources, "corpus_voice_families": families,
        "embedding": described, "embedding_voice_families": described["voice_families"],
        "unseen_family": bool(families) and not set(families) & set(described["voice_families"]),
        "embedding_hash": embedding.hash,
        "targets": {group: {"words": len([r for r in rows if r["group"] == group]), "candidates": t["candidates"],
                            "trained_words": t["trained_words"]} for group, t in targets.items()},
        "targets_skipped": skipped,
        "summary": summary,
        "thresholds": {"head": config.threshold, "prototype": f"per keyword: unknown-bank FAR {PROTOTYPE_BANK_FAR}",
                       "peer": PEER_THRESHOLD},
        "peer": {"name": "EfficientWord-Net ResNet-50 ArcFace (float ONNX)", "model_sha256": peer.model_sha256,
                 "clips_without_embedding": peer_undefined} if peer else None,
        "per_word": rows, "config": asdict(config), "wall_time_s": round(time.time() - started, 1),
    }
