"""The Open JTalk voice family: words as Japanese loanwords, HTS personas, MSWC layout, repeatable."""
import numpy as np
import pytest

from toolchain.corpus.debian_packages import DEBIAN_KEYRING, can_fetch
from toolchain.corpus.loanword import katakana
from toolchain.corpus.openjtalk import OpenJTalk, OpenJTalkUtterance, openjtalk_voices, persona
from toolchain.corpus.synth import SPLIT_VOICES, SynthConfig
from toolchain.errors import KwsError


@pytest.fixture(scope="module")
def voices_home():
    """pyopenjtalk-plus (installed by `make test`) and Debian's m001 voice in the kws cache."""
    pytest.importorskip("pyopenjtalk", reason="pyopenjtalk-plus is installed by `make test` / `make openjtalk-setup`")
    if not can_fetch():
        pytest.skip(f"the m001 voice is fetched from Debian's packages: needs apt-get, dpkg-deb and {DEBIAN_KEYRING} (debian-archive-keyring)")
    from toolchain.corpus.openjtalk_setup import install

    return install()


@pytest.mark.parametrize("ipa, kana", [
    ("sˈɛvən", "セバン"),          # en seven: schwa → a, final n → ン
    ("fˈɛnstɜ", "フェンスタ"),      # de Fenster: n before a consonant → ン, cluster s-t broken
    ("sˈɛtːe", "セッテ"),           # it sette: long consonant → ッ
    ("mˈoːntɑːk", "モーンターク"),  # de Montag: long vowels → ー, epenthetic u after k
    ("hˈaft", "ハフト"),            # fa haft: epenthetic o after t
    ("lœ̃dˈi", "レンディ"),          # fr lundi: nasal vowel → vowel + ン, di → ディ
    ("aʁɛnjˈe", "アレニェ"),        # fr araignée: n + j + vowel palatalised
    ("dʒˈallo", "ジャルロ"),        # it giallo: affricate dʒ
])
def test_words_become_the_katakana_a_japanese_speaker_would_write(ipa, kana):
    assert katakana(ipa) == kana


def test_an_ipa_symbol_without_a_stand_in_is_named():
    with pytest.raises(KwsError, match="'ʘ'"):
        katakana("ʘa")


def test_personas_are_distinct_voices_pitches_and_tracts():
    settings = [persona(v) for v in openjtalk_voices()]
    assert len(set(settings)) == len(settings) > sum(SPLIT_VOICES.values())
    assert {s[0] for s in settings} == {"mei", "m001"} and persona("p00") == ("mei", -6, 88)


def test_a_missing_voice_names_the_setup_command(tmp_path):
    pytest.importorskip("pyopenjtalk", reason="pyopenjtalk-plus is installed by `make test` / `make openjtalk-setup`")
    with pytest.raises(KwsError, match="make openjtalk-setup"):
        OpenJTalk(home=tmp_path / "nothing-here")


def test_openjtalk_speaks_the_same_samples_every_time(voices_home):
    engine = OpenJTalk(home=voices_home)
    mei, m001 = (OpenJTalkUtterance("seven", "en", voice, 1.0, 0.8) for voice in ("p00", "p01"))
    first = engine.speak(mei)
    assert first.dtype == np.int16 and engine.sample_rate == 16000 and 0.2 * 16000 < first.size < 2 * 16000
    assert np.array_equal(first, engine.speak(mei))
    assert not np.array_equal(first, engine.speak(m001))  # the other speaker


def test_openjtalk_corpus_is_mswc_voice_disjoint_and_byte_identical(voices_home, synthesised_twice, monkeypatch):
    monkeypatch.setenv("KWS_OPENJTALK_HOME", str(voices_home))
    result = synthesised_twice(SynthConfig(("en", "sw"), 2, 5, 0, "openjtalk"))
    assert all(c.speaker.startswith("openjtalk-p") for c in result.clips)


def test_a_model_card_of_an_embedding_trained_on_openjtalk_attributes_the_voices(tiny_embedding):
    import json

    from toolchain.embedding.train import OPENJTALK_LICENCE_LINE, model_card

    manifest = json.loads((tiny_embedding / "manifest.json").read_text())
    assert OPENJTALK_LICENCE_LINE not in model_card(manifest)
    manifest["corpus"]["voice_families"] = ["espeak", "kokoro", "openjtalk"]
    assert OPENJTALK_LICENCE_LINE in model_card(manifest).splitlines()
