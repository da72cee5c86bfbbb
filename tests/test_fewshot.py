"""Enrolment, continuous training, bad shots, the few-shot experiment and the embedding view."""
import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from toolchain.cli import main
from toolchain.errors import KwsError
from toolchain.fewshot.enroll import enroll, load_keyword_model
import toolchain.fewshot.head as head_module
from toolchain.fewshot.head import PROTOTYPE_OFFSET, PROTOTYPE_WEIGHT, HeadData, head_settings, train_head
from toolchain.fewshot.evaluate import EvalConfig, binary_metrics, evaluate_fewshot
from tests.conftest import tone_word


def test_enrolled_model_is_one_deployable_artifact(keyword_model, tiny_embedding):
    model, manifest = load_keyword_model(keyword_model)
    assert manifest["labels"] == ["_silence_", "_unknown_", "gelb"]
    assert manifest["threshold"] == 0.8
    assert manifest["embedding_hash"] == json.loads((tiny_embedding / "manifest.json").read_text())["embedding_hash"]
    assert len(manifest["keywords"]["gelb"]["shot_files"]) == 5
    assert model.input_shape == (None, 49, 40) and model.output_shape == (None, 3)
    # how the head was made moves every few-shot figure: the artifact says it
    assert {k: manifest["training"][k] for k in head_settings()} == head_settings()
    assert [type(layer).__name__ for layer in model.get_layer("keyword_head").layers] == ["UnitLength", "Dense"]


def test_head_reads_the_direction_and_folds_the_shot_prototype_in(monkeypatch):
    rng = np.random.default_rng(0)
    class_names = ["_silence_", "_unknown_", "a", "b"]
    labels = np.repeat(np.arange(4), 40).astype(np.int32)
    centres = np.abs(rng.normal(size=(4, 16))) * 3
    data = HeadData((centres[labels] + np.abs(rng.normal(size=(160, 16)))).astype(np.float32), labels, class_names)
    folded = train_head(data, seed=0, epochs=3)
    vectors = data.embeddings[::7]
    # the length of an embedding never changes a score: only its direction does
    np.testing.assert_allclose(folded.predict(vectors, verbose=0), folded.predict(3.5 * vectors, verbose=0), atol=1e-5)
    monkeypatch.setattr(head_module, "PROTOTYPE_WEIGHT", 0.0)
    plain = train_head(data, seed=0, epochs=3)
    (k1, b1), (k0, b0) = folded.get_layer("keyword_head").get_weights(), plain.get_layer("keyword_head").get_weights()
    # silence and unknown keep the fitted weights; each keyword gains weight × (cosine to its shots' mean − offset)
    np.testing.assert_allclose(k1[:, :2], k0[:, :2], atol=1e-5)
    for label in (2, 3):
        prototype = data.embeddings[labels == label].mean(0)
        np.testing.assert_allclose(k1[:, label] - k0[:, label], PROTOTYPE_WEIGHT * prototype / np.linalg.norm(prototype), atol=1e-4)
        assert b1[label] - b0[label] == pytest.approx(-PROTOTYPE_WEIGHT * PROTOTYPE_OFFSET, abs=1e-4)


def test_add_keyword_keeps_the_old_one_and_writes_a_new_version(keyword_model, synth_corpus, tmp_path):
    new_shots = tmp_path / "lundi"
    new_shots.mkdir()
    for i, path in enumerate(sorted((synth_corpus / "fr" / "clips" / "w002").glob("*.opus"))[:3]):
        shutil.copy(path, new_shots / f"{i}.opus")
    result = CliRunner().invoke(main, ["enroll", "--add-to", str(keyword_model), "--keyword", "pomme", "--shots", str(new_shots)])
    assert result.exit_code == 0, result.output
    v2 = keyword_model.parent / "kw-v2"
    _, manifest = load_keyword_model(v2)
    assert manifest["labels"] == ["_silence_", "_unknown_", "gelb", "pomme"]
    assert manifest["version"] == 2 and manifest["changes"] == {"added": ["pomme"], "kept": ["gelb"]}
    assert (keyword_model / "model.keras").is_file()  # the old version is untouched
    old = json.loads((keyword_model / "manifest.json").read_text())["keywords"]["gelb"]["shot_sha256"]
    assert manifest["keywords"]["gelb"]["shot_sha256"] == old


def test_clashing_name_is_refused_before_anything_is_written(keyword_model, shots_dir, tmp_path):
    out = tmp_path / "clash"
    with pytest.raises(KwsError, match="clashes with an existing label"):
        enroll([("GELB", shots_dir)], out, add_to=keyword_model)
    with pytest.raises(KwsError, match="clashes"):
        enroll([("_silence_", shots_dir)], out)
    assert not out.exists()


