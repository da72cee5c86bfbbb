"""The two comparisons of the few-shot experiment: the same network from scratch, and MFCC + DTW."""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from scipy.fft import dct

from toolchain.embedding.registry import build_classifier


def from_scratch_scores(architecture: str, arch_params: dict, positives: np.ndarray, unknown: np.ndarray,
                        silence: np.ndarray, test: np.ndarray, seed: int, epochs: int = 12) -> np.ndarray:
    """P(target) on `test` from a fresh network trained on the same examples the head saw."""
    keras.utils.set_random_seed(seed)
    model, _ = build_classifier(architecture, positives.shape[1:], 3, arch_params)
    x = np.concatenate([silence, unknown, positives]).astype(np.float32)
    y = np.concatenate([np.zeros(len(silence)), np.ones(len(unknown)), np.full(len(positives), 2)]).astype(np.int32)
    counts = np.bincount(y, minlength=3)
    weights = {i: float(len(y) / (3 * max(1, c))) for i, c in enumerate(counts)}
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=epochs, batch_size=64, class_weight=weights, shuffle=True, verbose=0)
    return model.predict(test.astype(np.float32), batch_size=256, verbose=0)[:, 2]


def mfcc(clips_int16: np.ndarray, coefficients: int = 13) -> np.ndarray:
    """Classic MFCCs (32 ms / 10 ms, 40 mel bands), mean-normalised per clip: (N, frames, 13)."""
    audio = tf.cast(clips_int16, tf.float32) / 32768.0
    stft = tf.abs(tf.signal.stft(audio, 512, 160, 512))
    mel = tf.signal.linear_to_mel_weight_matrix(40, 257, 16000, 20.0, 7600.0)
    log_mel = tf.math.log(tf.tensordot(stft, mel, 1) + 1e-6).numpy()
    features = dct(log_mel, type=2, norm="ortho", axis=-1)[..., :coefficients]
    return features - features.mean(axis=1, keepdims=True)


def dtw_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Length-normalised DTW between two frame sequences (Euclidean frame cost)."""
    cost = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    n, m = cost.shape
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(1, n + 1):
        row = acc[i]
        prev = acc[i - 1]
        for j in range(1, m + 1):
            row[j] = cost[i - 1, j - 1] + min(prev[j], row[j - 1], prev[j - 1])
    return float(acc[n, m] / (n + m))


def dtw_scores(shots: np.ndarray, unknown: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, float]:
    """Template matching: a test clip's distance to its nearest shot, and a threshold set from the
    shots alone (midway between shot↔shot and shot↔unknown distances). Lower = more target-like."""
    shot_m, unknown_m, test_m = mfcc(shots), mfcc(unknown), mfcc(test)
    within = [dtw_distance(shot_m[i], shot_m[j]) for i in range(len(shot_m)) for j in range(len(shot_m)) if i != j]
    between = [min(dtw_distance(u, s) for s in shot_m) for u in unknown_m]
    threshold = (np.mean(within) + np.mean(between)) / 2 if within else float(np.percentile(between, 5))
    distances = np.array([min(dtw_distance(t, s) for s in shot_m) for t in test_m])
    return distances, float(threshold)
