"""Saving and loading the embedding artifact: classifier + manifest; its trunk is the embedding."""
from __future__ import annotations

import hashlib
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from toolchain.artifacts import load_keras_model, read_manifest
from toolchain.embedding import margin  # noqa: F401  registers CosineWords, the word layer of --word-loss am-softmax classifiers
from toolchain.embedding.ds_cnn import EMBEDDING_LAYER
from toolchain.errors import KwsError, bad_input
from toolchain.frontend import FrontendParams

KIND = "embedding"
CLASSIFIER_FILE = "classifier.keras"
UNKNOWN_BANK_FILE = "unknown_bank.npz"
DEFAULT_EMBEDDING = Path(__file__).resolve().parents[2] / "models" / "embedding"


def weights_hash(model: keras.Model) -> str:
    """Identity of an embedding: its trunk's weights, independent of the file container."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight, dtype=np.float32).tobytes())
    return digest.hexdigest()[:16]


def trunk_of(classifier: keras.Model) -> keras.Model:
    return keras.Model(classifier.input, classifier.get_layer(EMBEDDING_LAYER).output, name="embedding_trunk")


@dataclass
class Embedding:
    classifier: keras.Model
    trunk: keras.Model
    manifest: dict
    path: Path

    @property
    def frontend(self) -> FrontendParams:
        return FrontendParams.from_dict(self.manifest["frontend"])

    @property
    def hash(self) -> str:
        return self.manifest["embedding_hash"]

    def unknown_bank(self) -> tuple[np.ndarray, np.ndarray]:
        """int8 features and word labels of clips that may serve as 'unknown' for any new keyword."""
        path = self.path / UNKNOWN_BANK_FILE
        if not path.is_file():
            raise bad_input(path, "missing: the embedding ships no unknown-word bank")
        try:
            with np.load(path) as data:
                return data["features"], data["labels"]
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
            raise bad_input(path, f"unreadable unknown-word bank ({type(exc).__name__}); the file is damaged or truncated: "
                                  "restore the embedding or train it again") from exc


def load_embedding(path: Path | None = None) -> Embedding:
    path = Path(path or DEFAULT_EMBEDDING)
    manifest = read_manifest(path, KIND)
    model_path = path / CLASSIFIER_FILE
    if not model_path.is_file():
        raise bad_input(model_path, "missing classifier weights")
    classifier = load_keras_model(model_path, "restore the embedding or train it again")
    trunk = trunk_of(classifier)
    found = weights_hash(trunk)
    if found != manifest.get("embedding_hash"):
        raise bad_input(model_path, f"weights hash {found} does not match manifest {manifest.get('embedding_hash')}")
    return Embedding(classifier, trunk, manifest, path)


def embed(trunk: keras.Model, features: np.ndarray, batch_size: int = 256) -> np.ndarray:
    if len(features) == 0:
        raise KwsError("embed: no feature maps given")
    return trunk.predict(features.astype(np.float32), batch_size=batch_size, verbose=0)
