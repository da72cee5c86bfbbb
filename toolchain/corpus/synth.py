"""`kws synth`: an offline multilingual corpus spoken by a synthesizer, written in the MSWC layout.

Five voice families (`engine`): espeak-ng (each utterance varies voice variant, speed, pitch, pitch
range and amplitude), Kokoro-82M (mixed voice styles, speed, level; see `corpus/kokoro.py`), MBROLA
(diphones of recorded speakers as pitch personas, speed, level; six languages: `corpus/mbrola.py`),
Open JTalk's HTS voices (every word as a Japanese loanword; pitch and vocal-tract personas, speed,
level: `corpus/openjtalk.py`) and SVOX Pico (pitch personas of its recorded speakers, speed, level;
five languages, kept for evaluation: see `corpus/pico.py`).
Voices are split once, by seed, into train/dev/test pools, so no test voice ever speaks a training clip.
Each word is synthesised in a fresh forked process: espeak-ng carries state between syntheses, and
a fixed sequence from a fresh engine is what makes the bytes repeat.
"""
from __future__ import annotations

import csv
import hashlib
import io
import multiprocessing
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf
from tqdm import tqdm

from toolchain.artifacts import write_bytes_atomic, write_json_atomic
from toolchain.audio import SAMPLE_RATE, resample
from toolchain.corpus.background import make_background
from toolchain.corpus.espeak import VOICE_VARIANTS, Espeak, Utterance
from toolchain.corpus.kokoro import Kokoro, KokoroUtterance, kokoro_voices
from toolchain.corpus.languages import word_list
from toolchain.corpus.mbrola import Mbrola, MbrolaUtterance, check_mbrola_languages, mbrola_voices
from toolchain.corpus.openjtalk import OpenJTalk, OpenJTalkUtterance, openjtalk_voices
from toolchain.corpus.pico import Pico, PicoUtterance, check_pico_languages, pico_voices
from toolchain.corpus.mswc import SPLITS_COLUMNS
from toolchain.corpus.ogg import with_fixed_serial
from toolchain.corpus.speech_commands import BACKGROUND_DIR
from toolchain.errors import KwsError
from toolchain.outputs import claim_folder

MSWC_RATE = 48000
SPLIT_VOICES = {"test": 6, "dev": 4}  # the rest of VOICE_VARIANTS speak training clips
SET_NAMES = {"train": "TRAIN", "dev": "DEV", "test": "TEST"}
ENGINES = ("espeak", "kokoro", "mbrola", "openjtalk", "pico")
ENGINE_CLASSES = {"espeak": lambda seed: Espeak(), "kokoro": Kokoro, "mbrola": Mbrola, "openjtalk": OpenJTalk, "pico": Pico}


@dataclass(frozen=True)
class SynthConfig:
    languages: tuple[str, ...]
    words_per_language: int | None = None
    variants: int = 24
    seed: int = 0
    engine: str = "espeak"

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise KwsError(f"--engine {self.engine!r}: choose one of {', '.join(ENGINES)}")
        if self.words_per_language is not None and self.words_per_language < 1:
            raise KwsError(f"--words-per-language {self.words_per_language}: give at least 1 (or leave it out for every word)")
        if self.engine == "pico":
            check_pico_languages(self.languages)
        if self.engine == "mbrola":
            check_mbrola_languages(self.languages)


@dataclass(frozen=True)
class PlannedClip:
    language: str
    word: str
    link: str  # relative to <lang>/clips/, as in MSWC
    split: str
    utterance: Utterance | KokoroUtterance | MbrolaUtterance | OpenJTalkUtterance | PicoUtterance


def speakers(engine: str, seed: int) -> tuple[str, ...]:
    if engine == "pico":
        return pico_voices()
    if engine == "mbrola":
        return mbrola_voices()
    if engine == "openjtalk":
        return openjtalk_voices()
    return VOICE_VARIANTS if engine == "espeak" else tuple(v.name for v in kokoro_voices(seed))


