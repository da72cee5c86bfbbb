"""Open JTalk's HTS voices, a fifth voice family: a statistical model of a recorded speaker driving a vocoder.

Neither espeak-ng's formant rules, Kokoro's neural network nor MBROLA's concatenated diphones: an
HMM-based parametric synthesizer (HTS) predicts the spectrum and pitch of each phoneme in context and
an MLSA vocoder renders them. Its two voices are Japanese speakers — Mei (MMDAgent, female), bundled
with `pyopenjtalk-plus` on PyPI, and NIT's m001 (male), Debian's `hts-voice-nitech-jp-atr503-m001`
fetched by `make openjtalk-setup` — so every word is said as a Japanese loanword (`loanword.py`),
the way a Japanese speaker would read it in katakana: an accented voice, which a user may well have.
Both voices are CC-BY 3.0 (Nagoya Institute of Technology); MODEL_CARD.md attributes them.

Speakers are personas: a voice at one of four pitch shifts and one of four vocal-tract scales (the
48 kHz output read as if recorded at 48 kHz × scale and resampled: formants, pitch and tempo move by
the scale, as a shorter or longer vocal tract would). The engine draws no random numbers, so the same
utterance gives the same samples every run.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from toolchain.audio import SAMPLE_RATE, trim_synthesized
from toolchain.corpus.espeak import Espeak
from toolchain.corpus.loanword import katakana
from toolchain.errors import KwsError

VOICES = ("mei", "m001")
DEBIAN_VOICE_PACKAGE = "hts-voice-nitech-jp-atr503-m001"
M001_VOICE = Path("usr/share/hts-voice/nitech-jp-atr503-m001/nitech_jp_atr503_m001.htsvoice")
HALF_TONES = (-6, -3, 0, 3)
TRACT_SCALES = (88, 94, 100, 106)  # % of the voice's own vocal-tract length⁻¹ (formant frequencies)
DEFAULT_HOME = Path(os.environ.get("KWS_CACHE", Path.home() / ".cache" / "kws")) / "openjtalk"
HOME_ENV = "KWS_OPENJTALK_HOME"
INSTALL_HINT = "run `make openjtalk-setup` (installs pyopenjtalk-plus and fetches Debian's m001 voice into the kws cache)"


def openjtalk_home() -> Path:
    return Path(os.environ.get(HOME_ENV) or DEFAULT_HOME)


def openjtalk_voices() -> tuple[str, ...]:
    return tuple(f"p{k:02d}" for k in range(len(VOICES) * len(HALF_TONES) * len(TRACT_SCALES)))


def persona(name: str) -> tuple[str, int, int]:
    """(voice, half-tone shift, vocal-tract scale %) of persona `pNN`: voices alternate fastest, then scales."""
    k = int(name[1:])
    voice = VOICES[k % len(VOICES)]
    k //= len(VOICES)
    return voice, HALF_TONES[k // len(TRACT_SCALES)], TRACT_SCALES[k % len(TRACT_SCALES)]


@dataclass(frozen=True)
class OpenJTalkUtterance:
    text: str
    language: str
    voice: str  # a persona: p00 … p31
    speed: float
    gain: float  # peak level, full scale 1


class OpenJTalk:
    """espeak-ng transcribes the word, `loanword` writes its katakana, Open JTalk speaks it."""

    sample_rate = SAMPLE_RATE

    def __init__(self, seed: int = 0, home: Path | None = None) -> None:
        try:
            import pyopenjtalk
        except ImportError as exc:
            raise KwsError(f"openjtalk: pyopenjtalk-plus is not installed; {INSTALL_HINT}") from exc
        self.home = Path(home or openjtalk_home())
        m001 = self.home / M001_VOICE
        if not m001.is_file():
            raise KwsError(f"openjtalk: voice m001 not installed at {m001}; {INSTALL_HINT}")
        self._pyopenjtalk = pyopenjtalk
        self._voice_files = {"mei": pyopenjtalk.DEFAULT_HTS_VOICE, "m001": str(m001).encode()}
        self._engines: dict[str, object] = {}
        self._espeak = Espeak()

    def _engine(self, voice: str):
        if voice not in self._engines:
            self._engines[voice] = self._pyopenjtalk.HTSEngine(self._voice_files[voice])
        return self._engines[voice]

    def loanword(self, text: str, language: str) -> str:
        return katakana(self._espeak.ipa(text, language))

    def speak(self, utterance: OpenJTalkUtterance, seed: int = 0) -> np.ndarray:
        """int16 audio at 16 kHz. `seed` is unused: the engine draws no random numbers."""
        voice, half_tone, scale = persona(utterance.voice)
        labels = self._pyopenjtalk.extract_fullcontext(self.loanword(utterance.text, utterance.language),
                                                      use_sudachi_kanji_yomi=False, predict_nani=False)  # katakana only
        engine = self._engine(voice)
        engine.set_speed(utterance.speed)  # synthesize() resets both: set them every time
        engine.add_half_tone(float(half_tone))
        audio = engine.synthesize(labels)
        rate = engine.get_sampling_frequency()
        # read `rate` Hz samples as if they were at rate × scale, then resample to 16 kHz
        up, down = SAMPLE_RATE * 100, rate * scale
        audio = resample_poly(audio, up // gcd(up, down), down // gcd(up, down))
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        what = f"openjtalk: {utterance.text!r} in {utterance.language} ({voice})"
        if peak < 1e-3:
            raise KwsError(f"{what}: silent output")
        pcm = np.clip(np.round(audio / peak * utterance.gain * 32767.0), -32768, 32767).astype(np.int16)
        return np.ascontiguousarray(trim_synthesized(pcm, SAMPLE_RATE, what))
