"""The Pico voice family (evaluation only): its five languages, MSWC layout, repeatable, voice-disjoint."""
import numpy as np
import pytest

from toolchain.corpus.pico import LINGWARE, Pico, PicoUtterance, pico_voices
from toolchain.corpus.synth import SPLIT_VOICES, SynthConfig
from toolchain.errors import KwsError


def test_pico_speaks_its_languages_the_same_samples_every_time():
    engine = Pico()
    low, high = (PicoUtterance("seven", "en", voice, 100, 60) for voice in ("p00", "p15"))
    first = engine.speak(low)
    assert first.dtype == np.int16 and 0.2 * engine.sample_rate < first.size < engine.sample_rate
    assert np.array_equal(first, engine.speak(low))  # a fresh engine per utterance: no state carried over
    assert not np.array_equal(first, engine.speak(high))  # personas differ
    assert set(LINGWARE) == {"en", "de", "es", "fr", "it"} and len(pico_voices()) > sum(SPLIT_VOICES.values())


def test_a_language_pico_cannot_speak_is_refused_before_any_work(tmp_path):
    with pytest.raises(KwsError, match="no Pico voice for pl"):
        SynthConfig(("en", "pl"), 1, 3, 0, "pico")
    assert not (tmp_path / "out").exists()


def test_pico_corpus_is_mswc_voice_disjoint_and_byte_identical(synthesised_twice):
    from toolchain.audio import load_clip

    result = synthesised_twice(SynthConfig(("en", "it"), 2, 5, 0, "pico"))
    assert all(c.speaker.startswith("pico-p") for c in result.clips)
    assert all(np.abs(load_clip(c.path).astype(np.int32)).max() < 32767 for c in result.clips)  # levels kept below clipping


def test_no_embedding_trains_on_pico_voices(tmp_path):
    from toolchain.corpus.synth import synthesise
    from toolchain.embedding.train import TrainConfig, train_embedding

    synthesise(SynthConfig(("en",), 1, 3, 0, "pico"), tmp_path / "pico", progress=False)
    with pytest.raises(KwsError, match="pico voices are kept for evaluation"):
        train_embedding(TrainConfig(tmp_path / "pico", tmp_path / "embedding", languages=("en",)), progress=False)
    assert not (tmp_path / "embedding").exists()
