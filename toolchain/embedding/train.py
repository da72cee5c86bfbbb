"""`kws train-embedding`: train (or continue) the multilingual word classifier.

GPUs → MirroredStrategy with mixed precision; TF_CONFIG → MultiWorkerMirroredStrategy (trained by
`multi_worker.py`'s loop: Keras 3 fit cannot); a backup every epoch so `--resume` continues after a
kill; TensorBoard logs beside the backup.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from toolchain.artifacts import directory_kind, read_manifest, staged_directory, write_bytes_atomic, write_json_atomic
from toolchain.audio import AUDIO_SUFFIXES, CLIP_SAMPLES, SAMPLE_RATE, audio_files
from toolchain.augment import SETTLED_NOISE, AugmentParams
from toolchain.corpus.background import background_tracks
from toolchain.corpus.languages import EMBEDDING_LANGUAGES, word_list
from toolchain.corpus.mswc import languages_in, read_mswc
from toolchain.corpus.pico import EVALUATION_ONLY_FAMILY
from toolchain.corpus.real_speech import KIND as REAL_SPEECH_KIND
from toolchain.corpus.records import SILENCE, UNKNOWN, ClipRecord, voice_families
from toolchain.embedding.artifact import CLASSIFIER_FILE, KIND, UNKNOWN_BANK_FILE, load_embedding, trunk_of, weights_hash
from toolchain.embedding.data import NO_WORD, ClipArrays, add_silence_and_unknown, feature_dataset
from toolchain.embedding.ds_cnn import EMBEDDING_LAYER
from toolchain.embedding.margin import AdditiveMarginLoss, MarginParams, with_cosine_words
from toolchain.embedding.multi_worker import accuracy, fit_multi_worker
from toolchain.embedding.registry import DEFAULT_ARCHITECTURE, build_classifier
from toolchain.errors import KwsError, bad_input
from toolchain.features import batch_features, decode_clips
from toolchain.frontend import FrontendParams, require_same_frontend


@dataclass(frozen=True)
class TrainConfig:
    corpus: Path
    out: Path
    languages: tuple[str, ...] = EMBEDDING_LANGUAGES
    words_per_language: int = 32
    architecture: str = DEFAULT_ARCHITECTURE
    epochs: int = 40
    batch_size: int = 64
    learning_rate: float = 3e-3
    seed: int = 0
    resume: bool = False
    init_from: Path | None = None
    head_epochs: int = 3
    max_steps_per_epoch: int | None = None
    arch_overrides: dict = field(default_factory=dict)
    command: str = ""
    # the features every later artifact inherits; chosen here, read from the artifact everywhere after
    frontend: FrontendParams = FrontendParams()
    # more MSWC-layout corpora read with `corpus` (another voice family, real MSWC); noise comes from `corpus`
    extra_corpora: tuple[Path, ...] = ()
    # distillation: the student also learns to point where the teacher's embedding points (embedding/teacher.py)
    teacher: str | None = None
    distill_weight: float = 1.0
    # recordings without word labels (real people: `make realspeech`), learned through the teacher loss only
    distill_speech: Path | None = None
    # ROOM_AND_DEVICE adds reverberation, microphone colouring and VTLP (voices and rooms never heard);
    # off by default until the shipped embeddings are retrained with it, so `make train` reproduces them
    augment: AugmentParams = AugmentParams()
    # "softmax", or "am-softmax": words classified by cosine with a margin (margin.py)
    word_loss: str = "softmax"
    margin: MarginParams = MarginParams()

    @property
    def corpora(self) -> tuple[Path, ...]:
        return (Path(self.corpus), *(Path(c) for c in self.extra_corpora))

    @property
    def workdir(self) -> Path:
        return self.out.parent / f"{self.out.name}.work"


def vocabulary(corpus_words: dict[str, list[str]], config: TrainConfig) -> list[tuple[str, str]]:
    """(language, word) pairs the embedding learns: the first N words of each language, in the
    shipped list's order (frequent first) where there is one, else alphabetical."""
    vocab = []
    for language in config.languages:
        present = set(corpus_words.get(language, []))
        try:
            ordered = [w for w in word_list(language) if w in present]
        except KwsError:
            ordered = sorted(present)
        vocab += [(language, w) for w in ordered[: config.words_per_language]]
    if not vocab:
        raise KwsError(f"{config.corpus}: none of the languages {list(config.languages)} has words in this corpus")
    return vocab