def voice_splits(seed: int, engine: str = "espeak") -> dict[str, tuple[str, ...]]:
    order = list(speakers(engine, seed))
    np.random.default_rng(seed).shuffle(order)
    n_test, n_dev = SPLIT_VOICES["test"], SPLIT_VOICES["dev"]
    return {"test": tuple(order[:n_test]), "dev": tuple(order[n_test:n_test + n_dev]), "train": tuple(order[n_test + n_dev:])}


def _word_seed(seed: int, language: str, word: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}/{language}/{word}".encode()).digest()[:8], "little")


def split_counts(variants: int) -> dict[str, int]:
    """At least one dev and one test clip per word; about 70/10/20 otherwise."""
    if variants < 3:
        raise KwsError(f"--variants {variants}: need at least 3 (one each for train, dev and test)")
    n_test = max(1, round(variants * 0.2))
    n_dev = max(1, round(variants * 0.1))
    return {"train": variants - n_test - n_dev, "dev": n_dev, "test": n_test}


def plan_word(config: SynthConfig, language: str, index: int, word: str) -> list[PlannedClip]:
    rng = np.random.default_rng(_word_seed(config.seed, language, word))
    pools = voice_splits(config.seed, config.engine)
    clips = []
    for split, count in split_counts(config.variants).items():
        voices = list(rng.permutation(pools[split]))
        for k in range(count):
            voice = voices[k % len(voices)]
            if config.engine == "espeak":
                utterance = Utterance(
                    text=word, language=language, voice=voice,
                    rate_wpm=int(rng.integers(120, 221)), pitch=int(rng.integers(20, 81)),
                    pitch_range=int(rng.integers(20, 91)), volume=int(rng.integers(60, 161)),
                )
            elif config.engine == "mbrola":
                utterance = MbrolaUtterance(text=word, language=language, voice=voice, rate_wpm=int(rng.integers(120, 221)),
                                            pitch_offset=int(rng.integers(-8, 9)), volume=int(rng.integers(60, 161)))
            elif config.engine == "pico":
                utterance = PicoUtterance(text=word, language=language, voice=voice,
                                          rate=int(rng.integers(80, 131)), volume=int(rng.integers(30, 81)))  # 100 peaks at full scale
            else:  # Kokoro and Open JTalk: a speed and a peak level
                speaking = OpenJTalkUtterance if config.engine == "openjtalk" else KokoroUtterance
                utterance = speaking(text=word, language=language, voice=voice,
                                     speed=round(float(rng.uniform(0.8, 1.25)), 3), gain=round(float(rng.uniform(0.3, 0.95)), 3))
            link = f"w{index:03d}/{language}_w{index:03d}_{split}{k:02d}_{voice}.opus"
            clips.append(PlannedClip(language, word, link, split, utterance))
    return clips


def plan(config: SynthConfig) -> list[PlannedClip]:
    clips = []
    for language in config.languages:
        words = word_list(language)
        if config.words_per_language is not None:
            words = words[: config.words_per_language]
        for index, word in enumerate(words):
            clips += plan_word(config, language, index, word)
    return clips


