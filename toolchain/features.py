"""Clips → cached int8 feature maps, in batch on both cores.

The cache key is the decoded audio's bytes plus the frontend fingerprint, so changed audio or
changed frontend parameters can never return stale features.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from toolchain.artifacts import read_cache_entry, write_bytes_atomic
from toolchain.audio import load_clip
from toolchain.corpus.records import ClipRecord
from toolchain.errors import KwsError
from toolchain.frontend import FrontendParams

DEFAULT_CACHE = Path(os.environ.get("KWS_CACHE", Path.home() / ".cache" / "kws")) / "features"


def cache_key(audio_int16: np.ndarray, params: FrontendParams) -> str:
    digest = hashlib.sha256(audio_int16.tobytes())
    digest.update(params.fingerprint().encode())
    return digest.hexdigest()


@dataclass
class FeatureSet:
    """Features aligned with the records they came from; bad files are listed, not dropped silently."""

    features: np.ndarray  # int8 (N, frames, channels)
    records: list[ClipRecord]
    skipped: list[tuple[str, str]]
    params: FrontendParams

    @property
    def labels(self) -> list[str]:
        return [r.label for r in self.records]


def batch_features(clips: np.ndarray, params: FrontendParams, batch: int = 256) -> np.ndarray:
    """int8 features of many int16 clips through a parallel tf.data map, with the frontend of the
    artifact they serve.

    Clips longer than one second are lead-in + clip: the result is the settled features of their end."""
    import tensorflow as tf

    from toolchain.frontend import settled_features_tf

    if len(clips) == 0:
        return np.zeros((0, *params.feature_shape), np.int8)
    dataset = tf.data.Dataset.from_tensor_slices(clips).map(
        lambda a: settled_features_tf(a, params), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    return np.concatenate([b.numpy() for b in dataset.batch(batch)])


def decode_clips(records: list[ClipRecord], strict: bool = False, progress: bool = True
                 ) -> tuple[list[ClipRecord], list[np.ndarray], list[tuple[str, str]]]:
    """Decode in threads (libsndfile releases the GIL); bad files are listed, or fatal with `strict`."""
    def decode(record: ClipRecord):
        try:
            return load_clip(record.path), None
        except KwsError as exc:
            return None, str(exc)

    with ThreadPoolExecutor(max_workers=min(4, (os.cpu_count() or 1) * 2)) as pool:
        decoded = list(tqdm(pool.map(decode, records), total=len(records), desc="decode", unit="clip", disable=not progress))
    kept, audio, skipped = [], [], []
    for record, (clip, error) in zip(records, decoded):
        if error:
            if strict:
                raise KwsError(error)
            skipped.append((str(record.path), error))
        else:
            kept.append(record)
            audio.append(clip)
    return kept, audio, skipped


def featurise(records: list[ClipRecord], params: FrontendParams, cache_dir: Path | None = DEFAULT_CACHE,
              strict: bool = False, progress: bool = True) -> FeatureSet:
    """Decode, frontend and cache every record; unreadable or silent files are skipped and listed."""
    kept, audio, skipped = decode_clips(records, strict, progress)
    out = np.zeros((len(kept), *params.feature_shape), np.int8)
    missing = []
    keys = [cache_key(a, params) for a in audio]
    for i, key in enumerate(keys):
        cached = read_cache_entry(cache_dir / key[:2] / f"{key}.npy", params.feature_shape, np.int8) if cache_dir else None
        if cached is None:
            missing.append(i)
        else:
            out[i] = cached
    if missing:
        computed = batch_features(np.stack([audio[i] for i in missing]), params)
        for i, feats in zip(missing, computed):
            out[i] = feats
            if cache_dir:
                buffer = io.BytesIO()
                np.save(buffer, feats)
                write_bytes_atomic(cache_dir / keys[i][:2] / f"{keys[i]}.npy", buffer.getvalue())
    return FeatureSet(out, kept, skipped, params)


def save_feature_set(feature_set: FeatureSet, out: Path) -> None:
    """An .npz a training script can load without this package; written atomically."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        features=feature_set.features,
        labels=np.array([r.label for r in feature_set.records]),
        languages=np.array([r.language for r in feature_set.records]),
        speakers=np.array([r.speaker for r in feature_set.records]),
        splits=np.array([r.split for r in feature_set.records]),
        paths=np.array([str(r.path) for r in feature_set.records]),
        frontend=np.array(json.dumps(feature_set.params.to_dict())),
    )
    write_bytes_atomic(Path(out), buffer.getvalue())