def class_name(language: str, word: str) -> str:
    return f"{language}/{word}"


def cluster_role() -> tuple[bool, str]:
    """(is chief, name) of this process in a TF_CONFIG cluster: only the chief writes the artifact,
    and every process keeps its own backups, so workers sharing a filesystem never clobber each other."""
    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = tf_config.get("task", {})
    kind, index = task.get("type", "chief"), int(task.get("index", 0))
    has_chief = "chief" in tf_config.get("cluster", {})
    return kind == "chief" or (kind == "worker" and index == 0 and not has_chief), f"{kind}-{index}"


def distribution_strategy() -> tf.distribute.Strategy:
    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        keras.mixed_precision.set_global_policy("mixed_float16")
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _scan_corpora(config: TrainConfig):
    """Clips and skipped files of every corpus, in the order given. The first corpus speaks every
    language; another may speak some of them (MBROLA has no Catalan, English or Swahili voice)."""
    clips, skipped = [], []
    for index, corpus in enumerate(config.corpora):
        languages = list(config.languages)
        if index > 0:
            spoken = set(languages_in(corpus))
            languages = [lang for lang in languages if lang in spoken]
            if not languages:
                raise KwsError(f"{corpus}: speaks none of the languages {list(config.languages)}")
        scan = read_mswc(corpus, languages=languages)
        if any(c.speaker.startswith(f"{EVALUATION_ONLY_FAMILY}-") for c in scan.clips):
            raise KwsError(f"{corpus}: {EVALUATION_ONLY_FAMILY} voices are kept for evaluation (benchmarks/pico_voices.py); "
                           "no embedding trains on them")
        clips += scan.clips
        skipped += scan.skipped
    return clips, skipped


def _load_split_arrays(config: TrainConfig, vocab, class_names, tracks):
    scan_clips, scan_skipped = _scan_corpora(config)
    wanted = {(lang, word): class_names.index(class_name(lang, word)) for lang, word in vocab}
    records = [r for r in scan_clips if (r.language, r.label) in wanted]
    kept, audio, skipped = decode_clips(records)
    audio = np.stack(audio)
    labels = np.array([wanted[(r.language, r.label)] for r in kept], np.int32)
    splits = np.array([r.split for r in kept])
    out = {}
    for offset, split in enumerate(("train", "dev", "test")):
        mask = splits == split
        if not mask.any():
            raise KwsError(f"{config.corpus}: no {split} clips for the chosen words")
        out[split] = add_silence_and_unknown(audio[mask], labels[mask], class_names, tracks, config.seed + 10 * offset)
    return out, kept, skipped + scan_skipped


def _speech_files(folder: Path) -> list[ClipRecord]:
    """Every recording under `folder`, sorted; checked before the expensive work."""
    folder = Path(folder)
    if not folder.is_dir():
        raise bad_input(folder, "--distill-speech: folder not found")
    files = audio_files(folder, recursive=True)
    if not files:
        raise bad_input(folder, f"--distill-speech: no recordings ({', '.join(AUDIO_SUFFIXES)})")
    return [ClipRecord(p, "", split="train") for p in files]


