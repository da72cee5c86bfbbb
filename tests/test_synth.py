"""`kws synth`: MSWC layout, voice-disjoint splits, byte-identical reruns, resume."""
import hashlib

from click.testing import CliRunner

from toolchain.cli import main
from toolchain.corpus.languages import EMBEDDING_LANGUAGES, HELDOUT_LANGUAGES, word_list
from toolchain.corpus.mswc import read_mswc
from toolchain.corpus.synth import voice_splits


def _digest(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "manifest.json"}


def test_synth_cli_writes_mswc_with_voice_disjoint_splits_and_repeats(tmp_path):
    runner = CliRunner()
    args = ["synth", "--languages", "en,de,fr", "--words-per-language", "5", "--variants", "6"]
    first = runner.invoke(main, args + ["--out", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    result = read_mswc(tmp_path / "a")
    assert len(result.clips) == 3 * 5 * 6 and not result.skipped
    voices = {split: {c.speaker for c in result.clips if c.split == split} for split in ("train", "dev", "test")}
    assert all(voices.values())
    assert not voices["train"] & voices["test"] and not voices["train"] & voices["dev"] and not voices["dev"] & voices["test"]
    assert (tmp_path / "a" / "_background_noise_" / "babble.wav").is_file()
    second = runner.invoke(main, args + ["--out", str(tmp_path / "b")])
    assert second.exit_code == 0
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    other_seed = runner.invoke(main, args + ["--seed", "1", "--out", str(tmp_path / "c")])
    assert other_seed.exit_code == 0
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_synth_resumes_only_missing_words(tmp_path):
    from toolchain.corpus.synth import SynthConfig, synthesise

    config = SynthConfig(("en",), 3, 3, 0)
    synthesise(config, tmp_path, progress=False)
    before = _digest(tmp_path)
    victim = next((tmp_path / "en" / "clips").rglob("*.opus"))
    victim.unlink()
    summary = synthesise(config, tmp_path, progress=False)
    assert summary["synthesised_words_this_run"] == 1
    assert _digest(tmp_path) == before


def test_language_groups_and_word_lists():
    assert len(EMBEDDING_LANGUAGES) == 9 and len(HELDOUT_LANGUAGES) >= 8
    assert not set(EMBEDDING_LANGUAGES) & set(HELDOUT_LANGUAGES)
    total = sum(len(word_list(lang)) for lang in EMBEDDING_LANGUAGES + HELDOUT_LANGUAGES)
    assert total >= 300
    for lang in EMBEDDING_LANGUAGES + HELDOUT_LANGUAGES:
        words = word_list(lang)
        assert len(words) == len(set(words)), lang
    pools = voice_splits(0)
    assert not set(pools["train"]) & set(pools["test"])


def test_bad_variants_and_language_are_clear(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["synth", "--languages", "xx", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "no word list for language 'xx'" in result.output
    result = runner.invoke(main, ["synth", "--languages", "en", "--variants", "2", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--variants 2" in result.output
