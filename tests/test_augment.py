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


def _burst(rate=16000):
    t = np.arange(rate) / rate
    wave = np.where((t > 0.3) & (t < 0.5), np.sin(2 * np.pi * 500 * t) + 0.5 * np.sin(2 * np.pi * 1500 * t), 0.0)
    return tf.constant((0.5 * wave).astype(np.float32))


def _centroid(wave, rate=16000):
    spectrum = np.abs(np.fft.rfft(wave))
    return float(np.sum(np.fft.rfftfreq(len(wave), 1 / rate) * spectrum) / np.sum(spectrum))


def test_room_and_device_reverberates_colours_and_moves_formants():
    from toolchain.augment import AugmentParams, room_and_device

    wave, seed = _burst(), tf.constant([3, 4], tf.int64)
    off = room_and_device(wave, AugmentParams(), seed, 16000).numpy()
    assert np.allclose(off, wave.numpy(), atol=1e-6)  # all probabilities 0: the clip is untouched
    room = AugmentParams(reverb_probability=1.0, rt60_s_range=(0.8, 0.8))
    reverberant = room_and_device(wave, room, seed, 16000).numpy()
    assert reverberant.shape == off.shape and np.isclose(np.abs(reverberant).max(), np.abs(off).max(), rtol=1e-4)
    after_word = slice(int(0.55 * 16000), int(0.75 * 16000))
    assert np.sqrt(np.mean(reverberant[after_word] ** 2)) > 0.01 > np.sqrt(np.mean(off[after_word] ** 2))
    assert np.array_equal(reverberant, room_and_device(wave, room, seed, 16000).numpy())  # seeded
    higher = room_and_device(wave, AugmentParams(vtlp_probability=1.0, vtlp_range=(1.1, 1.1)), seed, 16000).numpy()
    lower = room_and_device(wave, AugmentParams(vtlp_probability=1.0, vtlp_range=(0.9, 0.9)), seed, 16000).numpy()
    assert _centroid(lower) < _centroid(off) < _centroid(higher)
    coloured = room_and_device(wave, AugmentParams(colour_probability=1.0), seed, 16000).numpy()
    assert not np.allclose(coloured, off, atol=1e-3)


def test_training_pipeline_with_room_and_device_keeps_the_feature_shape():
    from toolchain.augment import ROOM_AND_DEVICE
    from toolchain.corpus.background import background_tracks
    from toolchain.embedding.data import ClipArrays, feature_dataset
    from toolchain.frontend import FrontendParams

    frontend = FrontendParams()
    clips = np.stack([(_burst().numpy() * 32767).astype(np.int16)] * 4)
    dataset = feature_dataset(ClipArrays(clips, np.zeros(4, np.int32)), 4, 0, True, background_tracks(None, 0), frontend,
                              ROOM_AND_DEVICE)
    features, labels = next(iter(dataset))
    assert features.shape == (4, *frontend.feature_shape) and labels.shape == (4,)