def _speech_without_labels(folder: Path) -> tuple[np.ndarray, dict]:
    """1 s clips of the recordings under `folder`, and what they were (for the manifest)."""
    _, audio, skipped = decode_clips(_speech_files(folder))
    if not audio:
        raise bad_input(folder, f"--distill-speech: none of its {len(skipped)} recordings is usable ({skipped[0][1]})")
    audio = np.stack(audio)
    packages = read_manifest(folder, REAL_SPEECH_KIND)["packages"] if directory_kind(folder) == REAL_SPEECH_KIND else None
    return audio, {"path": str(folder), "clips": int(len(audio)), "skipped": len(skipped),
                   "audio_sha256": hashlib.sha256(audio.tobytes()).hexdigest()[:16], "packages": packages}


def _with_teacher_targets(arrays: dict[str, ClipArrays], config: TrainConfig) -> tuple[dict[str, ClipArrays], dict]:
    """Train and dev clips with the teacher's embedding of each (cached per clip), and what the teacher was.
    --distill-speech recordings join the training clips with no word (NO_WORD): only the teacher teaches them."""
    from toolchain.embedding.teacher import load_teacher

    teacher = load_teacher(config.teacher)
    targets = {split: ClipArrays(a.audio, a.labels, teacher.embed(a.audio, progress=True))
               for split, a in arrays.items() if split in ("train", "dev")}
    info = {"name": teacher.name, "model_sha256": teacher.model_sha256, "dim": teacher.dim,
            "distill_weight": config.distill_weight,
            "loss": "cosine between a linear projection of the embedding and the teacher's embedding of the clean clip"}
    if config.distill_speech is not None:
        speech, info["speech_without_labels"] = _speech_without_labels(config.distill_speech)
        train = targets["train"]
        targets["train"] = ClipArrays(np.concatenate([train.audio, speech]),
                                      np.concatenate([train.labels, np.full(len(speech), NO_WORD, np.int32)]),
                                      np.concatenate([train.teacher, teacher.embed(speech, progress=True)]))
    return targets, info


def _distillation_model(model: keras.Model, teacher_dim: int) -> keras.Model:
    """The classifier plus a linear projection of its embedding into the teacher's space (dropped after training)."""
    embedding = model.get_layer(EMBEDDING_LAYER).output
    projected = keras.layers.Dense(teacher_dim, name="teacher_projection", dtype="float32")(embedding)
    return keras.Model(model.input, {"word_logits": model.output, "teacher_projection": projected}, name=f"{model.name}_distill")


def _unknown_bank(arrays: ClipArrays, class_names: list[str], per_word: int, seed: int, tracks, frontend: FrontendParams) -> bytes:
    """int8 features of a few training clips per word, the 'unknown' pool of later enrolments: each
    clip clean, and again in settled background noise as the device hears words between keywords."""
    rng = np.random.default_rng(seed)
    picks = []
    for label in range(len(class_names)):
        if class_names[label] in (SILENCE, UNKNOWN):
            continue
        idx = np.flatnonzero(arrays.labels == label)
        picks += list(rng.choice(idx, min(per_word, idx.size), replace=False))
    picks = np.array(sorted(picks))
    chosen = ClipArrays(arrays.audio[picks], arrays.labels[picks])
    noisy = feature_dataset(chosen, 256, seed, True, tracks, frontend, SETTLED_NOISE)
    noisy_features, noisy_labels = zip(*[(x.numpy(), y.numpy()) for x, y in noisy])
    features = np.concatenate([batch_features(chosen.audio, frontend), np.concatenate(noisy_features).astype(np.int8)])
    labels = np.concatenate([chosen.labels, np.concatenate(noisy_labels)])
    buffer = io.BytesIO()
    np.savez_compressed(buffer, features=features,
                        labels=np.array([class_names[i].split("/", 1)[1] for i in labels]),
                        languages=np.array([class_names[i].split("/", 1)[0] for i in labels]),
                        settled_noise=np.repeat([False, True], len(picks)),
                        frontend=np.array(json.dumps(frontend.to_dict())))
    return buffer.getvalue()


