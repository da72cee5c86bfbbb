"""Background audio: coloured noises, mains hum, babble of many words, and the noise tracks and
silence clips that the embedding, the few-shot head, calibration and simulation all draw from."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile as sf

from toolchain.artifacts import write_bytes_atomic
from toolchain.audio import SAMPLE_RATE, audio_files, load_audio, to_int16

NOISE_SECONDS = 20


def coloured_noise(rng: np.random.Generator, seconds: float, exponent: float) -> np.ndarray:
    """1/f^exponent noise: 0 white, 1 pink, 2 brown."""
    n = int(seconds * SAMPLE_RATE)
    spectrum = rng.normal(size=n // 2 + 1) + 1j * rng.normal(size=n // 2 + 1)
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    spectrum[1:] /= freqs[1:] ** (exponent / 2)
    spectrum[0] = 0
    noise = np.fft.irfft(spectrum, n)
    return (noise / np.max(np.abs(noise)) * 0.5).astype(np.float32)


def hum(rng: np.random.Generator, seconds: float, mains_hz: float) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    harmonics = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * mains_hz * k * t + rng.uniform(0, 6.28)) for k in range(1, 8))
    wave = harmonics + 0.05 * coloured_noise(rng, seconds, 1.0)
    return (wave / np.max(np.abs(wave)) * 0.5).astype(np.float32)


def babble(rng: np.random.Generator, seconds: float, words: list[np.ndarray], talkers: int = 6) -> np.ndarray:
    """Several overlapping streams of random words: speech-like noise that is no keyword."""
    n = int(seconds * SAMPLE_RATE)
    mix = np.zeros(n, np.float32)
    for _ in range(talkers):
        pos = int(rng.integers(0, SAMPLE_RATE // 2))
        while pos < n:
            word = words[int(rng.integers(len(words)))]
            end = min(n, pos + word.size)
            mix[pos:end] += word[: end - pos] * rng.uniform(0.3, 1.0)
            pos = end + int(rng.integers(0, SAMPLE_RATE // 5))
    return (mix / max(1e-6, float(np.max(np.abs(mix)))) * 0.5).astype(np.float32)


def make_background(out_dir: Path, seed: int, babble_words: list[np.ndarray]) -> list[Path]:
    """Write the noise files used for augmentation and the silence class (16 kHz wav)."""
    rng = np.random.default_rng(seed)
    tracks = {
        "white_noise": coloured_noise(rng, NOISE_SECONDS, 0.0),
        "pink_noise": coloured_noise(rng, NOISE_SECONDS, 1.0),
        "brown_noise": coloured_noise(rng, NOISE_SECONDS, 2.0),
        "hum_50hz": hum(rng, NOISE_SECONDS, 50.0),
        "hum_60hz": hum(rng, NOISE_SECONDS, 60.0),
    }
    if babble_words:
        tracks["babble"] = babble(rng, NOISE_SECONDS, babble_words)
    written = []
    for name, audio in tracks.items():
        path = Path(out_dir) / f"{name}.wav"
        buffer = io.BytesIO()
        sf.write(buffer, audio, SAMPLE_RATE, format="WAV", subtype="PCM_16")
        write_bytes_atomic(path, buffer.getvalue())
        written.append(path)
    return written


def load_background(folder: Path) -> list[np.ndarray]:
    return [load_audio(p) for p in audio_files(folder, (".wav",))]


def background_tracks(corpus: Path | None, seed: int) -> list[np.ndarray]:
    """The corpus' own _background_noise_ tracks longer than 5 s if it has any, else noises made here."""
    folder = Path(corpus) / "_background_noise_" if corpus else None
    if folder is not None and folder.is_dir() and any(folder.glob("*.wav")):
        tracks = [t for t in load_background(folder) if t.size > 5 * SAMPLE_RATE]  # lead-in + clip + room to move
        if tracks:
            return tracks
    rng = np.random.default_rng(seed)
    return [coloured_noise(rng, 10, e) for e in (0.0, 1.0, 2.0)] + [hum(rng, 10, 50.0), hum(rng, 10, 60.0)]


def silence_clips(tracks: list[np.ndarray], count: int, seed: int, samples: int) -> np.ndarray:
    """`count` int16 noise excerpts of `samples` at random gains, a tenth of them digital silence
    (`samples` longer than the frontend's clip gives a lead-in)."""
    rng = np.random.default_rng(seed)
    out = np.zeros((count, samples), np.int16)
    for i in range(count):
        if i % 10 == 0:
            continue
        track = tracks[int(rng.integers(len(tracks)))]
        start = int(rng.integers(0, track.size - samples))
        out[i] = to_int16(track[start:start + samples] * rng.uniform(0.01, 0.6))
    return out
