"""Leave-one-family-out few-shot evaluation: its error rates, and a run on a real (tiny) embedding."""
import numpy as np

from toolchain.fewshot.voices import VoicesConfig, equal_error_rate, evaluate_voices, far_at_tpr, prototype_scores


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


def test_voices_report_on_the_tiny_embedding(tiny_embedding, synth_corpus):
    from toolchain.embedding.artifact import load_embedding

    embedding = load_embedding(tiny_embedding)
    report = evaluate_voices(embedding, synth_corpus, VoicesConfig(targets_per_group=3, shots=3, peer=False), progress=False)
    assert report["corpus_voice_families"] == ["espeak"] and report["embedding_voice_families"] == ["espeak"]
    assert report["unseen_family"] is False  # same family: the benchmark must not call it unseen
    summary = report["summary"]["head"]["in_embedding"]
    assert summary["words"] == 3 and 0.0 <= summary["eer"] <= 1.0 and 0.0 <= summary["far_at_95_tpr"] <= 1.0
    assert report["summary"]["peer"]["in_embedding"] == {"words": 0}
    for row in report["per_word"]:
        assert -1.0 - 1e-5 <= row["prototype"]["threshold"] <= 1.0 + 1e-5 and row["positives"] > 0  # a cosine