def to_mswc_clip(audio_int16: np.ndarray, rate: int) -> np.ndarray:
    """A 1 s 48 kHz float clip with the word in the middle, as MSWC ships its opus files."""
    audio = resample(audio_int16.astype(np.float32) / 32768.0, rate, MSWC_RATE)
    audio = audio[:MSWC_RATE]
    pad = MSWC_RATE - audio.size
    return np.pad(audio, (pad // 2, pad - pad // 2))


def encode_opus(audio: np.ndarray, serial: int = 0) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, audio, MSWC_RATE, format="OGG", subtype="OPUS")
    return with_fixed_serial(buffer.getvalue(), serial)


def _synthesise_word(job: tuple[Path, SynthConfig, list[PlannedClip]]) -> int:
    """Runs in a fresh process: all variants of one word, in plan order."""
    root, config, clips = job
    engine = ENGINE_CLASSES[config.engine](config.seed)
    for clip in clips:
        seed = _word_seed(0, clip.language, clip.link)
        audio = to_mswc_clip(engine.speak(clip.utterance, seed), engine.sample_rate)
        write_bytes_atomic(root / clip.language / "clips" / clip.link, encode_opus(audio, seed & 0xFFFFFFFF))
    return len(clips)


def _babble_words(seed: int, languages: tuple[str, ...], count: int = 60) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    engine = Espeak()
    out = []
    for k in range(count):
        language = languages[k % len(languages)]
        words = word_list(language)
        utterance = Utterance(words[int(rng.integers(len(words)))], language, str(rng.choice(VOICE_VARIANTS)),
                              int(rng.integers(120, 221)), int(rng.integers(20, 81)), 50, 100)
        out.append(resample(engine.speak(utterance, seed + k).astype(np.float32) / 32768.0, engine.sample_rate, SAMPLE_RATE))
    return out


def _write_babble_background(root: Path, seed: int, languages: tuple[str, ...]) -> None:
    make_background(root / BACKGROUND_DIR, seed, _babble_words(seed, languages))


def _written_by(planned: list[PlannedClip], languages: tuple[str, ...]) -> Callable[[str], bool]:
    """Whether a file (relative to the corpus) is one this plan writes: such a folder is resumed."""
    own = {f"{c.language}/clips/{c.link}" for c in planned} | {f"{lang}/{lang}_splits.csv" for lang in languages} | {"manifest.json"}
    # hidden names are the temp files of atomic writes a killed run left behind
    return lambda rel: rel in own or rel.startswith(f"{BACKGROUND_DIR}/") or Path(rel).name.startswith(".")


def synthesise(config: SynthConfig, out: Path, workers: int | None = None, progress: bool = True, force: bool = False) -> dict:
    """Write (or finish writing) the corpus; words whose clips all exist are skipped (resume).

    `out` must be absent, empty, or hold only files this config writes (an interrupted or smaller
    run); anything else only with `force` (files of the plan are overwritten, nothing is deleted).
    """
    out = Path(out)
    planned = plan(config)
    with claim_folder(out, force=force, own=_written_by(planned, config.languages)):
        return _synthesise(config, out, planned, workers, progress)


def _synthesise(config: SynthConfig, out: Path, planned: list[PlannedClip], workers: int | None, progress: bool) -> dict:
    by_word: dict[tuple[str, str], list[PlannedClip]] = {}
    for clip in planned:
        by_word.setdefault((clip.language, clip.word), []).append(clip)
    todo = [(out, config, clips) for clips in by_word.values()
            if not all((out / c.language / "clips" / c.link).is_file() for c in clips)]
    workers = workers or min(2, os.cpu_count() or 1)
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, maxtasksperchild=1) as pool:
        jobs = pool.imap_unordered(_synthesise_word, todo)
        for _ in tqdm(jobs, total=len(todo), desc="synth words", unit="word", disable=not progress):
            pass
        background = pool.apply_async(_write_babble_background, (out, config.seed, config.languages))
        background.get()
    for language in config.languages:
        rows = [c for c in planned if c.language == language]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(SPLITS_COLUMNS)
        for c in rows:
            writer.writerow([SET_NAMES[c.split], c.link, c.word, "True", f"{config.engine}-{c.utterance.voice}", "NA"])
        write_bytes_atomic(out / language / f"{language}_splits.csv", buffer.getvalue().encode("utf-8"))
    summary = {
        "kind": "synthetic_mswc_corpus",
        "config": {**asdict(config), "languages": list(config.languages)},
        "voices": {k: list(v) for k, v in voice_splits(config.seed, config.engine).items()},
        "clips": len(planned),
        "synthesised_words_this_run": len(todo),
        "words": {lang: sorted({c.word for c in planned if c.language == lang}) for lang in config.languages},
    }
    write_json_atomic(out / "manifest.json", summary)
    return summary
