"""In-memory clips and the tf.data pipelines that augment and featurise them on the fly."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from toolchain.augment import AugmentParams, mix_background, noise_bank_tensor, room_and_device, spec_augment, time_shift
from toolchain.corpus.background import silence_clips
from toolchain.corpus.records import SILENCE, UNKNOWN
from toolchain.frontend import FrontendParams, features_tf, lead_in_samples, settled_features_tf


NO_WORD = -1  # the label of a clip without a word label (recorded speech the teacher alone teaches)


@dataclass
class ClipArrays:
    audio: np.ndarray  # int16 (N, clip samples)
    labels: np.ndarray  # int32 (N,); NO_WORD only beside a teacher
    teacher: np.ndarray | None = None  # float32 (N, dim): a teacher's embedding of each clean clip, when distilling


def unknown_clips(word_audio: np.ndarray, tracks: list[np.ndarray], count: int, seed: int) -> np.ndarray:
    """Speech-like non-words: time-reversed words, keeping held-out words out of training."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(word_audio), count)
    return np.ascontiguousarray(word_audio[picks, ::-1])


def add_silence_and_unknown(audio: np.ndarray, labels: np.ndarray, class_names: list[str], tracks, seed: int,
                            share: float = 3.0) -> ClipArrays:
    """Append `share` × the mean per-word count of silence and of unknown examples."""
    per_class = max(1, int(share * len(audio) / max(1, len(class_names) - 2)))
    silence = silence_clips(tracks, per_class, seed, audio.shape[1])
    unknown = unknown_clips(audio, tracks, per_class, seed + 1)
    all_audio = np.concatenate([audio, silence, unknown])
    all_labels = np.concatenate([labels, np.full(per_class, class_names.index(SILENCE)),
                                 np.full(per_class, class_names.index(UNKNOWN))]).astype(np.int32)
    return ClipArrays(all_audio, all_labels)


def feature_dataset(arrays: ClipArrays, batch_size: int, seed: int, training: bool, tracks: list[np.ndarray],
                    params: FrontendParams, augment: AugmentParams = AugmentParams()) -> tf.data.Dataset:
    """(features float32 int8-valued, label) batches; training adds shift, background and SpecAugment.

    With `arrays.teacher`, the target is {"word_logits": label, "teacher_projection": teacher vector}:
    the student sees the augmented clip, the teacher's vector is of the clean one. NO_WORD clips then
    come with sample weights that keep them out of the word loss."""
    lead_in = lead_in_samples(augment.lead_in_ms, params)
    bank = noise_bank_tensor(tracks, params.clip_samples + lead_in)
    max_shift = params.sample_rate * augment.max_shift_ms // 1000
    acoustic = max(augment.reverb_probability, augment.colour_probability, augment.vtlp_probability) > 0

    def clean(audio, label):
        return tf.cast(features_tf(audio, params), tf.float32), label

    def augmented(audio, label, seed_pair):
        seeds = tf.random.experimental.stateless_split(seed_pair, 5)
        wave = tf.cast(audio, tf.float32) / 32768.0
        if acoustic:
            wave = room_and_device(wave, augment, tf.random.experimental.stateless_fold_in(seed_pair, 7), params.sample_rate)
        wave = tf.pad(time_shift(wave, max_shift, seeds[0]), [[lead_in, 0]])
        use_noise = tf.random.stateless_uniform([], seeds[1]) < augment.background_probability
        settled = tf.random.stateless_uniform([], seeds[4]) < augment.settled_probability
        wave = tf.cond(use_noise, lambda: mix_background(wave, bank, augment.snr_db_range, seeds[2], lead_in, settled),
                       lambda: wave)
        feats = tf.cast(settled_features_tf(tf.cast(tf.round(wave * 32767.0), tf.int16), params), tf.float32)
        return spec_augment(feats, augment, seeds[3]), label

    dataset = tf.data.Dataset.from_tensor_slices((arrays.audio, arrays.labels))
    if arrays.teacher is not None:
        dataset = tf.data.Dataset.from_tensor_slices((arrays.audio, (arrays.labels, arrays.teacher.astype(np.float32))))
    if training:
        dataset = dataset.shuffle(len(arrays.labels), seed=seed, reshuffle_each_iteration=True)
        seeds = tf.data.Dataset.random(seed=seed).batch(2)
        dataset = tf.data.Dataset.zip((dataset, seeds)).map(
            lambda pair, s: augmented(pair[0], pair[1], s), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        dataset = dataset.map(clean, num_parallel_calls=tf.data.AUTOTUNE)
    unlabelled = bool((arrays.labels == NO_WORD).any())
    if unlabelled and arrays.teacher is None:
        raise ValueError("clips without a word label need a teacher's targets")
    if unlabelled:
        dataset = dataset.map(lambda x, y: (x, {"word_logits": tf.maximum(y[0], 0), "teacher_projection": y[1]},
                                            {"word_logits": tf.cast(y[0] != NO_WORD, tf.float32),
                                             "teacher_projection": tf.constant(1.0)}))
    elif arrays.teacher is not None:
        dataset = dataset.map(lambda x, y: (x, {"word_logits": y[0], "teacher_projection": y[1]}))
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
