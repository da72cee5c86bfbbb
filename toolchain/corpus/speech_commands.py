"""Google Speech Commands: one folder per word, _background_noise_/, validation and testing lists."""
from __future__ import annotations

from pathlib import Path

from toolchain.audio import audio_files
from toolchain.corpus.records import ClipRecord, ScanResult
from toolchain.errors import bad_input

BACKGROUND_DIR = "_background_noise_"


def _list(root: Path, name: str) -> set[str]:
    path = root / name
    if not path.is_file():
        raise bad_input(path, "missing (Speech Commands needs validation_list.txt and testing_list.txt)")
    return {line.strip() for line in path.read_text().splitlines() if line.strip()}


def speaker_of(filename: str) -> str:
    """Speech Commands names files <speaker-hash>_nohash_<n>.wav."""
    return filename.split("_nohash_")[0]


def read_speech_commands(root: Path, language: str = "en") -> ScanResult:
    root = Path(root)
    if not root.is_dir():
        raise bad_input(root, "corpus folder not found")
    validation, testing = _list(root, "validation_list.txt"), _list(root, "testing_list.txt")
    result = ScanResult()
    for word_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        for path in audio_files(word_dir, (".wav",)):
            relative = f"{word_dir.name}/{path.name}"
            split = "test" if relative in testing else "dev" if relative in validation else "train"
            result.clips.append(ClipRecord(path, word_dir.name, language, speaker_of(path.name), split))
    if not result.clips:
        raise bad_input(root, "no <word>/*.wav clips: not a Speech Commands folder")
    return result


def background_files(root: Path) -> list[Path]:
    return audio_files(Path(root) / BACKGROUND_DIR, (".wav",))
