"""`kws enroll`: a deployable keyword model from a few recordings per keyword, and new versions of it.

The output directory holds frontend params + embedding + head as one Keras model, the labels, the
default threshold, the embedding hash, and the shots themselves so later versions can retrain.
"""
from __future__ import annotations

import io
import re
import time
from pathlib import Path

import keras
import numpy as np
import soundfile as sf

from toolchain.artifacts import load_keras_model, read_manifest, sha256_bytes, staged_directory, write_json_atomic
from toolchain.audio import SAMPLE_RATE, load_clip
from toolchain.corpus.records import SILENCE, UNKNOWN
from toolchain.embedding.artifact import DEFAULT_EMBEDDING, load_embedding
from toolchain.embedding.registry import streaming_hop_frames
from toolchain.errors import KwsError, bad_input
from toolchain.fewshot.head import EmbeddingCache, build_head_data, head_settings, keyword_model, train_head
from toolchain.fewshot.shots import check_keyword_name, load_shots
from toolchain.frontend import FrontendParams, require_feature_input, require_same_frontend
from toolchain.keras_file import save_model_reproducibly
from toolchain.outputs import claim_artifact, claim_next_version
from toolchain.streaming import StreamingParams

KIND = "keyword_model"
MODEL_FILE = "model.keras"
DEFAULT_THRESHOLD = 0.8
# A name becomes a folder name (shots/NN_name/) and a C string in the firmware; longer is a typo.
MAX_KEYWORD_BYTES = 64
MANIFEST_KEYS = ("version", "labels", "keywords", "embedding_path", "embedding_hash", "frontend", "streaming")