def _initial_classifier(config: TrainConfig, num_classes: int) -> tuple[keras.Model, str, dict]:
    """A fresh network, or --init-from's feature extractor under a new word layer; with the
    architecture name and params that rebuild it."""
    if config.init_from is None:
        model, params = build_classifier(config.architecture, config.frontend.feature_shape, num_classes, config.arch_overrides)
        return model, config.architecture, params
    parent = load_embedding(config.init_from)
    require_same_frontend(config.frontend, parent.manifest["frontend"], str(config.init_from))
    trunk = trunk_of(parent.classifier)
    x = keras.layers.Dropout(0.2)(trunk.output)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="word_logits", dtype="float32")(x)
    model = keras.Model(trunk.input, outputs, name=parent.classifier.name)
    return model, parent.manifest["architecture"], parent.manifest["architecture_params"]


def _fit(model: keras.Model, strategy: tf.distribute.Strategy, train_ds, dev_ds, steps: int, epochs: int, global_batch: int,
         workdir: Path | None, resume: bool, verbose: int) -> int:
    """Epochs run: Keras fit on one machine; across machines the plain loop (Keras 3 fit cannot).
    With `workdir`: a backup every epoch (`--resume`), history.csv and TensorBoard logs there."""
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return fit_multi_worker(model, strategy, train_ds, dev_ds, steps, epochs, global_batch, workdir, resume, verbose)
    callbacks = [] if workdir is None else [
        keras.callbacks.BackupAndRestore(str(workdir / "backup"), save_freq="epoch", delete_checkpoint=False),
        keras.callbacks.TensorBoard(str(workdir / "logs")),
        keras.callbacks.CSVLogger(str(workdir / "history.csv"), append=resume),
    ]
    history = model.fit(train_ds, epochs=epochs, steps_per_epoch=steps, validation_data=dev_ds, callbacks=callbacks,
                        verbose=verbose)
    return len(history.history.get("loss", []))


WORD_LOSSES = ("softmax", "am-softmax")


def _word_loss(config: TrainConfig):
    if config.word_loss not in WORD_LOSSES:
        raise KwsError(f"--word-loss {config.word_loss!r}: not one of {', '.join(WORD_LOSSES)}")
    if config.word_loss == "am-softmax":
        return AdditiveMarginLoss(config.margin.margin, config.margin.scale)
    return "sparse_categorical_crossentropy"


def _with_word_layer(model: keras.Model, config: TrainConfig) -> keras.Model:
    return with_cosine_words(model) if config.word_loss == "am-softmax" else model


def _compile(model: keras.Model, learning_rate: float, steps: int, word_loss, distill_weight: float | None = None) -> None:
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, max(1, steps))
    if distill_weight is None:
        model.compile(optimizer=keras.optimizers.Adam(schedule), loss=word_loss, metrics=["accuracy"])
        return
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss={"word_logits": word_loss, "teacher_projection": keras.losses.CosineSimilarity()},
                  loss_weights={"word_logits": 1.0, "teacher_projection": distill_weight},
                  metrics={"word_logits": "accuracy"})


