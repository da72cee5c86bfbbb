import numpy as np
import pytest
import soundfile as sf

from toolchain.audio import MIN_SPEECH_MS, audio_files, center_on_energy, load_audio, load_clip, speech_ms
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


def test_hidden_files_are_not_recordings(tmp_path):
    rng = np.random.default_rng(0)
    sf.write(tmp_path / "a.wav", tone_word(rng, 0.5, 16000, 200.0), 16000)
    (tmp_path / "._a.wav").write_bytes(b"\x00\x05\x16\x07" + b"\x00" * 80)  # macOS AppleDouble metadata
    sf.write(tmp_path / ".b.wav", tone_word(rng, 0.5, 16000, 200.0), 16000)
    (tmp_path / "notes.txt").write_text("not audio")
    assert audio_files(tmp_path) == [tmp_path / "a.wav"]
    assert audio_files(tmp_path / "missing") == []


def test_one_rate_rule_below_16k_is_refused_above_resampled(tmp_path):
    rng = np.random.default_rng(0)
    low, high = tmp_path / "8k.wav", tmp_path / "48k.wav"
    sf.write(low, tone_word(rng, 0.5, 8000, 200.0), 8000)
    sf.write(high, tone_word(rng, 0.5, 48000, 200.0), 48000)
    with pytest.raises(KwsError, match="sample rate 8000 Hz is below 16000 Hz: the frontend needs the band up to 7.5 kHz"):
        load_audio(low)
    assert abs(load_audio(high).size - 8000) <= 1
    # corpus clips (simulate, features) follow the same rule: the low-rate clip is skipped and says why
    from toolchain.corpus.records import ClipRecord
    from toolchain.features import decode_clips

    kept, _, skipped = decode_clips([ClipRecord(low, "w", "en", "s", "test"), ClipRecord(high, "w", "en", "s", "test")],
                                    progress=False)
    assert [r.path for r in kept] == [high] and "below 16000 Hz" in skipped[0][1]


def _in_noise(rng, word: np.ndarray, seconds: float = 2.0, snr_db: float = 20.0) -> np.ndarray:
    noise = rng.normal(0, 1, int(seconds * 16000))
    noise *= np.sqrt(np.mean(word ** 2)) / 10 ** (snr_db / 20) / np.sqrt(np.mean(noise ** 2))
    noise[8000:8000 + word.size] += word
    return noise.astype(np.float32)


def test_speech_is_measured_above_the_noise_floor():
    from toolchain.corpus.background import coloured_noise, hum

    rng = np.random.default_rng(0)
    word = tone_word(rng, 0.5, 16000, 180.0)
    assert speech_ms(word) >= MIN_SPEECH_MS
    assert speech_ms(_in_noise(rng, word)) >= MIN_SPEECH_MS
    peak = int(np.argmax(np.abs(word)))
    not_words = {"10 ms": word[peak:peak + 160], "one sample": word[peak:peak + 1], "silence": np.zeros(16000, np.float32),
                 "white noise": coloured_noise(rng, 1, 0.0), "brown noise": coloured_noise(rng, 1, 2.0), "hum": hum(rng, 1, 50.0),
                 "60 ms burst": _in_noise(rng, word[peak - 480:peak + 480], 1.0, 30.0)}
    measured = {name: speech_ms(audio) for name, audio in not_words.items()}
    assert all(ms < MIN_SPEECH_MS for ms in measured.values()), measured


def test_every_clip_of_a_synth_corpus_has_a_word_of_speech(synth_corpus):
    from toolchain.corpus.mswc import read_mswc

    measured = {clip.path.name: speech_ms(load_audio(clip.path)) for clip in read_mswc(synth_corpus).clips}
    assert min(measured.values()) >= MIN_SPEECH_MS, sorted(measured.items(), key=lambda item: item[1])[:3]
