"""Does the embedding fit a Cortex-M4? Measured on its real int8 conversion, not estimated."""
from __future__ import annotations

import keras
import numpy as np

from toolchain.embedding.data import ClipArrays
from toolchain.features import batch_features
from toolchain.frontend import FrontendParams
from toolchain.tflite.converter import to_tflite
from toolchain.tflite.flatbuffer import total_macs
from toolchain.tflite.micro import measure_arena

LIMITS = {"int8_weight_bytes": 200_000, "macs": 6_000_000, "arena_bytes": 256_000}


def embedding_budget(trunk: keras.Model, classifier: keras.Model, arrays: ClipArrays, frontend: FrontendParams,
                     samples: int = 64) -> dict:
    picks = np.random.default_rng(0).choice(len(arrays.labels), min(samples, len(arrays.labels)), replace=False)
    representative = batch_features(arrays.audio[np.sort(picks)], frontend).astype(np.float32)
    trunk_int8 = to_tflite(trunk, representative)
    classifier_int8 = to_tflite(classifier, representative)
    return {
        "trunk_int8_bytes": len(trunk_int8),
        "classifier_int8_bytes": len(classifier_int8),
        "classifier_params": int(classifier.count_params()),
        "trunk_params": int(trunk.count_params()),
        "trunk_macs": total_macs(trunk_int8),
        "trunk_arena_bytes": measure_arena(trunk_int8),
        "limits": LIMITS,
    }
