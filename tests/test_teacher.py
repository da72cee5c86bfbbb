"""The distillation teacher (EfficientWord-Net): runs only where `make distill-setup` installed it."""
import numpy as np
import pytest

from toolchain.embedding.teacher import WINDOW_SAMPLES, load_teacher, teacher_window
from toolchain.errors import KwsError


def test_clip_is_centred_in_the_teacher_window():
    clip = np.arange(16000, dtype=np.int16)
    window = teacher_window(clip)
    assert window.shape == (WINDOW_SAMPLES,) and window[:4000].max() == 0 and window[-4000:].max() == 0
    assert np.array_equal(window[4000:20000] * 32768, clip.astype(np.float32))


def test_unknown_teacher_is_refused():
    with pytest.raises(KwsError, match="--teacher 'wav2vec'"):
        load_teacher("wav2vec")


def test_teacher_embeds_words_across_voices_and_caches(synth_corpus, tmp_path, monkeypatch):
    pytest.importorskip("eff_word_net", reason="make distill-setup (pip install --no-deps efficientword-net)")
    from toolchain.audio import load_clip
    from toolchain.corpus.mswc import read_mswc

    clips = read_mswc(synth_corpus).clips
    audio = np.stack([load_clip(c.path) for c in clips])
    words = np.array([f"{c.language}/{c.label}" for c in clips])
    teacher = load_teacher(cache_dir=tmp_path)
    vectors = teacher.embed(audio)
    assert vectors.shape == (len(clips), teacher.dim) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -2)
    accuracy = np.mean(words[similarity.argmax(1)] == words)
    assert accuracy > 0.6, accuracy  # 9 words: chance is 0.11
    monkeypatch.setattr(type(teacher), "_embed_one", lambda self, clip: pytest.fail("cache miss"))
    assert np.array_equal(teacher.embed(audio), vectors)
