"""espeak-ng through the library bundled by `espeakng-loader` (no system install)."""
from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np

from toolchain.errors import KwsError

AUDIO_OUTPUT_SYNCHRONOUS = 2
CHARS_UTF8 = 1
PHONEMES_IPA = 0x02  # espeak_TextToPhonemes phonememode: IPA symbols
PARAM_RATE, PARAM_VOLUME, PARAM_PITCH, PARAM_RANGE = 1, 2, 3, 4

# espeak-ng voice variants (espeak-ng-data/voices/!v); each one is a "speaker" of the corpus.
VOICE_VARIANTS = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "klatt4", "croak", "whisper", "edward", "antonio",
    "belinda", "linda", "steph", "iven", "john", "max", "anika", "robert", "grandma",
)


@dataclass(frozen=True)
class Utterance:
    """Everything that decides the bytes of one synthetic recording."""

    text: str
    language: str
    voice: str
    rate_wpm: int
    pitch: int
    pitch_range: int
    volume: int


class Espeak:
    """One initialised engine. espeak-ng keeps state between calls, so give each job a fresh process."""

    def __init__(self) -> None:
        import espeakng_loader

        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self._libc = ctypes.CDLL(None)
        self.sample_rate = self._lib.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0
        )
        if self.sample_rate <= 0:
            raise KwsError(f"espeak-ng: initialisation failed (code {self.sample_rate})")
        self._chunks: list[np.ndarray] = []
        callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
        self._callback = callback_type(self._collect)
        self._lib.espeak_SetSynthCallback(self._callback)
        self._lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self._lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]

    def _collect(self, wav, count, _events) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0

    def speak(self, utterance: Utterance, seed: int = 0) -> np.ndarray:
        """int16 audio at `self.sample_rate`.

        espeak-ng seeds its noise generator from the clock at start-up (breathy and whispered
        variants draw from it); re-seeding before each utterance is what makes the samples repeat.
        """
        self._libc.srand(seed & 0x7FFFFFFF)
        self._lib.espeak_ng_SetRandSeed(ctypes.c_long(seed & 0x7FFFFFFF))
        voice = f"{utterance.language}+{utterance.voice}".encode()
        if self._lib.espeak_SetVoiceByName(voice) != 0:
            raise KwsError(f"espeak-ng: no voice {voice.decode()!r}")
        for param, value in ((PARAM_RATE, utterance.rate_wpm), (PARAM_PITCH, utterance.pitch),
                             (PARAM_RANGE, utterance.pitch_range), (PARAM_VOLUME, utterance.volume)):
            self._lib.espeak_SetParameter(param, value, 0)
        self._chunks = []
        text = utterance.text.encode("utf-8")
        self._lib.espeak_Synth(text, len(text) + 1, 0, 0, 0, CHARS_UTF8, None, None)
        self._lib.espeak_Synchronize()
        if not self._chunks:
            raise KwsError(f"espeak-ng: no audio for {utterance.text!r} in {utterance.language}")
        return np.concatenate(self._chunks)

    def ipa(self, text: str, language: str) -> str:
        """espeak-ng's IPA transcription of `text` (what another synthesizer can be told to say)."""
        if self._lib.espeak_SetVoiceByName(language.encode()) != 0:
            raise KwsError(f"espeak-ng: no voice {language!r}")
        pointer = ctypes.c_char_p(text.encode("utf-8"))
        parts = []
        while pointer.value:
            parts.append(self._lib.espeak_TextToPhonemes(ctypes.byref(pointer), CHARS_UTF8, PHONEMES_IPA).decode("utf-8"))
        return " ".join(p for p in parts if p)