@pytest.mark.parametrize("case,message", [
    ("none", "no shots"),
    ("silent", "silent audio"),
    ("clipped", "clipped recording"),
    ("8k", "sample rate 8000 Hz is below 16000 Hz"),
    ("10ms", "0 ms of speech"),
    ("one_sample", "0 ms of speech"),
    ("noise", "ms of speech (6 dB above the recording's noise floor), a word needs at least 150 ms"),
    ("hidden_only", "no shots: no audio files"),
])
def test_bad_shots_fail_with_one_line_and_write_nothing(tiny_embedding, tmp_path, case, message):
    shots = tmp_path / "shots"
    shots.mkdir()
    rng = np.random.default_rng(0)
    if case == "silent":
        sf.write(shots / "a.wav", np.zeros(16000, np.float32), 16000)
    elif case == "clipped":
        sf.write(shots / "a.wav", np.clip(tone_word(rng, 0.8, 16000, 200.0) * 20, -1, 1), 16000)
    elif case == "8k":
        sf.write(shots / "a.wav", tone_word(rng, 0.8, 8000, 200.0), 8000)
    elif case in ("10ms", "one_sample"):
        word = tone_word(rng, 0.8, 16000, 200.0)
        peak = int(np.argmax(np.abs(word)))
        sf.write(shots / "a.wav", word[peak:peak + (160 if case == "10ms" else 1)], 16000)
    elif case == "noise":
        sf.write(shots / "a.wav", rng.normal(0, 0.05, 16000).astype(np.float32), 16000)
    elif case == "hidden_only":
        sf.write(shots / "._a.wav", tone_word(rng, 0.8, 16000, 200.0), 16000)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["enroll", "--keyword", "hola", "--shots", str(shots), "--out", str(out), "--embedding", str(tiny_embedding)])
    assert result.exit_code == 2 and message in result.output and len(result.output.strip().splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob(".out.staging*"))


def test_frontend_mismatch_between_model_and_embedding_is_refused(keyword_model, shots_dir, tmp_path):
    copy = tmp_path / "kw"
    shutil.copytree(keyword_model, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["frontend"]["num_channels"] = 32
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(KwsError, match="frontend mismatch"):
        enroll([("neu", shots_dir)], tmp_path / "out", add_to=copy)


def test_binary_metrics():
    scores = np.array([0.9, 0.85, 0.2, 0.95, 0.1])
    truth = np.array([True, True, True, False, False])
    m = binary_metrics(scores, truth, 0.8)
    assert (m["tp"], m["fn"], m["fp"], m["tn"]) == (2, 1, 1, 1)
    assert m["frr"] == pytest.approx(1 / 3) and m["far"] == pytest.approx(0.5) and m["f1"] == pytest.approx(2 / 3)


def test_eval_fewshot_separates_shot_and_test_voices(tiny_embedding, synth_corpus, tmp_path):
    report = evaluate_fewshot(__import__("toolchain.embedding.artifact", fromlist=["x"]).load_embedding(tiny_embedding),
                              synth_corpus, tmp_path / "rep", EvalConfig(targets_per_group=1, shots=3, negatives_per_target=10,
                                                                        silence_per_target=4), progress=False)
    assert set(report) >= {"in_embedding", "out_of_embedding", "baselines", "per_word"}
    assert set(report["baselines"]) == {"from_scratch", "dtw"}
    row = report["per_word"][0]
    assert row["group"] == "in_embedding" and row["word"] in {"yellow", "gelb", "jaune"}
    assert 0.0 <= report["in_embedding"]["f1"] <= 1.0
    assert (tmp_path / "rep" / "report.md").read_text().startswith("# Few-shot")


@pytest.mark.slow
def test_eval_fewshot_head_figures_do_not_depend_on_the_baselines(tiny_embedding, synth_corpus, tmp_path):
    """benchmarks/voices.py runs eval-fewshot without baselines: it must be benchmarks/fewshot.py's measurement."""
    from toolchain.embedding.artifact import load_embedding

    embedding = load_embedding(tiny_embedding)
    config = EvalConfig(targets_per_group=2, shots=3, negatives_per_target=10, silence_per_target=4)
    runs = [evaluate_fewshot(embedding, synth_corpus, tmp_path / str(b), replace(config, baselines=b), progress=False)
            for b in (True, False)]
    heads = [[(r["word"], r["tp"], r["fn"], r["fp"], r["tn"]) for r in run["per_word"]] for run in runs]
    assert len(heads[0]) == 2 and heads[0] == heads[1]


def test_tsne_view(tiny_embedding, synth_corpus, tmp_path):
    result = CliRunner().invoke(main, ["tsne", "--embedding", str(tiny_embedding), "--corpus", str(synth_corpus), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "tsne.json").read_text())
    assert len(data["words"]) == 3 and -1 <= data["silhouette_cosine"] <= 1
    assert (tmp_path / "tsne.png").stat().st_size > 10_000


def test_hidden_files_beside_the_shots_are_ignored(shots_dir, tmp_path):
    from toolchain.fewshot.shots import load_shots

    shots = tmp_path / "shots"
    shutil.copytree(shots_dir, shots)
    (shots / "._0.opus").write_bytes(b"\x00\x05\x16\x07" + b"\x00" * 80)  # what macOS leaves on a USB stick
    clips, files = load_shots(shots)
    assert [f.name for f in files] == sorted(p.name for p in shots_dir.iterdir()) and len(clips) == len(files)


def test_the_unknown_class_never_holds_the_keyword_whatever_its_name_form(tiny_embedding):
    """Benchmarks name a target `language/word`; its bank clips must still leave the unknown class."""
    from toolchain.embedding.artifact import load_embedding
    from toolchain.fewshot.head import EmbeddingCache

    cache = EmbeddingCache(load_embedding(tiny_embedding), silence_count=4)
    word = str(cache.bank_words[0])
    clips_of_word = int(np.sum([w.lower() == word.lower() for w in cache.bank_words]))
    assert clips_of_word > 0
    for name in (word, word.upper(), f"xx/{word}"):
        assert len(cache.unknown_for([name])) == len(cache.bank) - clips_of_word, name