def train_embedding(config: TrainConfig, progress: bool = True) -> dict:
    started = time.time()
    if (config.frontend.sample_rate, config.frontend.clip_samples) != (SAMPLE_RATE, CLIP_SAMPLES):
        raise KwsError(f"frontend: clips are decoded at {SAMPLE_RATE} Hz, {CLIP_SAMPLES} samples each; a frontend at "
                       f"{config.frontend.sample_rate} Hz / {config.frontend.clip_samples} samples cannot read them")
    keras.utils.set_random_seed(config.seed)
    if config.teacher and os.environ.get("TF_CONFIG"):
        raise KwsError("--teacher: distillation runs on one machine (the multi-worker loop trains the word classes only)")
    if config.distill_speech is not None:
        if not config.teacher:
            raise KwsError("--distill-speech: recordings without labels are learned through the teacher; add --teacher")
        _speech_files(config.distill_speech)
    corpus_manifest_path = Path(config.corpus) / "manifest.json"
    corpus_manifest = json.loads(corpus_manifest_path.read_text()) if corpus_manifest_path.is_file() else {}
    scan_words: dict[str, list[str]] = {}
    for record in _scan_corpora(config)[0]:
        scan_words.setdefault(record.language, []).append(record.label)
    scan_words = {k: sorted(set(v)) for k, v in scan_words.items()}
    vocab = vocabulary(scan_words, config)
    class_names = [SILENCE, UNKNOWN] + [class_name(lang, word) for lang, word in vocab]
    tracks = background_tracks(config.corpus, config.seed)
    arrays, kept, skipped = _load_split_arrays(config, vocab, class_names, tracks)

    is_chief, role = cluster_role()
    workdir = config.workdir if is_chief else config.workdir.with_name(f"{config.workdir.name}.{role}")
    if not config.resume and workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    strategy = distribution_strategy()
    batch = config.batch_size * strategy.num_replicas_in_sync
    train_ds = feature_dataset(arrays["train"], batch, config.seed, True, tracks, config.frontend, config.augment)
    dev_ds = feature_dataset(arrays["dev"], batch, config.seed, False, tracks, config.frontend)
    steps = config.max_steps_per_epoch or int(np.ceil(len(arrays["train"].labels) / batch))
    if config.max_steps_per_epoch:
        train_ds = train_ds.repeat()
    verbose = 1 if progress and sys.stdout.isatty() else 2 if progress else 0
    word_loss = _word_loss(config)
    with strategy.scope():
        model, architecture, arch_params = _initial_classifier(config, len(class_names))
        model = _with_word_layer(model, config)
    if config.init_from is not None and config.head_epochs > 0:
        for layer in model.layers[:-2]:
            layer.trainable = False
        with strategy.scope():
            _compile(model, config.learning_rate, steps * config.head_epochs, word_loss)
        _fit(model, strategy, train_ds, dev_ds, steps, config.head_epochs, batch, None, False, verbose)
        for layer in model.layers:
            layer.trainable = True
    fit_model, fit_train, fit_dev, distill_weight, teacher_info = model, train_ds, dev_ds, None, None
    if config.teacher:
        distilled, teacher_info = _with_teacher_targets(arrays, config)
        with strategy.scope():
            fit_model = _distillation_model(model, distilled["train"].teacher.shape[1])
        fit_train = feature_dataset(distilled["train"], batch, config.seed, True, tracks, config.frontend, config.augment)
        if config.distill_speech is not None and not config.max_steps_per_epoch:
            steps = int(np.ceil(len(distilled["train"].labels) / batch))  # an epoch sees the recordings too
        fit_train = fit_train.repeat() if config.max_steps_per_epoch else fit_train
        fit_dev = feature_dataset(distilled["dev"], batch, config.seed, False, tracks, config.frontend)
        distill_weight = config.distill_weight
    with strategy.scope():
        _compile(fit_model, config.learning_rate, steps * config.epochs, word_loss, distill_weight)
    epochs_run = _fit(fit_model, strategy, fit_train, fit_dev, steps, config.epochs, batch, workdir, config.resume, verbose)
    dev_acc = accuracy(model, dev_ds)
    test_acc = accuracy(model, feature_dataset(arrays["test"], batch, config.seed, False, tracks, config.frontend))
    test_noisy_acc = accuracy(model, feature_dataset(arrays["test"], batch, config.seed, True, tracks, config.frontend, SETTLED_NOISE))
    if keras.mixed_precision.global_policy().name != "float32":
        keras.mixed_precision.set_global_policy("float32")
        # the same layers in float32 (an --init-from model is the parent's architecture too), so the
        # saved artifact and its int8 conversion never carry float16 weights
        float_model = _with_word_layer(build_classifier(architecture, config.frontend.feature_shape, len(class_names), arch_params)[0], config)
        float_model.set_weights(model.get_weights())
        model = float_model
    trunk = trunk_of(model)
    manifest = {
        "kind": KIND,
        "architecture": architecture,
        "architecture_params": arch_params,
        "embedding_layer": EMBEDDING_LAYER,
        "embedding_dim": int(trunk.output.shape[-1]),
        "embedding_hash": weights_hash(trunk),
        "frontend": config.frontend.to_dict(),
        "classes": class_names,
        "languages": list(config.languages),
        "vocabulary": {lang: [w for l, w in vocab if l == lang] for lang in config.languages},
        "corpus": {"path": str(config.corpus), "seed": corpus_manifest.get("config", {}).get("seed"),
                   "config": corpus_manifest.get("config"), "clips_used": len(kept), "skipped": len(skipped),
                   "extra": [_corpus_summary(c) for c in config.extra_corpora],
                   "voice_families": voice_families(kept)},
        "teacher": teacher_info,
        "training": {
            "config": {k: _jsonable(v) for k, v in asdict(config).items()},
            "epochs_run": epochs_run,
            "dev_accuracy": round(float(dev_acc), 4),
            "test_accuracy": round(float(test_acc), 4),
            "test_accuracy_settled_noise": round(float(test_noisy_acc), 4),
            "augment": asdict(config.augment),
            "train_clips": int(len(arrays["train"].labels)),
            "wall_time_s": round(time.time() - started, 1),
            "hardware": hardware(),
            "replicas": strategy.num_replicas_in_sync,
            "parent_embedding": str(config.init_from) if config.init_from else None,
        },
    }
    if not is_chief:
        return manifest
    from toolchain.embedding.budget import embedding_budget

    manifest["budget"] = embedding_budget(trunk, model, arrays["train"], config.frontend)
    with staged_directory(config.out) as stage:
        model.save(stage / CLASSIFIER_FILE)
        write_bytes_atomic(stage / UNKNOWN_BANK_FILE, _unknown_bank(arrays["train"], class_names, 3, config.seed, tracks, config.frontend))
        write_json_atomic(stage / "manifest.json", manifest)
        (stage / "MODEL_CARD.md").write_text(model_card(manifest), encoding="utf-8")
    return manifest


