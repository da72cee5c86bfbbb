"""`make openjtalk-setup`: Debian's NIT m001 HTS voice unpacked under the kws cache (Mei ships in the
pyopenjtalk-plus wheel; the Makefile installs that)."""
from __future__ import annotations

from pathlib import Path

from toolchain.corpus.debian_packages import unpack
from toolchain.corpus.openjtalk import DEBIAN_VOICE_PACKAGE, HOME_ENV, openjtalk_home
from toolchain.errors import KwsError

LAYOUT = "layout:1"


def install(home: Path | None = None) -> Path:
    return unpack([DEBIAN_VOICE_PACKAGE], Path(home or openjtalk_home()), "openjtalk", LAYOUT, HOME_ENV)


if __name__ == "__main__":
    import sys

    try:
        print(f"Open JTalk voice m001 at {install()}")
    except KwsError as exc:
        sys.exit(f"error: {exc}")
