"""Leave-one-family-out few-shot evaluation: error rates, intervals, target and negative choice, corpora, and real runs."""
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from toolchain.corpus.records import ClipRecord
from toolchain.fewshot.voices import (VoicesConfig, choose_voice_targets, equal_error_rate, evaluate_voices, far_at_tpr,
                                      hard_negatives, prototype_scores, read_corpora, summarise_scorer)


def test_equal_error_rate_and_far_at_tpr_on_known_scores():
    is_target = np.r_[np.ones(10, bool), np.zeros(10, bool)]
    separated = np.r_[np.linspace(0.6, 1.0, 10), np.linspace(0.0, 0.4, 10)]
    assert equal_error_rate(separated, is_target) == 0.0 and far_at_tpr(separated, is_target) == 0.0
    overlapping = np.r_[0.5 + np.arange(10) / 10, np.arange(10) / 10]  # 0.5–0.9 holds both
    assert 0.2 <= equal_error_rate(overlapping, is_target) <= 0.3
    assert far_at_tpr(overlapping, is_target) == 0.5  # keeping 95 % of positives puts the threshold at 0.5
    shots = np.array([[1.0, 0.0], [0.9, 0.1]])
    scores = prototype_scores(shots, np.array([[2.0, 0.1], [0.0, 1.0]]))
    assert scores[0] > 0.99 and scores[1] < 0.2


def test_equal_error_rate_equals_the_threshold_sweep_it_defines():
    rng = np.random.default_rng(3)
    scores = np.round(np.r_[rng.normal(1, 1, 40), rng.normal(0, 1, 300)], 1)  # ties, as softmax scores have
    is_target = np.r_[np.ones(40, bool), np.zeros(300, bool)]
    sweep = [(np.mean(scores[is_target] < t), np.mean(scores[~is_target] >= t)) for t in np.unique(scores)]
    miss, false_accept = min(sweep, key=lambda m: abs(m[0] - m[1]))
    assert equal_error_rate(scores, is_target) == pytest.approx((miss + false_accept) / 2)
    with pytest.raises(ValueError, match="NaN"):
        equal_error_rate(np.r_[scores[:-1], np.nan], is_target)


def test_pooled_eer_needs_one_threshold_for_every_target_and_intervals_hold_the_estimate():
    is_target = np.r_[np.ones(4, bool), np.zeros(20, bool)]
    low = (np.r_[np.full(4, 0.3), np.full(20, 0.1)], is_target)  # separated, but around another threshold
    high = (np.r_[np.full(4, 0.9), np.full(20, 0.5)], is_target)
    scored = [low, high] * 5
    rows = [{"eer": equal_error_rate(*s), "far_at_95_tpr": far_at_tpr(*s), "f1": 1.0, "tp": 4, "fn": 0, "fp": 0, "tn": 20}
            for s in scored]
    summary = summarise_scorer(rows, scored, VoicesConfig(bootstrap=200))
    assert summary["eer_mean"] == 0.0 and summary["eer_pooled"] > 0.1  # each target alone is perfect; pooled is not
    assert summary["words"] == 10 and summary["positives"] == 40 and summary["negatives"] == 200
    low_ci, high_ci = summary["eer_pooled_ci95"]
    assert low_ci <= summary["eer_pooled"] <= high_ci and summary["eer_mean_ci95"] == [0.0, 0.0]
    assert summarise_scorer([], [], VoicesConfig()) == {"words": 0}


def test_hard_negatives_are_every_same_language_test_clip_of_other_words_and_a_sample_of_other_languages():
    keys = np.array(["en/a", "en/a", "en/b", "en/b", "en/c", "de/x", "de/y", "de/z", "en/b"])
    languages = np.array([k.split("/")[0] for k in keys])
    splits = np.array(["test", "train", "test", "test", "test", "test", "test", "test", "train"])
    chosen = hard_negatives("en/a", "en", keys, languages, splits, 2, np.random.default_rng(0))
    assert {2, 3, 4} <= set(chosen) and len(chosen) == 5  # en/b twice and en/c, never a training clip
    assert set(chosen) - {2, 3, 4} <= {5, 6, 7} and 0 not in chosen and 8 not in chosen


def _clip(language: str, word: str) -> ClipRecord:
    return ClipRecord(Path(f"{language}/{word}.opus"), word, language, "kokoro-k01", "test")


