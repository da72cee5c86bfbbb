"""Loading a keyword's few recordings, refusing the ones that would teach it the wrong thing."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from toolchain.audio import (AUDIO_SUFFIXES, MIN_SPEECH_MS, SPEECH_ABOVE_FLOOR_DB, audio_files, center_on_energy, check_audible,
                             clipping_fraction, load_audio, speech_ms, to_int16)
from toolchain.errors import KwsError, bad_input

MAX_CLIPPED_FRACTION = 0.01


def shot_files(path: Path) -> list[Path]:
    """A file, or the recordings of a folder (hidden files, such as macOS' `._x.wav`, are not shots)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = audio_files(path)
        if not files:
            raise bad_input(path, f"no shots: no audio files ({', '.join(AUDIO_SUFFIXES)}) in the folder")
        return files
    raise bad_input(path, "no shots: path not found")


def load_shots(path: Path) -> tuple[np.ndarray, list[Path]]:
    """int16 (k, 16000) clips centred on the word. Low-rate, silent, clipped shots and shots with
    less speech than a word are errors."""
    files = shot_files(path)
    clips = []
    for file in files:
        audio = load_audio(file)
        check_audible(audio, file)
        clipped = clipping_fraction(audio)
        if clipped > MAX_CLIPPED_FRACTION:
            raise bad_input(file, f"clipped recording ({clipped:.1%} of samples at full scale); record at a lower gain")
        measured = speech_ms(audio)
        if measured < MIN_SPEECH_MS:
            raise bad_input(file, f"{measured} ms of speech ({SPEECH_ABOVE_FLOOR_DB:g} dB above the recording's noise floor), "
                                  f"a word needs at least {MIN_SPEECH_MS} ms; record the whole word, close to the microphone")
        clips.append(to_int16(center_on_energy(audio)))
    return np.stack(clips), files


def check_keyword_name(name: str, taken: set[str]) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise KwsError("keyword name is empty")
    if any(c in cleaned for c in '"\\\n/'):
        raise KwsError(f"keyword {name!r}: names may not contain quotes, slashes or backslashes (they go into C strings)")
    if cleaned.startswith("_") or cleaned.lower() in {t.lower() for t in taken}:
        raise KwsError(f"keyword {name!r} clashes with an existing label ({', '.join(sorted(taken))})")
    return cleaned