def _jsonable(value):
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _corpus_summary(corpus: Path) -> dict:
    path = Path(corpus) / "manifest.json"
    manifest = json.loads(path.read_text()) if path.is_file() else {}
    return {"path": str(corpus), "config": manifest.get("config")}


def hardware() -> dict:
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return {"machine": platform.machine(), "cpus": os.cpu_count(), "gpus": gpus, "python": platform.python_version(),
            "tensorflow": tf.__version__}


MBROLA_LICENCE_LINE = ("- **MBROLA voices' licence**: the MBROLA voice databases may be used to synthesise speech with MBROLA "
                       "free of charge and may not be sold or built into a product that is sold; these weights were trained on "
                       "speech synthesised with them and do not contain them (corpus/mbrola.py)")


OPENJTALK_LICENCE_LINE = ("- **Open JTalk voices' licence**: HTS voices Mei (MMDAgent) and nitech_jp_atr503_m001, "
                          "CC-BY 3.0, © Nagoya Institute of Technology; these weights were trained on speech synthesised "
                          "with them (corpus/openjtalk.py)")
FAMILY_LICENCE_LINES = {"mbrola": MBROLA_LICENCE_LINE, "openjtalk": OPENJTALK_LICENCE_LINE}


def model_card(manifest: dict) -> str:
    t, b = manifest["training"], manifest["budget"]
    vocab = manifest["vocabulary"]
    lines = [
        "# Multilingual KWS embedding — model card",
        "",
        f"*Generated by `kws train-embedding` from the run it describes.*",
        "",
        f"- **Command**: `{t['config'].get('command') or 'kws train-embedding'}`",
        f"- **Architecture**: {manifest['architecture']} {json.dumps(manifest['architecture_params'])}",
        f"- **Embedding**: layer `{manifest['embedding_layer']}`, {manifest['embedding_dim']} dims, hash `{manifest['embedding_hash']}`",
        f"- **Corpus**: {manifest['corpus']['path']} (seed {manifest['corpus']['seed']}, {manifest['corpus']['clips_used']} clips used)"
        + "".join(f" + {extra['path']}" for extra in manifest['corpus'].get('extra', [])),
        f"- **Voice families**: {', '.join(manifest['corpus'].get('voice_families') or ['unknown'])}",
        *[line for family, line in FAMILY_LICENCE_LINES.items() if family in (manifest["corpus"].get("voice_families") or [])],
        *_speech_without_labels_lines(manifest.get("teacher") or {}),
        f"- **Teacher**: " + (f"{manifest['teacher']['name']} (sha256 {manifest['teacher']['model_sha256'][:16]}…, "
                              f"weight {manifest['teacher']['distill_weight']}; {manifest['teacher']['loss']})"
                              if manifest.get('teacher') else "none"),
        f"- **Word loss**: {_word_loss_text(t['config'])}",
        f"- **Languages**: {', '.join(manifest['languages'])}; {sum(len(v) for v in vocab.values())} words "
        f"+ `_silence_` + `_unknown_` = {len(manifest['classes'])} classes",
        f"- **Hardware**: {t['hardware']['machine']}, {t['hardware']['cpus']} CPUs, GPUs: {t['hardware']['gpus'] or 'none'}; TF {t['hardware']['tensorflow']}",
        f"- **Wall time**: {t['wall_time_s']} s for {t['epochs_run']} epochs",
        f"- **Accuracy**: dev {t['dev_accuracy']:.4f}, test (unseen voices) {t['test_accuracy']:.4f}; test in settled "
        f"background noise at 5–20 dB SNR, as the always-listening device hears it: {t.get('test_accuracy_settled_noise', 'n/a')}",
        f"- **Device budget (embedding trunk, int8)**: {b['trunk_int8_bytes']} bytes flash, "
        f"{b['trunk_macs']:,} MACs per 1 s window, TFLM arena {b['trunk_arena_bytes']} bytes",
        f"- **Full classifier**: {b['classifier_params']:,} parameters, {b['classifier_int8_bytes']} bytes int8",
        "",
        "## Vocabulary",
        "",
    ]
    lines += [f"- **{lang}**: {', '.join(words)}" for lang, words in vocab.items()]
    # benchmarks/render_readme.py fills this block from benchmarks/results/*.json (voices never heard,
    # streaming cost, detection at the board's pace); the manifest lists this file without a hash for that
    lines += ["", "## Measured by the benchmarks", "",
              "<!-- figures:model-card -->Not measured at this revision (`make bench`, then `make readme`).<!-- /figures:model-card -->"]
    return "\n".join(lines) + "\n"


def _speech_without_labels_lines(teacher: dict) -> list[str]:
    speech = teacher.get("speech_without_labels")
    if not speech:
        return []
    packages = speech.get("packages") or {}
    sources = "; ".join(f"{name} {p['version']} ({p['licence']}, {p['clips']} clips)" for name, p in packages.items() if p["clips"])
    return [f"- **Recorded speech (teacher loss only, no word labels)**: {speech['clips']} clips from {speech['path']}"
            + (f": Debian packages {sources}; these weights were trained on those recordings and do not contain them"
               if sources else "")]


def _word_loss_text(config: dict) -> str:
    if config.get("word_loss", "softmax") != "am-softmax":
        return "softmax cross-entropy"
    margin = config["margin"]
    return f"additive-margin softmax (margin {margin['margin']:g}, scale {margin['scale']:g}; cosine word layer)"
