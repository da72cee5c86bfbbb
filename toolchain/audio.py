"""Turn any audio file into the 16 kHz mono audio the frontend expects, or say why not.

One rule for every command that reads audio (`enroll` shots, `simulate` and `features` corpus clips,
`stream` recordings): below 16 kHz is refused, because the frontend's filterbank reads the band up to
7.5 kHz and upsampling cannot bring back what the recording never held; higher rates are resampled
to 16 kHz; several channels are averaged. A clip (a shot, a corpus clip) is one second: a longer
one is cut to its loudest second (the word), a shorter one padded with silence on both sides
(`load_clip`). A `stream` recording is taken whole; the window slides over it.
"""
from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf

from toolchain.errors import KwsError, bad_input

SAMPLE_RATE = 16000
MIN_SAMPLE_RATE = SAMPLE_RATE  # lower rates lack the band up to 7.5 kHz that the frontend reads
CLIP_SAMPLES = SAMPLE_RATE
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".opus")
SILENCE_RMS = 1e-4  # -80 dBFS: below this a "recording" carries no signal

# Speech in a recording: 20 ms frames every 10 ms of its 300–3400 Hz band (a voice's energy; brown
# noise and mains hum mostly lie below), the quietest tenth of frames as its noise floor, speech =
# frames 6 dB above that floor. Measured on a `kws synth` corpus (19 languages, 608 clips): every clip
# has 230 ms or more (median 460 ms); the same clips inside 2 s of coloured noise still have ≥ 130 ms
# at 20 dB SNR (1 % below 170 ms); 1 s of white, pink or brown noise or hum has ≤ 10 ms, a 10 ms or
# one-sample cut 0 ms, a 100 ms fragment of a word 120 ms. A word needs at least MIN_SPEECH_MS.
SPEECH_BAND_HZ = (300.0, 3400.0)
SPEECH_FRAME_MS, SPEECH_HOP_MS = 20, 10
NOISE_FLOOR_PERCENTILE = 10
SPEECH_ABOVE_FLOOR_DB = 6.0
MIN_SPEECH_MS = 150


def audio_files(folder: Path, suffixes: tuple[str, ...] = AUDIO_SUFFIXES, recursive: bool = False) -> list[Path]:
    """The recordings in a folder (and its subfolders, `recursive`), sorted. Hidden files and folders hold
    no recordings: `.x.wav`, and the `._x.wav` metadata files macOS writes beside every file on a foreign
    disk. A missing folder has none."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in (folder.rglob("*") if recursive else folder.iterdir())
                  if p.is_file() and p.suffix.lower() in suffixes
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def check_sample_rate(path: Path | str, rate: int) -> None:
    """The rate rule shared by enroll, stream and simulate (see the module docstring)."""
    if rate < MIN_SAMPLE_RATE:
        raise bad_input(path, f"sample rate {rate} Hz is below {MIN_SAMPLE_RATE} Hz: the frontend needs the band up to "
                              f"7.5 kHz; record at {MIN_SAMPLE_RATE} Hz or more")


def resample(audio: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    if rate == target:
        return audio.astype(np.float32)
    divisor = gcd(rate, target)
    from scipy.signal import resample_poly  # scipy.signal takes ~1 s to import: only when resampling

    return resample_poly(audio, target // divisor, rate // divisor).astype(np.float32)


def load_audio(path: Path, expected_rate: int | None = None) -> np.ndarray:
    """Decode any soundfile-readable file to float32 mono at 16 kHz (rates below are refused).

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
    check_sample_rate(path, rate)
    if not np.all(np.isfinite(data)):
        raise bad_input(path, "audio contains NaN or infinite samples")
    return resample(data.mean(axis=1), rate)


def check_audible(audio: np.ndarray, path: Path | str) -> None:
    if audio.size == 0:
        raise bad_input(path, "empty audio (0 samples)")
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    if rms < SILENCE_RMS:
        raise bad_input(path, f"silent audio (RMS {rms:.1e}, below {SILENCE_RMS:.0e})")


def speech_ms(audio: np.ndarray, rate: int = SAMPLE_RATE) -> int:
    """Milliseconds of `audio` (float, at `rate`) that stand out from its own noise floor as speech does."""
    frame, hop = rate * SPEECH_FRAME_MS // 1000, rate * SPEECH_HOP_MS // 1000
    if audio.size < frame:
        return 0
    from scipy.signal import butter, sosfilt

    band = sosfilt(butter(4, SPEECH_BAND_HZ, "bandpass", fs=rate, output="sos"), audio.astype(np.float64))
    frames = np.lib.stride_tricks.sliding_window_view(band, frame)[::hop]
    level_db = 10 * np.log10(np.maximum(np.mean(np.square(frames), axis=1), 1e-10))
    floor_db = np.percentile(level_db, NOISE_FLOOR_PERCENTILE)
    return int(np.sum(level_db > floor_db + SPEECH_ABOVE_FLOOR_DB)) * SPEECH_HOP_MS


def trim_silence(audio: np.ndarray, peak: float, rate: int, margin_s: float = 0.03) -> np.ndarray:
    """Drop a synthesizer's leading and trailing near-silence (below 1 % of the peak), keeping a margin:
    the corpus centres 1 s around the word, and a long silent tail would push the word out."""
    loud = np.flatnonzero(np.abs(audio) > 0.01 * peak)
    pad = int(margin_s * rate)
    return audio[max(0, loud[0] - pad): loud[-1] + pad]


def trim_synthesized(pcm: np.ndarray, rate: int, what: str) -> np.ndarray:
    """A synthesizer's int16 output with its silent ends trimmed; a (near-)silent output is an error
    that names `what` was asked for, not a clip of nothing in the corpus."""
    peak = int(np.abs(pcm.astype(np.int32)).max()) if pcm.size else 0
    if peak < 100:
        raise KwsError(f"{what}: silent output")
    return trim_silence(pcm, peak, rate)


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