def _wav_bytes(clip: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, clip, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _stored_shots(model_dir: Path, manifest: dict) -> dict[str, np.ndarray]:
    shots = {}
    for name, info in manifest["keywords"].items():
        files = [model_dir / f for f in info["shot_files"]]
        missing = [f for f in files if not f.is_file()]
        if missing:
            raise bad_input(missing[0], "stored shot missing: the keyword model is incomplete")
        shots[name] = np.stack([load_clip(f) for f in files])
    return shots


def read_keyword_manifest(model_dir: Path) -> dict:
    """The manifest of a keyword model, refused in one line when a key later steps rely on is missing."""
    manifest = read_manifest(model_dir, KIND)
    missing = [key for key in MANIFEST_KEYS if key not in manifest]
    if missing:
        raise bad_input(Path(model_dir) / "manifest.json", f"missing {missing[0]!r}: not a complete keyword model; enrol it again")
    return manifest


def next_version_dir(model_dir: Path, version: int) -> Path:
    base = re.sub(r"-v\d+$", "", model_dir.name)
    return model_dir.parent / f"{base}-v{version}"


def _check_length(name: str) -> str:
    if len(name.encode("utf-8")) > MAX_KEYWORD_BYTES:
        raise KwsError(f"keyword {name[:20]!r}…: {len(name.encode('utf-8'))} bytes; names go into folder names and C strings, "
                       f"keep them to {MAX_KEYWORD_BYTES} bytes")
    return name


def enroll(keywords: list[tuple[str, Path]], out: Path | None, embedding_path: Path | None = None,
           add_to: Path | None = None, threshold: float = DEFAULT_THRESHOLD, seed: int = 0, force: bool = False) -> dict:
    """Train a head for `keywords` ((name, shots path) pairs), optionally on top of an existing model.

    `out` must be absent, empty, or (with `force`) an earlier keyword model holding only its own
    files; with `add_to` and no `out`, the next free version beside it is reserved (NAME-v2, -v3, …)
    so that concurrent runs never write the same one. All of this is checked before training.
    """
    if not keywords:
        raise KwsError("enroll: give at least one --keyword NAME --shots PATH")
    if not 0 < threshold < 1:
        raise KwsError(f"--threshold {threshold}: must lie strictly between 0 and 1")
    parent = read_keyword_manifest(add_to) if add_to else None
    embedding_path = Path(embedding_path or (parent["embedding_path"] if parent else DEFAULT_EMBEDDING))
    inputs = {"--embedding": embedding_path, "--add-to": add_to,
              **{f"--shots for {name!r}": Path(path) for name, path in keywords}}
    version = (parent["version"] + 1) if parent else 1
    if out is not None:
        claim = claim_artifact(Path(out), KIND, inputs=inputs, force=force)
    elif add_to:
        claim = claim_next_version(lambda v: next_version_dir(Path(add_to), v), version, inputs=inputs)
    else:
        raise KwsError("enroll: --out is required (or --add-to an existing keyword model)")
    with claim as reserved:
        if out is None:
            version, out = reserved
        return _enroll(keywords, Path(out), version, embedding_path, add_to, parent, threshold, seed)


def streaming_settings(embedding) -> StreamingParams:
    """The recognizer's settings: a decision every frontend step, or once per hop when the embedding
    streams (its twin updates only then, so the device decides at that pace)."""
    hop = streaming_hop_frames(embedding.manifest["architecture"], embedding.manifest.get("architecture_params"))
    defaults = StreamingParams()
    return defaults.at_stride(hop * embedding.frontend.window_step_ms, embedding.frontend) if hop else defaults


def _enroll(keywords: list[tuple[str, Path]], out: Path, version: int, embedding_path: Path, add_to: Path | None,
            parent: dict | None, threshold: float, seed: int) -> dict:
    started = time.time()
    taken = {SILENCE, UNKNOWN} | set(parent["keywords"] if parent else [])
    new_shots: dict[str, np.ndarray] = {}
    new_files: dict[str, list[Path]] = {}
    for name, path in keywords:
        name = _check_length(check_keyword_name(name, taken | set(new_shots)))
        new_shots[name], new_files[name] = load_shots(path)
    embedding = load_embedding(embedding_path)
    if parent and parent["embedding_hash"] != embedding.hash:
        raise KwsError(f"{add_to}: built on embedding {parent['embedding_hash']}, but {embedding.path} is {embedding.hash}")
    if parent:
        require_same_frontend(embedding.frontend, parent["frontend"], str(add_to))
    all_shots = (_stored_shots(add_to, parent) if parent else {}) | new_shots

    keras.utils.set_random_seed(seed)  # the augmentation too: a second enrol in one process equals the first
    cache = EmbeddingCache(embedding, seed)
    data = build_head_data(cache, all_shots, seed)
    head = train_head(data, seed)
    model = keyword_model(embedding, head)
    train_accuracy = float(np.mean(np.argmax(head.predict(data.embeddings, verbose=0), 1) == data.labels))

    keyword_info, shot_bytes = {}, {}
    for name, shots in all_shots.items():
        files = []
        for k, clip in enumerate(shots):
            rel = f"shots/{len(keyword_info):02d}_{_slug(name)}/shot_{k:02d}.wav"
            shot_bytes[rel] = _wav_bytes(clip)
            files.append(rel)
        keyword_info[name] = {"shot_files": files, "shot_sha256": [sha256_bytes(shot_bytes[f]) for f in files],
                              "source": [str(p) for p in new_files[name]] if name in new_files else parent["keywords"][name]["source"]}
    manifest = {
        "kind": KIND,
        "version": version,
        "parent": str(add_to) if add_to else None,
        "changes": {"added": list(new_shots), "kept": [k for k in all_shots if k not in new_shots]},
        "labels": data.class_names,
        "threshold": threshold,
        "keywords": keyword_info,
        "embedding_hash": embedding.hash,
        "embedding_path": str(embedding.path),
        "frontend": embedding.frontend.to_dict(),
        "streaming": streaming_settings(embedding).to_dict(),
        "training": {"examples": int(len(data.labels)), "train_accuracy": round(train_accuracy, 4), "seed": seed, **head_settings(),
                     "wall_time_s": round(time.time() - started, 1)},
    }
    with staged_directory(out) as stage:
        save_model_reproducibly(model, stage / MODEL_FILE)
        for rel, data_bytes in shot_bytes.items():
            (stage / rel).parent.mkdir(parents=True, exist_ok=True)
            (stage / rel).write_bytes(data_bytes)
        write_json_atomic(stage / "manifest.json", manifest)
    manifest["out"] = str(out)
    return manifest


def _slug(name: str) -> str:
    return re.sub(r"[^\w]+", "_", name, flags=re.UNICODE).strip("_") or "kw"


def load_keyword_model(model_dir: Path) -> tuple[keras.Model, dict]:
    """The Keras model and its manifest; a model without its metadata is refused."""
    manifest = read_keyword_manifest(model_dir)
    path = Path(model_dir) / MODEL_FILE
    if not path.is_file():
        raise bad_input(path, "missing: the keyword model directory has no model.keras")
    frontend = FrontendParams.from_dict(manifest["frontend"])
    model = load_keras_model(path, "enrol again or restore it")
    if model.output_shape[-1] != len(manifest["labels"]):
        raise bad_input(path, f"has {model.output_shape[-1]} outputs but the manifest lists {len(manifest['labels'])} labels")
    require_feature_input(model.input_shape, frontend, str(path))
    return model, manifest