def test_targets_are_new_words_and_a_corpus_of_trained_words_says_so():
    embedding = SimpleNamespace(manifest={"languages": ["en"], "vocabulary": {"en": ["one", "two"]}})
    clips = [_clip("en", w) for w in ("one", "two")] + [_clip("pt", w) for w in ("sete", "vinte", "feliz")]
    targets = choose_voice_targets(clips, embedding, VoicesConfig(targets_per_group=2))
    assert targets["in_embedding"]["trained_words"] and sorted(targets["in_embedding"]["words"]) == [("en", "one"), ("en", "two")]
    assert not targets["out_of_embedding"]["trained_words"] and len(targets["out_of_embedding"]["words"]) == 2
    clips.append(_clip("en", "three"))
    targets = choose_voice_targets(clips, embedding, VoicesConfig(targets_per_group=None))
    assert targets["in_embedding"]["words"] == [("en", "three")] and not targets["in_embedding"]["trained_words"]
    assert len(targets["out_of_embedding"]["words"]) == 3 and targets["out_of_embedding"]["candidates"] == 3
    # another embedding's vocabulary (pico_voices.py compares several on one corpus) is avoided too
    targets = choose_voice_targets(clips, embedding, VoicesConfig(targets_per_group=None, avoid_words=("pt/sete",)))
    assert sorted(targets["out_of_embedding"]["words"]) == [("pt", "feliz"), ("pt", "vinte")]


def test_corpora_skip_a_language_still_being_written_and_take_a_language_from_the_first(synth_corpus, tmp_path):
    partial = tmp_path / "partial"
    (partial / "pt" / "clips").mkdir(parents=True)  # no pt_splits.csv yet: the synthesis has not finished
    clips, sources = read_corpora([synth_corpus, partial, synth_corpus])
    assert sources["incomplete_languages_skipped"] == {str(partial): ["pt"]}
    assert set(sources["languages"].values()) == {str(synth_corpus)} and sorted(sources["languages"]) == ["de", "en", "fr"]
    assert len(clips) == len({c.path for c in clips})  # the second listing of the corpus adds nothing


def test_voices_report_on_the_tiny_embedding(tiny_embedding, synth_corpus):
    from toolchain.embedding.artifact import load_embedding

    embedding = load_embedding(tiny_embedding)
    report = evaluate_voices(embedding, [synth_corpus], VoicesConfig(targets_per_group=3, shots=3, peer=False, bootstrap=50),
                             progress=False)
    assert report["corpus_voice_families"] == ["espeak"] and report["embedding_voice_families"] == ["espeak"]
    assert report["unseen_family"] is False  # same family: the benchmark must not call it unseen
    assert report["embedding"]["embedding_hash"] == embedding.hash and len(report["embedding"]["manifest_sha256"]) == 64
    summary = report["summary"]["head"]["in_embedding"]
    assert summary["words"] == 3 and 0.0 <= summary["eer_pooled"] <= 1.0 and 0.0 <= summary["far_at_95_tpr_pooled"] <= 1.0
    assert report["summary"]["peer"]["in_embedding"] == {"words": 0}
    for row in report["per_word"]:
        assert -1.0 - 1e-5 <= row["prototype"]["threshold"] <= 1.0 + 1e-5 and row["positives"] > 0  # a cosine
        assert row["negatives_same_language"] > 0  # the other words of the language, spoken by test voices


@pytest.mark.slow
def test_the_peer_scores_the_same_clips_as_ours(tiny_embedding, synth_corpus):
    pytest.importorskip("eff_word_net", reason="make distill-setup (pip install --no-deps efficientword-net)")
    from toolchain.embedding.artifact import load_embedding

    report = evaluate_voices(load_embedding(tiny_embedding), [synth_corpus],
                             VoicesConfig(targets_per_group=3, shots=3, bootstrap=50), progress=False)
    ours, peer = report["summary"]["head"]["in_embedding"], report["summary"]["peer"]["in_embedding"]
    assert (peer["words"], peer["positives"], peer["negatives"]) == (ours["words"], ours["positives"], ours["negatives"])
    assert report["thresholds"]["peer"] == 0.9 and len(report["peer"]["model_sha256"]) == 64
    assert report["peer"]["clips_without_embedding"] >= 0  # digital silence: scored 0, not NaN
