"""A user's own recordings: <root>/<label>/*.{wav,flac,ogg,opus}, or one flat folder of one label."""
from __future__ import annotations

from pathlib import Path

from toolchain.audio import AUDIO_SUFFIXES, audio_files
from toolchain.corpus.records import ClipRecord, ScanResult
from toolchain.errors import bad_input


def read_user_folder(root: Path, label: str | None = None, language: str = "") -> ScanResult:
    """Subfolders name the labels; a flat folder takes `label` (default: the folder's name)."""
    root = Path(root)
    if not root.is_dir():
        raise bad_input(root, "recordings folder not found")
    result = ScanResult()
    flat = audio_files(root)
    if flat:
        name = label or root.name
        result.clips += [ClipRecord(p, name, language, "user", "train") for p in flat]
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        result.clips += [ClipRecord(p, sub.name, language, "user", "train") for p in audio_files(sub)]
    if not result.clips:
        raise bad_input(root, f"no audio files ({', '.join(AUDIO_SUFFIXES)})")
    return result
