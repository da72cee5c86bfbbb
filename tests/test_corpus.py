"""Readers for the three corpus kinds, on fixtures in their exact real formats."""
import csv
import shutil

import numpy as np
import pytest
import soundfile as sf

from toolchain.corpus.mswc import read_mswc
from toolchain.corpus.speech_commands import background_files, read_speech_commands
from toolchain.corpus.user_folder import read_user_folder
from toolchain.errors import KwsError
from tests.conftest import tone_word


def _handmade_mswc(root):
    """MSWC as downloaded: 48 kHz opus under <lang>/clips/<word>/, splits CSV beside the clips."""
    rng = np.random.default_rng(0)
    rows = []
    for word, hz in (("casa", 200.0), ("gato", 260.0)):
        (root / "es" / "clips" / word).mkdir(parents=True)
        for i, split in enumerate(("TRAIN", "TRAIN", "DEV", "TEST")):
            name = f"common_voice_es_{hash((word, i)) & 0xFFFFFF}.opus"
            sf.write(root / "es" / "clips" / word / name, tone_word(rng, 0.7, 48000, hz), 48000, format="OGG", subtype="OPUS")
            rows.append([split, f"{word}/{name}", word, "True", f"spk{i}", "MALE"])
    with open(root / "es" / "es_splits.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["SET", "LINK", "WORD", "VALID", "SPEAKER", "GENDER"])
        writer.writerows(rows)
    return root


def test_mswc_reader_decodes_opus_and_splits(tmp_path):
    from toolchain.audio import load_clip

    result = read_mswc(_handmade_mswc(tmp_path / "mswc"))
    assert len(result.clips) == 8 and not result.skipped
    assert {c.split for c in result.clips} == {"train", "dev", "test"}
    assert {c.language for c in result.clips} == {"es"}
    clip = load_clip(result.clips[0].path)
    assert clip.shape == (16000,) and clip.dtype == np.int16


def test_mswc_missing_clip_is_skipped_and_listed_or_fails_strict(tmp_path):
    root = _handmade_mswc(tmp_path / "mswc")
    victim = next((root / "es" / "clips" / "casa").glob("*.opus"))
    victim.unlink()
    result = read_mswc(root)
    assert len(result.clips) == 7
    assert len(result.skipped) == 1 and victim.name in result.skipped[0][1]
    with pytest.raises(KwsError, match="not found"):
        read_mswc(root, strict=True)


def test_mswc_csv_missing_columns_is_one_clear_line(tmp_path):
    root = _handmade_mswc(tmp_path / "mswc")
    (root / "es" / "es_splits.csv").write_text("SET,LINK\nTRAIN,casa/x.opus\n")
    with pytest.raises(KwsError, match=r"es_splits.csv: missing columns \['WORD', 'VALID', 'SPEAKER', 'GENDER'\]"):
        read_mswc(root)


def test_missing_corpus_folder(tmp_path):
    with pytest.raises(KwsError, match="corpus folder not found"):
        read_mswc(tmp_path / "nope")


def test_speech_commands_lists_decide_the_split(speech_commands_dir):
    result = read_speech_commands(speech_commands_dir)
    assert len(result.clips) == 6
    by_speaker = {c.speaker: c.split for c in result.clips}
    assert by_speaker == {"0a7c2a8d": "train", "1b2c3d4e": "dev", "2f3e4d5c": "test"}
    assert [p.name for p in background_files(speech_commands_dir)] == ["white_noise.wav"]
    assert "_background_noise_" not in {c.label for c in result.clips}


def test_speech_commands_without_lists_is_refused(speech_commands_dir):
    (speech_commands_dir / "testing_list.txt").unlink()
    with pytest.raises(KwsError, match="testing_list.txt: missing"):
        read_speech_commands(speech_commands_dir)


def test_user_folder_flat_and_nested(tmp_path):
    rng = np.random.default_rng(0)
    flat = tmp_path / "hola"
    flat.mkdir()
    sf.write(flat / "1.wav", tone_word(rng, 0.5, 22050, 200.0), 22050)
    sf.write(flat / "2.ogg", np.stack([tone_word(rng, 2.5, 44100, 200.0)] * 2, 1), 44100, format="OGG", subtype="VORBIS")
    (flat / "notes.txt").write_text("not audio")
    result = read_user_folder(flat)
    assert [c.label for c in result.clips] == ["hola", "hola"]
    nested = tmp_path / "nested"
    (nested / "marco").mkdir(parents=True)
    shutil.copy(flat / "1.wav", nested / "marco" / "a.wav")
    assert [c.label for c in read_user_folder(nested).clips] == ["marco"]
    with pytest.raises(KwsError, match="no audio files"):
        read_user_folder(tmp_path / "nested" / "marco" / "..", label=None) if False else read_user_folder(_empty(tmp_path))


def _empty(tmp_path):
    path = tmp_path / "empty"
    path.mkdir()
    return path
