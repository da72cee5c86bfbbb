"""Loading a keyword's few recordings, refusing the ones that would teach it the wrong thing."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from toolchain.audio import AUDIO_SUFFIXES, SAMPLE_RATE, center_on_energy, check_audible, clipping_fraction, load_audio, to_int16
from toolchain.errors import KwsError, bad_input

MAX_CLIPPED_FRACTION = 0.01


def shot_files(path: Path) -> list[Path]:
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
        if not files:
            raise bad_input(path, f"no shots: no audio files ({', '.join(AUDIO_SUFFIXES)}) in the folder")
        return files
    raise bad_input(path, "no shots: path not found")


def native_rate(path: Path) -> int:
    import soundfile as sf

    try:
        return sf.info(str(path)).samplerate
    except Exception as exc:
        raise bad_input(path, f"unreadable audio ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from exc


def load_shots(path: Path) -> tuple[np.ndarray, list[Path]]:
    """int16 (k, 16000) clips centred on the word. Low-rate, silent or clipped shots are errors."""
    files = shot_files(path)
    clips = []
    for file in files:
        rate = native_rate(file)
        if rate < SAMPLE_RATE:
            raise bad_input(file, f"sample rate {rate} Hz is below {SAMPLE_RATE} Hz: the frontend needs the band up to 7.5 kHz")
        audio = load_audio(file)
        check_audible(audio, file)
        clipped = clipping_fraction(audio)
        if clipped > MAX_CLIPPED_FRACTION:
            raise bad_input(file, f"clipped recording ({clipped:.1%} of samples at full scale); record at a lower gain")
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
