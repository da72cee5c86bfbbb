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


def voice_families(clips) -> list[str]:
    """The synthesizer families speaking `clips` (`kws synth` names speakers FAMILY-VOICE; real speakers have no family)."""
    return sorted({clip.speaker.split("-", 1)[0] for clip in clips if "-" in clip.speaker})


@dataclass
class ScanResult:
    """Clips that loaded, plus the files that were skipped and why (never silently dropped)."""

    clips: list[ClipRecord] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def labels(self) -> list[str]:
        return sorted({clip.label for clip in self.clips})

    def split(self, name: str) -> list[ClipRecord]:
        return [clip for clip in self.clips if clip.split == name]
