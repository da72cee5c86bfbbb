"""Multilingual Spoken Words Corpus layout: <lang>/clips/<word>/<file>.opus + <lang>_splits.csv."""
from __future__ import annotations

import csv
from pathlib import Path

from toolchain.corpus.records import ClipRecord, ScanResult
from toolchain.errors import KwsError, bad_input

SPLITS_COLUMNS = ("SET", "LINK", "WORD", "VALID", "SPEAKER", "GENDER")
SET_TO_SPLIT = {"TRAIN": "train", "DEV": "dev", "TEST": "test"}


def splits_csv(root: Path, language: str) -> Path:
    """MSWC ships the CSV either inside the language folder or beside it."""
    for candidate in (root / language / f"{language}_splits.csv", root / f"{language}_splits.csv"):
        if candidate.is_file():
            return candidate
    raise bad_input(root / language, f"no {language}_splits.csv in the language folder or beside it")


def languages_in(root: Path) -> list[str]:
    if not root.is_dir():
        raise bad_input(root, "corpus folder not found")
    found = sorted(p.name for p in root.iterdir() if (p / "clips").is_dir())
    if not found:
        raise bad_input(root, "no <lang>/clips/ folders: not an MSWC-layout corpus")
    return found


def read_mswc(root: Path, languages: list[str] | None = None, words: set[str] | None = None, strict: bool = False) -> ScanResult:
    """Read split CSVs; rows whose clip is missing are skipped and listed (or fail with `strict`)."""
    root = Path(root)
    result = ScanResult()
    for language in languages or languages_in(root):
        csv_path = splits_csv(root, language)
        clips_dir = root / language / "clips"
        if not clips_dir.is_dir():
            raise bad_input(clips_dir, "missing clips folder")
        with open(csv_path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in SPLITS_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise bad_input(csv_path, f"missing columns {missing} (expected header {','.join(SPLITS_COLUMNS)})")
            for line, row in enumerate(reader, start=2):
                word = row["WORD"].strip()
                if words is not None and word not in words:
                    continue
                split = SET_TO_SPLIT.get(row["SET"].strip().upper())
                path = clips_dir / row["LINK"].strip()
                problem = None
                if split is None:
                    problem = f"{csv_path}:{line}: unknown SET {row['SET']!r}"
                elif not path.is_file():
                    problem = f"{path}: listed in {csv_path.name} line {line} but not found"
                if problem:
                    if strict:
                        raise KwsError(problem)
                    result.skipped.append((str(path), problem))
                    continue
                result.clips.append(ClipRecord(path, word, language, row["SPEAKER"].strip(), split))
    return result
