"""Augmentation as tf.data ops: what real recordings do to a word, then background and SpecAugment.

Before the frontend: room reverberation (generated impulse responses: exponentially decaying noise
with an RT60 drawn per example, after a direct path), microphone and codec colouring (a smooth random
gain curve with a random low and high cut, as cheap MEMS microphones and narrow-band codecs shape
speech), and vocal-tract-length perturbation (resampling by a factor near 1, which moves formants and
pitch together as a shorter or longer vocal tract does); then time shift and background noise.

With a lead-in, the background of half the noisy examples starts seconds before the clip, so the
frontend's noise estimate has settled on it by the time the word arrives: what a device that is
always listening computes (the other half hear the noise start with the word). Training only on fresh-frontend clips leaves a model that fails on the device in steady
noise (white noise at 10 dB: 11/12 keywords found on lone clips, 0/12 after a 3 s lead-in).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from toolchain.frontend import SETTLING_MS


@dataclass(frozen=True)
class AugmentParams:
    max_shift_ms: int = 100
    background_probability: float = 0.8
    snr_db_range: tuple[float, float] = (0.0, 20.0)
    time_masks: int = 2
    time_mask_frames: int = 5
    freq_masks: int = 2
    freq_mask_channels: int = 5
    lead_in_ms: int = SETTLING_MS  # audio the frontend runs over before the clip
    settled_probability: float = 0.5  # share of noisy examples whose noise fills the lead-in (else it starts with the clip)
    reverb_probability: float = 0.0
    rt60_s_range: tuple[float, float] = (0.15, 0.9)
    colour_probability: float = 0.0
    vtlp_probability: float = 0.0
    vtlp_range: tuple[float, float] = (0.88, 1.12)  # resampling factor: > 1 a shorter vocal tract (higher formants)


# Training the embedding for voices and rooms it never heard: every acoustic augmentation on.
ROOM_AND_DEVICE = AugmentParams(reverb_probability=0.5, colour_probability=0.5, vtlp_probability=0.5)


# A word heard in steady background noise by a device that has been listening: for evaluation and negatives.
SETTLED_NOISE = AugmentParams(max_shift_ms=0, background_probability=1.0, snr_db_range=(5.0, 20.0), time_masks=0,
                              freq_masks=0, settled_probability=1.0)


def time_shift(audio: tf.Tensor, max_shift: int, seed: tf.Tensor) -> tf.Tensor:
    """Roll the word within the clip, zero-filling what enters (no wrap-around)."""
    shift = tf.random.stateless_uniform([], seed, -max_shift, max_shift + 1, dtype=tf.int32)
    length = tf.shape(audio)[0]
    padded = tf.pad(audio, [[max_shift, max_shift]])
    return tf.slice(padded, [max_shift - shift], [length])


def mix_background(audio: tf.Tensor, noise_bank: tf.Tensor, snr_db: tuple[float, float], seed: tf.Tensor,
                   lead_in: int = 0, settled: bool | tf.Tensor = True) -> tf.Tensor:
    """Add a random excerpt of a random noise track at an SNR drawn from `snr_db`.

    `audio` starts with `lead_in` samples before the clip; the SNR is measured on the clip. When
    `settled` the noise also fills the lead-in, else it starts with the clip."""
    seeds = tf.random.experimental.stateless_split(seed, 3)
    length = tf.shape(audio)[0]
    track = tf.random.stateless_uniform([], seeds[0], 0, tf.shape(noise_bank)[0], dtype=tf.int32)
    start = tf.random.stateless_uniform([], seeds[1], 0, tf.shape(noise_bank)[1] - length, dtype=tf.int32)
    noise = tf.slice(noise_bank[track], [start], [length])
    onset = tf.where(settled, 0, lead_in)
    noise = noise * tf.cast(tf.range(length) >= onset, tf.float32)
    snr = tf.random.stateless_uniform([], seeds[2], snr_db[0], snr_db[1])
    signal_power = tf.reduce_mean(tf.square(audio[lead_in:])) + 1e-10
    noise_power = tf.reduce_mean(tf.square(noise[lead_in:])) + 1e-10
    gain = tf.sqrt(signal_power / (noise_power * tf.pow(10.0, snr / 10.0)))
    return tf.clip_by_value(audio + gain * noise, -1.0, 1.0)


def spec_augment(features: tf.Tensor, params: AugmentParams, seed: tf.Tensor) -> tf.Tensor:
    """Zero random bands of frames and channels (to the feature floor, -128 in int8 units)."""
    frames, channels = features.shape[0], features.shape[1]
    seeds = tf.random.experimental.stateless_split(seed, 2 * (params.time_masks + params.freq_masks))
    mask = tf.ones_like(features)
    for k in range(params.time_masks + params.freq_masks):
        is_time = k < params.time_masks
        size_max, axis_len = (params.time_mask_frames, frames) if is_time else (params.freq_mask_channels, channels)
        width = tf.random.stateless_uniform([], seeds[2 * k], 0, size_max + 1, dtype=tf.int32)
        start = tf.random.stateless_uniform([], seeds[2 * k + 1], 0, axis_len - size_max, dtype=tf.int32)
        band = tf.logical_and(tf.range(axis_len) >= start, tf.range(axis_len) < start + width)
        band = tf.cast(tf.logical_not(band), features.dtype)
        mask = mask * (band[:, None] if is_time else band[None, :])
    return features * mask + (-128.0) * (1.0 - mask)


def noise_bank_tensor(noises: list[np.ndarray], length: int) -> tf.Tensor:
    """Equal-length float tracks, so one can be picked by index inside the graph."""
    if not noises:
        return tf.zeros([1, length], tf.float32)
    shortest = min(len(n) for n in noises)
    if shortest <= length:
        raise ValueError(f"background tracks must be longer than {length} samples")
    return tf.constant(np.stack([n[:shortest] for n in noises]).astype(np.float32))


REVERB_TAIL_S = 0.5


def room_and_device(wave: tf.Tensor, params: AugmentParams, seed: tf.Tensor, sample_rate: int) -> tf.Tensor:
    """Reverberation and microphone/codec colouring as one spectral filter, then VTLP; the clip keeps
    its length and its peak level."""
    seeds = tf.random.experimental.stateless_split(seed, 8)
    length = tf.shape(wave)[0]
    tail = int(REVERB_TAIL_S * sample_rate)
    fft_length = 1 << int(np.ceil(np.log2(sample_rate + tail)))  # clips are ≤ 1 s
    bins = fft_length // 2 + 1
    # room: direct path + exponentially decaying noise; RT60 is the time to fall by 60 dB
    rt60 = tf.random.stateless_uniform([], seeds[0], *params.rt60_s_range)
    t = tf.range(tail, dtype=tf.float32) / sample_rate
    decay = tf.exp(-6.9078 * t / rt60) * tf.random.stateless_normal([tail], seeds[1]) * 0.3
    impulse = tf.tensor_scatter_nd_update(decay, [[0]], [1.0])
    use_reverb = tf.random.stateless_uniform([], seeds[2]) < params.reverb_probability
    room = tf.cond(use_reverb, lambda: tf.signal.rfft(impulse, [fft_length]), lambda: tf.ones([bins], tf.complex64))
    # device: a smooth gain curve (±6 dB over 8 control points) times a low and a high cut
    freqs = tf.linspace(0.0, sample_rate / 2, bins)
    control = tf.random.stateless_uniform([8], seeds[3], -6.0, 6.0)
    curve = tf.reshape(tf.image.resize(tf.reshape(control, [8, 1, 1]), [bins, 1], method="bilinear"), [bins])
    low = tf.random.stateless_uniform([], seeds[4], 40.0, 300.0)
    high = tf.random.stateless_uniform([], seeds[5], 3400.0, sample_rate / 2)
    cuts = 1.0 / tf.sqrt(1.0 + tf.pow(low / tf.maximum(freqs, 1.0), 4.0)) / tf.sqrt(1.0 + tf.pow(freqs / high, 8.0))
    use_colour = tf.random.stateless_uniform([], seeds[6]) < params.colour_probability
    device = tf.cond(use_colour, lambda: tf.cast(tf.pow(10.0, curve / 20.0) * cuts, tf.complex64), lambda: tf.ones([bins], tf.complex64))
    spectrum = tf.signal.rfft(wave, [fft_length]) * room * device
    filtered = tf.signal.irfft(spectrum, [fft_length])[:length]
    peak_before = tf.reduce_max(tf.abs(wave)) + 1e-9
    filtered = filtered * peak_before / (tf.reduce_max(tf.abs(filtered)) + 1e-9)
    return tf.ensure_shape(vocal_tract_length(filtered, params, seeds[7]), wave.shape)


def vocal_tract_length(wave: tf.Tensor, params: AugmentParams, seed: tf.Tensor) -> tf.Tensor:
    """Resample by a factor in `vtlp_range` and re-centre to the same length."""
    seeds = tf.random.experimental.stateless_split(seed, 2)
    length = tf.shape(wave)[0]
    factor = tf.random.stateless_uniform([], seeds[0], *params.vtlp_range)
    use = tf.random.stateless_uniform([], seeds[1]) < params.vtlp_probability
    new_length = tf.cast(tf.round(tf.cast(length, tf.float32) / factor), tf.int32)

    def resampled():
        stretched = tf.reshape(tf.image.resize(tf.reshape(wave, [length, 1, 1]), [new_length, 1], method="bilinear"), [-1])
        pad = tf.maximum(length - new_length, 0)
        stretched = tf.pad(stretched, [[pad // 2, pad - pad // 2]])
        start = (tf.shape(stretched)[0] - length) // 2
        return stretched[start:start + length]

    return tf.ensure_shape(tf.cond(use, resampled, lambda: wave), wave.shape)
