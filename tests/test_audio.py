import numpy as np
import pytest
import soundfile as sf

from toolchain.audio import center_on_energy, load_audio, load_clip
from toolchain.errors import KwsError
from tests.conftest import tone_word


def test_stereo_44k_flac_becomes_16k_mono(tmp_path):
    rng = np.random.default_rng(0)
    word = tone_word(rng, 0.5, 44100, 200.0)
    stereo = np.stack([word, word * 0.5], axis=1)
    path = tmp_path / "a.flac"
    sf.write(path, stereo, 44100)
    audio = load_audio(path)
    assert audio.ndim == 1 and abs(audio.size - 8000) <= 1


def test_long_clip_is_cut_around_the_word(tmp_path):
    rng = np.random.default_rng(0)
    signal = np.zeros(16000 * 3, np.float32)
    signal[30000:36000] = tone_word(rng, 6000 / 16000, 16000, 220.0)
    clip = center_on_energy(signal)
    assert clip.size == 16000
    assert np.sum(clip ** 2) == pytest.approx(np.sum(signal ** 2), rel=1e-3)


def test_short_clip_is_padded(tmp_path):
    path = tmp_path / "short.wav"
    sf.write(path, tone_word(np.random.default_rng(0), 0.3, 16000, 200.0), 16000)
    assert load_clip(path).shape == (16000,)


@pytest.mark.parametrize("case,reason", [
    ("missing", "file not found"),
    ("corrupt", "unreadable audio"),
    ("empty", "empty audio"),
    ("silent", "silent audio"),
    ("truncated", "unreadable audio|empty audio"),
])
def test_bad_audio_gives_one_line_naming_the_file(tmp_path, case, reason):
    path = tmp_path / f"{case}.wav"
    if case == "corrupt":
        path.write_bytes(b"RIFF\x00\x00garbage" * 10)
    elif case == "empty":
        sf.write(path, np.zeros(0, np.float32), 16000)
    elif case == "silent":
        sf.write(path, np.zeros(16000, np.float32), 16000)
    elif case == "truncated":
        sf.write(path, np.zeros(16000, np.float32) + 0.1, 16000)
        path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(KwsError, match=reason) as info:
        load_clip(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message


def test_wrong_sample_rate_is_refused_when_a_rate_is_required(tmp_path):
    path = tmp_path / "8k.wav"
    sf.write(path, tone_word(np.random.default_rng(0), 0.5, 8000, 200.0), 8000)
    with pytest.raises(KwsError, match="sample rate 8000 Hz, expected 16000 Hz"):
        load_clip(path, expected_rate=16000)
