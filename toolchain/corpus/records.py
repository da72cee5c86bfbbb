"""The one in-memory shape of a labelled clip, whatever corpus it came from."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SPLITS = ("train", "dev", "test")
SILENCE = "_silence_"
UNKNOWN = "_unknown_"


@dataclass(frozen=True)
class ClipRecord:
    path: Path
    label: str
    language: str = ""
    speaker: str = ""
    split: str = "train"


@dataclass
class ScanResult:
    """Clips that loaded, plus the files that were skipped and why (never silently dropped)."""

    clips: list[ClipRecord] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def labels(self) -> list[str]:
        return sorted({clip.label for clip in self.clips})

    def split(self, name: str) -> list[ClipRecord]:
        return [clip for clip in self.clips if clip.split == name]
