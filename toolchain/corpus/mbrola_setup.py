"""`make mbrola-setup`: Debian's MBROLA engine, voices and espeak-ng 1.51 unpacked under the kws cache
(no root, the system's package sources untouched: `debian_packages.py`)."""
from __future__ import annotations

import os
from pathlib import Path

from toolchain.corpus.debian_packages import unpack
from toolchain.corpus.mbrola import HOME_ENV, VOICES, mbrola_home
from toolchain.errors import KwsError

ENGINE_PACKAGES = ("mbrola", "espeak-ng", "libespeak-ng1", "espeak-ng-data", "libpcaudio0", "libsonic0")
LAYOUT = "layout:3"  # in the install marker: an install laid out otherwise is redone


def _link_voices(root: Path) -> None:
    """espeak-ng looks for a voice in <data>/mbrola/ before /usr/share/mbrola/: link the unpacked ones there."""
    data = next(root.glob("usr/lib/*/espeak-ng-data"))
    (data / "mbrola").mkdir(exist_ok=True)
    for voice in sorted((root / "usr" / "share" / "mbrola").iterdir()):
        (data / "mbrola" / voice.name).symlink_to(os.path.relpath(voice / voice.name, data / "mbrola"))


def install(home: Path | None = None, languages: tuple[str, ...] = tuple(VOICES)) -> Path:
    """Fetch and unpack the engine and the voices of `languages` under `home` (idempotent)."""
    packages = list(ENGINE_PACKAGES) + [f"mbrola-{v}" for lang in languages for v in VOICES[lang]]
    return unpack(packages, Path(home or mbrola_home()), "mbrola", LAYOUT, HOME_ENV, prepare=_link_voices)


if __name__ == "__main__":
    import sys

    try:
        print(f"MBROLA engine and voices ({', '.join(VOICES)}) at {install()}")
    except KwsError as exc:
        sys.exit(f"error: {exc}")
