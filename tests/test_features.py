"""`kws features` over each corpus kind, and the content + params cache key."""
import numpy as np
from click.testing import CliRunner

from toolchain.audio import load_clip
from toolchain.cli import main
from toolchain.corpus.mswc import read_mswc
from toolchain.features import cache_key, featurise
from toolchain.frontend import FrontendParams, clip_features

REFERENCE = FrontendParams()


def test_features_cli_on_synth_corpus_matches_frontend(synth_corpus, tmp_path):
    out = tmp_path / "f.npz"
    result = CliRunner().invoke(main, ["features", str(synth_corpus), "--out", str(out), "--cache", str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    data = np.load(out)
    assert data["features"].shape == (54, 49, 40) and data["features"].dtype == np.int8
    assert set(data["splits"]) == {"train", "dev", "test"}
    first = clip_features(load_clip(data["paths"][0].item()), REFERENCE)
    np.testing.assert_array_equal(data["features"][0], first)


def test_features_cli_on_speech_commands_and_folder(speech_commands_dir, tmp_path):
    runner = CliRunner()
    out = tmp_path / "sc.npz"
    assert runner.invoke(main, ["features", str(speech_commands_dir), "--out", str(out), "--cache", str(tmp_path / "c")]).exit_code == 0
    assert np.load(out)["features"].shape == (6, 49, 40)
    out2 = tmp_path / "folder.npz"
    result = runner.invoke(main, ["features", str(speech_commands_dir / "yes"), "--format", "folder", "--out", str(out2), "--cache", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert list(np.load(out2)["labels"]) == ["yes"] * 3


def test_cache_is_keyed_by_content_and_params(synth_corpus, tmp_path):
    records = read_mswc(synth_corpus).clips[:4]
    cache = tmp_path / "cache"
    first = featurise(records, REFERENCE, cache_dir=cache, progress=False)
    assert len(list(cache.rglob("*.npy"))) == 4
    again = featurise(records, REFERENCE, cache_dir=cache, progress=False)
    np.testing.assert_array_equal(first.features, again.features)
    audio = load_clip(records[0].path)
    other = FrontendParams(num_channels=32)
    assert cache_key(audio, REFERENCE) != cache_key(audio, other)
    shifted = np.roll(audio, 1)
    assert cache_key(audio, REFERENCE) != cache_key(shifted, REFERENCE)
    featurise(records, params=other, cache_dir=cache, progress=False)
    assert len(list(cache.rglob("*.npy"))) == 8



def test_a_damaged_cache_entry_is_recomputed_not_fatal(synth_corpus, tmp_path):
    records = read_mswc(synth_corpus).clips[:2]
    cache = tmp_path / "cache"
    first = featurise(records, REFERENCE, cache_dir=cache, progress=False)
    entries = sorted(cache.rglob("*.npy"))
    entries[0].write_bytes(entries[0].read_bytes()[:40])  # truncated, as by a full disk or a killed copy
    np.save(entries[1], np.zeros((3, 3), np.float32))  # the right name, the wrong array
    again = featurise(records, REFERENCE, cache_dir=cache, progress=False)
    np.testing.assert_array_equal(first.features, again.features)
    assert np.load(entries[0]).shape == REFERENCE.feature_shape  # rewritten


def test_bad_files_are_skipped_and_listed(synth_corpus, tmp_path):
    records = read_mswc(synth_corpus).clips[:3]
    broken = tmp_path / "broken.opus"
    broken.write_bytes(b"OggS" + b"\x00" * 40)
    from dataclasses import replace

    records = records + [replace(records[0], path=broken)]
    result = featurise(records, REFERENCE, cache_dir=None, progress=False)
    assert len(result.records) == 3 and result.skipped[0][0] == str(broken)
    out = tmp_path / "strict.npz"
    cli = CliRunner().invoke(main, ["features", str(tmp_path / "missing"), "--out", str(out)])
    assert cli.exit_code == 2 and "corpus folder not found" in cli.output or "recordings folder not found" in cli.output
    assert not out.exists()
