"""Recorded speech from Debian's packages (corpus/real_speech.py) and its use as teacher-only training data.

The fixture lays the three packages out exactly as `dpkg-deb -x` unpacks their bookworm versions
(paths taken from the packages' file lists), with Ogg Vorbis recordings as they ship.
"""
import json

import numpy as np
import pytest
import soundfile as sf

from conftest import tone_word
from toolchain.corpus import real_speech
from toolchain.corpus.real_speech import build_clips, recordings
from toolchain.errors import KwsError

RATE = 44100  # tuxpaint's and ktuberling's recordings are 44.1 kHz Vorbis


def _ogg(path, rng, silent=False):
    """Vorbis, or WAV / Opus (48 kHz) as some ktuberling translators shipped."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = 48000 if path.suffix == ".opus" else RATE
    audio = np.zeros(rate // 2, np.float32) if silent else np.concatenate(
        [np.zeros(rate // 5, np.float32), tone_word(rng, 0.6, rate, rng.uniform(110, 240)), np.zeros(rate // 5, np.float32)])
    kind = {".ogg": ("OGG", "VORBIS"), ".opus": ("OGG", "OPUS"), ".wav": ("WAV", "PCM_16")}[path.suffix]
    sf.write(path, audio, rate, format=kind[0], subtype=kind[1])


@pytest.fixture()
def unpacked(tmp_path):
    """A home as `make realspeech` leaves it: the three packages, their copyright files and PACKAGES."""
    rng = np.random.default_rng(3)
    home = tmp_path / "realspeech"
    stamps = home / "usr/share/tuxpaint/stamps"
    for name in ("animals/amphibians/frog", "food/fruit/apple", "symbols/money/us/coins/001penny"):
        for suffix in ("_desc.ogg", "_desc_fr.ogg", "_desc_ca.ogg", "_desc_ro.ogg"):  # ro: a held-out language
            _ogg(stamps / f"{name}{suffix}", rng)
        (stamps / f"{name}.png").write_bytes(b"\x89PNG")
        _ogg(stamps / f"{name}.ogg", rng)  # the stamp's sound effect, not speech
    _ogg(stamps / "animals/birds/duck_desc_da.ogg.ogg", rng)  # as shipped: a doubled suffix (da is held out)
    _ogg(stamps / "animals/birds/owl_desc_es.ogg", rng, silent=True)
    sounds = home / "usr/share/ktuberling/sounds"
    for lang, suffix in (("de", ".ogg"), ("sr@latin", ".ogg"), ("fr", ".wav"), ("nn", ".opus")):
        for word in ("eye", "nose", "hat"):
            _ogg(sounds / lang / f"{word}{suffix}", rng)
        (sounds / f"{lang}.soundtheme").write_text("<soundtheme/>")
    letters = home / "usr/share/klettres"
    for lang in ("en_GB", "pt_BR", "es"):
        for part, names in (("alpha", "abc"), ("syllab", ("ba", "be"))):
            for name in names:
                _ogg(letters / lang / part / f"{name}.ogg", rng)
        (letters / lang / "sounds.xml").write_text("<sounds/>")
    for package in real_speech.PACKAGES:
        (home / "usr/share/doc" / package).mkdir(parents=True)
        (home / "usr/share/doc" / package / "copyright").write_text(f"{package}: GPL\n")
    (home / "PACKAGES").write_text("tuxpaint-stamps-default_2022.06.04-1_all.deb\nktuberling-data_4%3a22.12.3-1_all.deb\n"
                                   "klettres-data_4%3a22.12.3-1_all.deb\n")
    (home / ".installed").write_text("\n".join([*real_speech.PACKAGES, real_speech.LAYOUT]) + "\n")
    return home


def test_each_package_layout_is_read_with_its_language(unpacked):
    found = {(r.package, r.language, r.path.name) for r in recordings(unpacked)}
    assert ("tuxpaint-stamps-default", "en", "frog_desc.ogg") in found  # no suffix: English
    assert ("tuxpaint-stamps-default", "fr", "frog_desc_fr.ogg") in found
    assert ("tuxpaint-stamps-default", "da", "duck_desc_da.ogg.ogg") in found
    assert ("ktuberling-data", "sr", "eye.ogg") in found and ("ktuberling-data", "de", "hat.ogg") in found
    assert ("ktuberling-data", "fr", "nose.wav") in found and ("ktuberling-data", "nn", "eye.opus") in found
    assert ("klettres-data", "en", "a.ogg") in found and ("klettres-data", "pt", "be.ogg") in found
    assert not any(name in ("frog.ogg", "apple.ogg") for _, _, name in found)  # sound effects are not speech
    assert len(found) == 3 * 4 + 2 + 4 * 3 + 3 * 5


def test_clips_leave_out_heldout_languages_cap_each_speaker_and_keep_licences(unpacked, tmp_path):
    out = tmp_path / "clips"
    manifest = build_clips(unpacked, out, seed=0, per_package_language=2, progress=False)
    languages = {(p.parts[-3], p.parts[-2]) for p in out.rglob("*.wav")}
    assert not {lang for _, lang in languages} & {"ro", "da", "pt"}  # held out (corpus.languages)
    assert ("ktuberling-data", "sr") in languages and ("klettres-data", "en") in languages
    for package, counts in manifest["packages"].items():
        assert all(n <= 2 for n in counts["languages"].values()), counts
        assert (out / package / "copyright").read_text() == f"{package}: GPL\n"
    assert manifest["packages"]["ktuberling-data"] == {"version": "4:22.12.3-1", "licence": "GPL-2+", "clips": 8,
                                                       "languages": {"de": 2, "fr": 2, "nn": 2, "sr": 2}}
    assert manifest["clips"] == len(list(out.rglob("*.wav"))) == 2 * 3 + 8 + 2 * 2  # the silent owl is listed, not written
    assert len(manifest["skipped"]) == 1 and "owl_desc_es.ogg" in manifest["skipped"][0]
    clip, rate = sf.read(next(out.rglob("*.wav")), dtype="int16")
    assert rate == 16000 and clip.shape == (16000,)
    again = build_clips(unpacked, tmp_path / "again", seed=0, per_package_language=2, progress=False)
    assert again == manifest and all((tmp_path / "again" / p.relative_to(out)).read_bytes() == p.read_bytes()
                                     for p in out.rglob("*.wav"))


def test_an_empty_home_says_how_to_fetch_the_packages(tmp_path):
    with pytest.raises(KwsError, match="run `make realspeech`"):
        build_clips(tmp_path, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_the_package_install_leaves_a_home_it_did_not_make_alone(tmp_path):
    home = tmp_path / "realspeech"
    home.mkdir()
    (home / "notes.txt").write_text("keep")
    with pytest.raises(KwsError, match=f"{home}: exists and was not made by the kws realspeech install.*KWS_REALSPEECH_HOME"):
        real_speech.install(home)
    assert sorted(p.name for p in home.iterdir()) == ["notes.txt"] and (home / "notes.txt").read_text() == "keep"


def test_an_install_already_made_needs_no_package_tools(tmp_path, monkeypatch):
    from toolchain.corpus import debian_packages

    home = tmp_path / "realspeech"
    home.mkdir()
    (home / ".installed").write_text("\n".join([*real_speech.PACKAGES, real_speech.LAYOUT]))
    monkeypatch.setattr(debian_packages, "can_fetch", lambda: False)
    assert real_speech.install(home) == home
    (home / ".installed").write_text("tuxpaint-stamps-default")  # an older install, short of packages: fetched again
    with pytest.raises(KwsError, match="needs apt-get"):
        real_speech.install(home)


def test_make_realspeech_refuses_a_folder_it_did_not_write(tmp_path, monkeypatch):
    import subprocess
    import sys

    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    monkeypatch.setenv("KWS_REALSPEECH_HOME", str(tmp_path / "never-fetched"))
    run = subprocess.run([sys.executable, "-m", "toolchain.corpus.real_speech", "--out", str(out)], capture_output=True, text=True)
    assert run.returncode != 0 and "notes.txt" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert (out / "notes.txt").read_text() == "keep" and not (tmp_path / "never-fetched").exists()


def test_recordings_without_labels_stay_out_of_the_word_loss():
    from toolchain.embedding.data import NO_WORD, ClipArrays, feature_dataset
    from toolchain.frontend import FrontendParams

    rng = np.random.default_rng(0)
    audio = (rng.normal(size=(6, 16000)) * 3000).astype(np.int16)
    labels = np.array([3, NO_WORD, 0, NO_WORD, 5, 2], np.int32)
    teacher = rng.normal(size=(6, 8)).astype(np.float32)
    (x, y, weights), = feature_dataset(ClipArrays(audio, labels, teacher), 6, 0, False, [], FrontendParams())
    assert np.array_equal(weights["word_logits"].numpy(), labels != NO_WORD)
    assert np.array_equal(weights["teacher_projection"].numpy(), np.ones(6))
    assert np.array_equal(y["word_logits"].numpy(), np.maximum(labels, 0)) and np.allclose(y["teacher_projection"], teacher)
    with pytest.raises(ValueError, match="teacher"):
        feature_dataset(ClipArrays(audio, labels), 6, 0, False, [], FrontendParams())


class _StandInTeacher:
    """The teacher's interface without its 88 MB model (the real one is tested where installed: test_teacher.py)."""
    name, model_sha256, dim = "efficientword-net", "0" * 64, 8

    def embed(self, audio, progress=False):
        vectors = np.stack([np.random.default_rng(int(abs(clip.astype(np.int64)).sum())).normal(size=self.dim) for clip in audio])
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_train_embedding_learns_recordings_through_the_teacher_only(synth_corpus, unpacked, tmp_path, monkeypatch):
    import csv

    from toolchain.embedding import teacher
    from toolchain.embedding.train import TrainConfig, train_embedding

    speech = tmp_path / "speech"
    build_clips(unpacked, speech, progress=False)
    monkeypatch.setattr(teacher, "load_teacher", lambda name, **_: _StandInTeacher())
    out = tmp_path / "emb"
    manifest = train_embedding(TrainConfig(synth_corpus, out, ("en",), 2, epochs=1, batch_size=8, teacher="efficientword-net",
                                           distill_speech=speech), progress=False)
    used = manifest["teacher"]["speech_without_labels"]
    assert used["clips"] == 31 and used["path"] == str(speech) and used["packages"]["klettres-data"]["licence"] == "GPL-2+"
    with open(tmp_path / "emb.work" / "history.csv") as handle:
        (row,) = csv.DictReader(handle)
    assert np.isfinite(float(row["teacher_projection_loss"])) and np.isfinite(float(row["word_logits_loss"]))
    card = (out / "MODEL_CARD.md").read_text()
    assert "Recorded speech (teacher loss only, no word labels)**: 31 clips" in card and "klettres-data 4:22.12.3-1 (GPL-2+" in card


def test_distill_speech_errors_name_the_folder_before_any_work(synth_corpus, tmp_path):
    from click.testing import CliRunner

    from toolchain.cli import main

    out = tmp_path / "emb"
    for extra, message in ((["--teacher", "efficientword-net"], f"{tmp_path / 'nowhere'}: --distill-speech: folder not found"),
                           ([], "--distill-speech: recordings without labels are learned through the teacher; add --teacher")):
        result = CliRunner().invoke(main, ["train-embedding", "--corpus", str(synth_corpus), "--out", str(out), "--languages", "en",
                                           "--distill-speech", str(tmp_path / "nowhere"), *extra])
        assert result.exit_code != 0 and message in result.output, result.output
        assert not out.exists()
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["train-embedding", "--corpus", str(synth_corpus), "--out", str(out), "--languages", "en",
                                       "--teacher", "efficientword-net", "--distill-speech", str(tmp_path / "empty")])
    assert result.exit_code != 0 and "--distill-speech: no recordings" in result.output and not out.exists()
