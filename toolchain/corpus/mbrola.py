"""MBROLA, a voice family built from recorded speakers: diphones cut from real speech, strung together.

espeak-ng reads the word and writes MBROLA's phoneme file (phonemes, durations, pitch targets);
the `mbrola` program concatenates the speaker's diphones along it. Neither espeak-ng's formant rules
nor Kokoro's neural voices, and closer to a person than either: 28 speakers of six of the embedding
languages (German 8, French 7 plus 2 Canadian French, Spanish 4, Italian 4, Dutch 2, Persian 1).
English is left out on purpose: Festival packages the English MBROLA voices (us1-3, en1), and
Festival's voices are kept for an independent check of this work.

The engine, its data and the voices are Debian packages (`mbrola`, `mbrola-*` in contrib/non-free,
Debian's espeak-ng 1.51 with its MBROLA phoneme tables), unpacked under the kws cache by
`mbrola_setup.py` (`make mbrola-setup`), no root needed. The voices' licence allows synthesis
with the MBROLA program, free of charge; a voice database may not be sold or built into a product
that is sold: the corpus and the embedding weights do not contain it (MODEL_CARD.md says so).

Speakers are personas like Pico's: persona k speaks with voice k of its language (cycling) at one
of five pitch levels, so a language with few voices has the same speaker at other pitches in
other splits (Persian's one voice speaks all of its clips).
"""
from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from toolchain.audio import SAMPLE_RATE, resample, trim_synthesized
from toolchain.errors import KwsError

VOICES = {
    "de": ("de1", "de2", "de3", "de4", "de5", "de6", "de7", "de8"),
    "es": ("es1", "es2", "es3", "es4"),
    "fa": ("ir1",),
    "fr": ("fr1", "fr2", "fr3", "fr4", "fr5", "fr6", "fr7", "ca1", "ca2"),
    "it": ("it1", "it2", "it3", "it4"),
    "nl": ("nl2", "nl3"),  # nl1 lacks diphones: it is silent on common words (moeder)
}
PERSONA_PITCHES = (20, 35, 50, 65, 80)  # espeak-ng -p (0-99, 50 is the speaker's own)
PERSONAS = 30
DEFAULT_HOME = Path(os.environ.get("KWS_CACHE", Path.home() / ".cache" / "kws")) / "mbrola"
HOME_ENV = "KWS_MBROLA_HOME"
INSTALL_HINT = "run `make mbrola-setup` (fetches Debian's mbrola, mbrola-* voices and espeak-ng 1.51 into the kws cache)"


def mbrola_voices() -> tuple[str, ...]:
    return tuple(f"p{k:02d}" for k in range(PERSONAS))


def check_mbrola_languages(languages: tuple[str, ...]) -> None:
    missing = [lang for lang in languages if lang not in VOICES]
    if missing:
        raise KwsError(f"--engine mbrola: no MBROLA voice for {', '.join(missing)} (it speaks {', '.join(VOICES)}; "
                       "English is left out, Festival packages those voices)")


def persona_voice(language: str, persona: str) -> tuple[str, int]:
    """(MBROLA voice, espeak-ng pitch) of persona `pNN` in `language`."""
    k = int(persona[1:])
    voices = VOICES[language]
    return voices[k % len(voices)], PERSONA_PITCHES[(k // len(voices)) % len(PERSONA_PITCHES)]


def mbrola_home() -> Path:
    return Path(os.environ.get(HOME_ENV) or DEFAULT_HOME)


@dataclass(frozen=True)
class MbrolaUtterance:
    text: str
    language: str
    voice: str  # a persona: p00 … p29
    rate_wpm: int
    pitch_offset: int  # added to the persona's pitch level
    volume: int  # espeak-ng -a


class Mbrola:
    """espeak-ng (Debian 1.51, unpacked under `home`) writes MBROLA phonemes; `mbrola` speaks them."""

    sample_rate = SAMPLE_RATE

    def __init__(self, seed: int = 0, home: Path | None = None) -> None:
        self.home = Path(home or mbrola_home())
        libraries = sorted(self.home.glob("usr/lib/*/libespeak-ng.so.1"))  # the multiarch folder: x86_64-linux-gnu, …
        self.espeak, self.mbrola = self.home / "usr" / "bin" / "espeak-ng", self.home / "usr" / "bin" / "mbrola"
        if not (libraries and self.espeak.is_file() and self.mbrola.is_file()):
            raise KwsError(f"mbrola: not installed at {self.home}; {INSTALL_HINT}")
        self.lib_dir = libraries[0].parent

    def voice_file(self, voice: str) -> Path:
        path = self.home / "usr" / "share" / "mbrola" / voice / voice
        if not path.is_file():
            raise KwsError(f"mbrola: voice {voice} not installed at {path.parent}; {INSTALL_HINT}")
        return path

    def speak(self, utterance: MbrolaUtterance, seed: int = 0) -> np.ndarray:
        """int16 audio at 16 kHz. `seed` is unused: both programs are deterministic."""
        check_mbrola_languages((utterance.language,))
        voice, pitch = persona_voice(utterance.language, utterance.voice)
        voice_file = self.voice_file(voice)
        # espeak-ng starts `mbrola` itself (from PATH) to load the voice, even when it only writes phonemes
        env = {**os.environ, "LD_LIBRARY_PATH": f"{self.lib_dir}:{self.lib_dir / 'pulseaudio'}",
               "PATH": f"{self.mbrola.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        espeak = subprocess.run(
            [str(self.espeak), f"--path={self.lib_dir}", "-v", f"mb-{voice}", "-s", str(utterance.rate_wpm),
             "-p", str(int(np.clip(pitch + utterance.pitch_offset, 0, 99))), "-a", str(utterance.volume), "-q", "--pho",
             utterance.text], capture_output=True, env=env)
        if espeak.returncode != 0 or not espeak.stdout.strip():
            raise KwsError(f"mbrola: espeak-ng gave no phonemes for {utterance.text!r} ({voice}): "
                           f"{espeak.stderr.decode(errors='replace').strip()[:200]}")
        with tempfile.TemporaryDirectory(prefix="kws-mbrola-") as tmp:
            wav = Path(tmp) / "out.wav"
            spoken = subprocess.run([str(self.mbrola), "-e", str(voice_file), "-", str(wav)], input=espeak.stdout,
                                    capture_output=True)
            if spoken.returncode != 0 or not wav.is_file():
                raise KwsError(f"mbrola: cannot speak {utterance.text!r} with {voice}: "
                               f"{spoken.stderr.decode(errors='replace').strip()[:200]}")
            audio, rate = sf.read(wav, dtype="int16")
        audio = trim_synthesized(audio, rate, f"mbrola: {utterance.text!r} in {utterance.language} ({voice})")
        if rate != SAMPLE_RATE:
            audio = np.round(np.clip(resample(audio.astype(np.float32) / 32768.0, rate, SAMPLE_RATE), -1, 1) * 32767).astype(np.int16)
        return np.ascontiguousarray(audio)
