"""`make realspeech`: recorded human speech from Debian's packages, as 1 s clips without word labels.

Every voice family the embedding trains on is a synthesizer. Three GPL data packages hold people
reading words and short phrases aloud (a speaker or two per language); the embedding learns them
through the teacher only (`kws train-embedding --distill-speech`): where the real-speech teacher
puts a real voice. The held-out languages are left out, so that the benchmarks' held-out group
stays languages the embedding never heard in any form. The packages are fetched as the MBROLA and
Open JTalk voices are (`debian_packages.py`: no root, the system's sources untouched).
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf
from tqdm import tqdm

from toolchain.artifacts import staged_directory, write_json_atomic
from toolchain.audio import SAMPLE_RATE, audio_files, load_clip
from toolchain.corpus.debian_packages import installed_versions, unpack
from toolchain.corpus.languages import HELDOUT_LANGUAGES
from toolchain.errors import KwsError

KIND = "kws-real-speech"
HOME_ENV = "KWS_REALSPEECH_HOME"
DEFAULT_HOME = Path(os.environ.get("KWS_CACHE", Path.home() / ".cache" / "kws")) / "realspeech"
LAYOUT = "layout:1"
# package → its licence (debian/copyright of the bookworm version) and where it keeps its recordings
PACKAGES = {
    "tuxpaint-stamps-default": ("GPL-2", "usr/share/tuxpaint/stamps"),  # a stamp's description: "Une grenouille."
    "ktuberling-data": ("GPL-2+", "usr/share/ktuberling/sounds"),  # the name of each object, 26 languages
    "klettres-data": ("GPL-2+", "usr/share/klettres"),  # letters and syllables, 20 languages
}
CLIPS_PER_PACKAGE_LANGUAGE = 250  # no one package's speaker outweighs the others


@dataclass(frozen=True)
class Recording:
    package: str
    language: str
    path: Path


def realspeech_home() -> Path:
    return Path(os.environ.get(HOME_ENV, DEFAULT_HOME))


def install(home: Path | None = None) -> Path:
    """Fetch and unpack the three packages (data only: none needs a library to be read)."""
    return unpack(list(PACKAGES), Path(home or realspeech_home()), "realspeech", LAYOUT, HOME_ENV,
                  with_dependencies=False)


def _language(code: str) -> str:
    """Locale folder or suffix → the corpus's two-letter code (pt_BR → pt, sr@latin → sr)."""
    return code.split("@")[0].split("_")[0].split(".")[0].lower()


def recordings(home: Path) -> Iterator[Recording]:
    """Each package's spoken clips, in its own layout, sorted."""
    stamps = home / PACKAGES["tuxpaint-stamps-default"][1]
    for path in sorted(stamps.rglob("*_desc*.ogg")):
        suffix = path.name.split("_desc", 1)[1]  # "_fr.ogg", ".ogg" (English), "_da.ogg.ogg"
        yield Recording("tuxpaint-stamps-default", _language(suffix.lstrip("_")) if suffix.startswith("_") else "en", path)
    sounds = home / PACKAGES["ktuberling-data"][1]
    for folder in sorted(p for p in sounds.glob("*") if p.is_dir()):
        for path in audio_files(folder):  # Vorbis, WAV or Opus, as each translator recorded
            yield Recording("ktuberling-data", _language(folder.name), path)
    letters = home / PACKAGES["klettres-data"][1]
    for folder in sorted(p for p in letters.glob("*") if p.is_dir()):
        for path in audio_files(folder, recursive=True):
            yield Recording("klettres-data", _language(folder.name), path)


def build_clips(home: Path, out: Path, seed: int = 0, per_package_language: int = CLIPS_PER_PACKAGE_LANGUAGE,
                excluded: tuple[str, ...] = HELDOUT_LANGUAGES, progress: bool = True) -> dict:
    """Write `out/<package>/<language>/<name>.wav` (1 s, 16 kHz, centred on the speech) and a manifest
    naming the packages, their versions and licences; recordings that are silent or unreadable are listed."""
    groups: dict[tuple[str, str], list[Recording]] = {}
    for recording in recordings(home):
        if recording.language not in excluded:
            groups.setdefault((recording.package, recording.language), []).append(recording)
    if not groups:
        raise KwsError(f"{home}: no recordings of {', '.join(PACKAGES)}; run `make realspeech`")
    rng = np.random.default_rng(seed)
    chosen = []
    for key in sorted(groups):
        members = groups[key]
        picks = sorted(rng.choice(len(members), min(per_package_language, len(members)), replace=False))
        chosen += [members[i] for i in picks]
    versions = installed_versions(home)
    counts: dict[str, dict[str, int]] = {}
    skipped = []
    with staged_directory(out) as stage:
        for recording in tqdm(chosen, desc="real speech", unit="clip", disable=not progress):
            try:
                clip = load_clip(recording.path)
            except KwsError as exc:
                skipped.append(str(exc))
                continue
            target = stage / recording.package / recording.language / f"{recording.path.stem.split('.')[0]}.wav"
            target = _unique(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            sf.write(target, clip, SAMPLE_RATE, subtype="PCM_16")
            counts.setdefault(recording.package, {}).setdefault(recording.language, 0)
            counts[recording.package][recording.language] += 1
        for package in counts:
            copyright_file = home / "usr/share/doc" / package / "copyright"
            if copyright_file.is_file():
                shutil.copyfile(copyright_file, stage / package / "copyright")
        manifest = {
            "kind": KIND,
            "what": "recorded human speech without word labels, for the teacher loss (kws train-embedding --distill-speech)",
            "seed": seed,
            "per_package_language": per_package_language,
            "excluded_languages": list(excluded),
            "packages": {name: {"version": versions.get(name), "licence": PACKAGES[name][0],
                                "clips": sum(counts.get(name, {}).values()), "languages": counts.get(name, {})}
                         for name in PACKAGES},
            "clips": sum(sum(c.values()) for c in counts.values()),
            "skipped": skipped,
        }
        write_json_atomic(stage / "manifest.json", manifest)
    return manifest


def _unique(path: Path) -> Path:
    """Two stamps in different folders may share a name."""
    candidate, n = path, 1
    while candidate.exists():
        candidate, n = path.with_name(f"{path.stem}-{n}{path.suffix}"), n + 1
    return candidate


if __name__ == "__main__":
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="replace clips this command wrote before")
    arguments = parser.parse_args()
    try:
        from toolchain.outputs import claim_artifact

        with claim_artifact(arguments.out, KIND, force=arguments.force):
            manifest = build_clips(install(), arguments.out, arguments.seed)
    except KwsError as exc:
        sys.exit(f"error: {exc}")
    print(f"{manifest['clips']} clips of recorded speech ({', '.join(PACKAGES)}) → {arguments.out}; "
          f"skipped {len(manifest['skipped'])}")
