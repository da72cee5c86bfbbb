import numpy as np
import tensorflow as tf

from toolchain.augment import AugmentParams, mix_background, noise_bank_tensor, spec_augment, time_shift


def test_time_shift_moves_without_wrapping():
    audio = tf.constant(np.r_[np.ones(100), np.zeros(900)].astype(np.float32))
    shifted = time_shift(audio, 50, tf.constant([1, 2])).numpy()
    assert shifted.shape == (1000,) and 50 <= shifted.sum() <= 100 + 0
    assert shifted[-50:].sum() == 0


def test_background_mix_hits_the_requested_snr():
    rng = np.random.default_rng(0)
    audio = (0.1 * np.sin(np.arange(16000) / 5)).astype(np.float32)
    bank = noise_bank_tensor([rng.normal(0, 0.3, 32000).astype(np.float32)], 16000)
    mixed = mix_background(tf.constant(audio), bank, (10.0, 10.0), tf.constant([3, 4])).numpy()
    noise = mixed - audio
    snr = 10 * np.log10(np.mean(audio ** 2) / np.mean(noise ** 2))
    assert abs(snr - 10.0) < 0.5


def test_spec_augment_masks_to_floor_and_is_seeded():
    feats = tf.zeros([49, 40])
    params = AugmentParams(time_masks=1, time_mask_frames=10, freq_masks=1, freq_mask_channels=10)
    a = spec_augment(feats, params, tf.constant([5, 6])).numpy()
    b = spec_augment(feats, params, tf.constant([5, 6])).numpy()
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) <= {0.0, -128.0}


def test_background_fills_the_lead_in_only_when_settled():
    rng = np.random.default_rng(1)
    audio = np.r_[np.zeros(8000), 0.1 * np.sin(np.arange(16000) / 5)].astype(np.float32)
    bank = noise_bank_tensor([rng.normal(0, 0.3, 48000).astype(np.float32)], 24000)
    settled = mix_background(tf.constant(audio), bank, (10.0, 10.0), tf.constant([3, 4]), 8000, True).numpy()
    onset = mix_background(tf.constant(audio), bank, (10.0, 10.0), tf.constant([3, 4]), 8000, False).numpy()
    assert np.all(onset[:8000] == 0) and np.std(settled[:8000]) > 0.01
    np.testing.assert_allclose(settled[8000:], onset[8000:])  # same noise, same gain on the clip
    noise = onset[8000:] - audio[8000:]
    snr = 10 * np.log10(np.mean(audio[8000:] ** 2) / np.mean(noise ** 2))
    assert abs(snr - 10.0) < 0.5  # SNR measured on the clip, not diluted by the lead-in
