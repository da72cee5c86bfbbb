"""The Pico voice family (evaluation only): its five languages, MSWC layout, repeatable, voice-disjoint."""
import hashlib

import numpy as np
import pytest

from toolchain.corpus.pico import LINGWARE, Pico, PicoUtterance, pico_voices
from toolchain.corpus.synth import SPLIT_VOICES, SynthConfig, synthesise
from toolchain.errors import KwsError


def _digest(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "manifest.json"}


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


def test_pico_corpus_is_mswc_voice_disjoint_and_byte_identical(tmp_path):
    from toolchain.audio import load_clip
    from toolchain.corpus.mswc import read_mswc

    config = SynthConfig(("en", "it"), 2, 5, 0, "pico")
    synthesise(config, tmp_path / "a", progress=False)
    result = read_mswc(tmp_path / "a")
    assert len(result.clips) == 2 * 2 * 5 and not result.skipped
    assert all(c.speaker.startswith("pico-p") for c in result.clips)
    speakers = {split: {c.speaker for c in result.clips if c.split == split} for split in ("train", "dev", "test")}
    assert not speakers["train"] & speakers["test"] and not speakers["train"] & speakers["dev"]
    clip = load_clip(result.clips[0].path)
    assert np.sqrt(np.mean((clip / 32768.0) ** 2)) > 0.01 and np.abs(clip.astype(np.int32)).max() < 32767  # a word, unclipped
    synthesise(config, tmp_path / "b", progress=False)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
