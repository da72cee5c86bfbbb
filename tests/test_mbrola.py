"""The MBROLA voice family: Debian's packages fetched without root, personas, MSWC layout, repeatable."""
import shutil

import numpy as np
import pytest

from toolchain.corpus.mbrola import VOICES, Mbrola, MbrolaUtterance, mbrola_voices, persona_voice
from toolchain.corpus.debian_packages import DEBIAN_KEYRING, can_fetch
from toolchain.corpus.mbrola_setup import install
from toolchain.corpus.synth import SPLIT_VOICES, SynthConfig
from toolchain.errors import KwsError


@pytest.fixture(scope="module")
def persian_voice():
    """The engine and the one Persian voice (the smallest set that speaks a whole language), in the kws cache."""
    if not can_fetch():
        pytest.skip(f"MBROLA is fetched from Debian's packages: needs apt-get, dpkg-deb and {DEBIAN_KEYRING} (debian-archive-keyring)")
    return install(languages=("fa",))


def test_personas_cycle_a_languages_voices_then_pitch():
    assert persona_voice("de", "p00") == ("de1", 20) and persona_voice("de", "p08") == ("de1", 35)
    assert persona_voice("fa", "p00")[0] == persona_voice("fa", "p29")[0] == "ir1"
    assert len({persona_voice("fr", v) for v in mbrola_voices()}) == len(mbrola_voices())  # nine voices × five pitches ≥ 30
    assert len(mbrola_voices()) > sum(SPLIT_VOICES.values())
    assert "en" not in VOICES  # Festival packages the English MBROLA voices: reserved for the independent check


def test_a_language_without_mbrola_voice_is_refused_before_any_work(tmp_path):
    with pytest.raises(KwsError, match="no MBROLA voice for en, sw"):
        SynthConfig(("de", "en", "sw"), 1, 3, 0, "mbrola")
    assert not (tmp_path / "out").exists()


def test_a_missing_install_names_the_setup_command(tmp_path):
    with pytest.raises(KwsError, match="make mbrola-setup"):
        Mbrola(home=tmp_path / "nothing-here")


def test_mbrola_speaks_the_same_samples_every_time(persian_voice):
    engine = Mbrola(home=persian_voice)
    low, high = (MbrolaUtterance("سلام", "fa", voice, 160, 0, 100) for voice in ("p00", "p04"))
    first = engine.speak(low)
    assert first.dtype == np.int16 and engine.sample_rate == 16000 and 0.2 * 16000 < first.size < 2 * 16000
    assert np.array_equal(first, engine.speak(low))
    assert not np.array_equal(first, engine.speak(high))  # another pitch level


def test_mbrola_corpus_is_mswc_voice_disjoint_and_byte_identical(persian_voice, synthesised_twice, monkeypatch):
    monkeypatch.setenv("KWS_MBROLA_HOME", str(persian_voice))
    result = synthesised_twice(SynthConfig(("fa",), 2, 5, 0, "mbrola"))
    assert all(c.speaker.startswith("mbrola-p") for c in result.clips)


def test_an_extra_corpus_may_speak_only_some_languages(synth_corpus, tmp_path):
    """MBROLA has no English voice: a second corpus without English still trains beside one that has it."""
    from toolchain.corpus.mswc import read_mswc
    from toolchain.embedding.train import TrainConfig, _scan_corpora

    partial = tmp_path / "partial"
    shutil.copytree(synth_corpus / "de", partial / "de")
    clips, _ = _scan_corpora(TrainConfig(synth_corpus, tmp_path / "e", ("en", "de"), extra_corpora=(partial,)))
    assert len(clips) == len(read_mswc(synth_corpus, ["en", "de"]).clips) + len(read_mswc(partial, ["de"]).clips)
    with pytest.raises(KwsError, match="speaks none of the languages"):
        _scan_corpora(TrainConfig(synth_corpus, tmp_path / "e", ("en",), extra_corpora=(partial,)))


def test_a_model_card_of_an_embedding_trained_on_mbrola_states_the_voices_licence(tiny_embedding):
    import json

    from toolchain.embedding.train import MBROLA_LICENCE_LINE, model_card

    manifest = json.loads((tiny_embedding / "manifest.json").read_text())
    assert MBROLA_LICENCE_LINE not in model_card(manifest)
    manifest["corpus"]["voice_families"] = ["espeak", "kokoro", "mbrola"]
    assert MBROLA_LICENCE_LINE in model_card(manifest).splitlines()
