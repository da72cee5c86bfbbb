"""Turn any audio file into the 16 kHz mono 1 s clip the frontend expects, or say why not."""
from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from toolchain.errors import bad_input

SAMPLE_RATE = 16000
CLIP_SAMPLES = SAMPLE_RATE
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".opus")
SILENCE_RMS = 1e-4  # -80 dBFS: below this a "recording" carries no signal


def resample(audio: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    if rate == target:
        return audio.astype(np.float32)
    divisor = gcd(rate, target)
    return resample_poly(audio, target // divisor, rate // divisor).astype(np.float32)


def load_audio(path: Path, expected_rate: int | None = None) -> np.ndarray:
    """Decode any soundfile-readable file to float32 mono at 16 kHz.

    `expected_rate` makes a different native rate an error instead of a resample.
    """
    path = Path(path)
    if not path.exists():
        raise bad_input(path, "file not found")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises several types for corrupt files
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise bad_input(path, f"unreadable audio ({reason})") from exc
    if data.size == 0:
        raise bad_input(path, "empty audio (0 samples)")
    if expected_rate is not None and rate != expected_rate:
        raise bad_input(path, f"sample rate {rate} Hz, expected {expected_rate} Hz")
    if not np.all(np.isfinite(data)):
        raise bad_input(path, "audio contains NaN or infinite samples")
    return resample(data.mean(axis=1), rate)


def check_audible(audio: np.ndarray, path: Path | str) -> None:
    if audio.size == 0:
        raise bad_input(path, "empty audio (0 samples)")
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    if rms < SILENCE_RMS:
        raise bad_input(path, f"silent audio (RMS {rms:.1e}, below {SILENCE_RMS:.0e})")


def clipping_fraction(audio: np.ndarray) -> float:
    return float(np.mean(np.abs(audio) >= 0.999))


def center_on_energy(audio: np.ndarray, length: int = CLIP_SAMPLES) -> np.ndarray:
    """Cut the `length` samples with the most energy (the word), or zero-pad around a short clip."""
    if audio.size <= length:
        pad = length - audio.size
        return np.pad(audio, (pad // 2, pad - pad // 2)).astype(np.float32)
    energy = np.cumsum(np.concatenate([[0.0], np.square(audio, dtype=np.float64)]))
    window = energy[length:] - energy[:-length]
    start = int(np.argmax(window))
    return audio[start : start + length].astype(np.float32)


def to_int16(audio: np.ndarray) -> np.ndarray:
    """Inverse of soundfile's int16 → float (x / 32768), so stored shots round-trip exactly."""
    return np.clip(np.round(audio * 32768.0), -32768, 32767).astype(np.int16)


def load_clip(path: Path, expected_rate: int | None = None) -> np.ndarray:
    """A 1 s, 16 kHz, int16 clip centred on the spoken word."""
    audio = load_audio(path, expected_rate)
    check_audible(audio, path)
    return to_int16(center_on_energy(audio))


def require_rate(path: Path | str, rate: int) -> None:
    """One rule for every command that reads a recording: at least the frontend's 16 kHz (higher
    rates are resampled down; lower ones lack the band up to 7.5 kHz the filterbank reads)."""
    if rate < SAMPLE_RATE:
        raise bad_input(path, f"sample rate {rate} Hz is below {SAMPLE_RATE} Hz: the frontend needs the band up to 7.5 kHz; "
                              f"record at {SAMPLE_RATE} Hz or more")
