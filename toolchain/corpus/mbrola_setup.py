"""`make mbrola-setup`: Debian's MBROLA engine, voices and espeak-ng 1.51 unpacked under the kws cache.

apt-get runs with a configuration of its own (sources with contrib and non-free, lists and cache in
a temporary folder), so neither root nor a change to the system's package sources is needed; the
libraries the machine lacks (libpulse0 for espeak-ng's audio library, …) come along, as apt would
install them. The unpacked tree replaces the folder in one rename; PACKAGES lists the versions.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from toolchain.corpus.mbrola import HOME_ENV, VOICES, mbrola_home
from toolchain.errors import KwsError

DEBIAN_RELEASE = "bookworm"
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
ENGINE_PACKAGES = ("mbrola", "espeak-ng", "libespeak-ng1", "espeak-ng-data", "libpcaudio0", "libsonic0")
LAYOUT = "layout:3"  # in the install marker: an install laid out otherwise is redone


def install(home: Path | None = None, languages: tuple[str, ...] = tuple(VOICES)) -> Path:
    """Fetch and unpack the engine and the voices of `languages` under `home` (idempotent)."""
    home = Path(home or mbrola_home())
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None or not DEBIAN_KEYRING.is_file():
        raise KwsError(f"mbrola: fetching Debian's packages needs apt-get, dpkg-deb and Debian's archive keyring "
                       f"({DEBIAN_KEYRING}, package debian-archive-keyring)")
    packages = list(ENGINE_PACKAGES) + [f"mbrola-{v}" for lang in languages for v in VOICES[lang]]
    marker = home / ".installed"
    if marker.is_file() and set(marker.read_text().split()) >= {*packages, LAYOUT}:
        return home
    if home.exists() and not marker.is_file() and any(home.iterdir()):
        raise KwsError(f"{home}: exists and was not made by `make mbrola-setup`; move it away or set {HOME_ENV}")
    home.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{home.name}-", dir=home.parent))  # same filesystem: the rename is atomic
    try:
        apt = staging / "apt"
        for sub in ("lists/partial", "cache/archives/partial", "debs"):
            (apt / sub).mkdir(parents=True)
        (apt / "sources.list").write_text(
            f"deb [signed-by={DEBIAN_KEYRING}] http://deb.debian.org/debian "
            f"{DEBIAN_RELEASE} main contrib non-free\n")
        options = [f"-oDir::Etc::SourceList={apt / 'sources.list'}", "-oDir::Etc::SourceParts=/nonexistent",
                   f"-oDir::State::Lists={apt / 'lists'}", f"-oDir::Cache={apt / 'cache'}", "-oDebug::NoLocking=1"]

        def apt_get(*arguments: str) -> str:
            run = subprocess.run(["apt-get", *options, *arguments], cwd=apt / "debs", capture_output=True, text=True)
            if run.returncode != 0:
                raise KwsError(f"mbrola: `apt-get {' '.join(arguments[:2])}` failed: {run.stderr.strip().splitlines()[-1:]}")
            return run.stdout

        apt_get("update")
        # the libraries this machine lacks, as apt would install them
        simulated = apt_get("--simulate", "install", "--no-install-recommends", *packages)
        missing = [line.split()[1] for line in simulated.splitlines() if line.startswith("Inst ")]
        apt_get("download", *sorted(set(packages) | set(missing)))
        root = staging / "root"
        debs = sorted((apt / "debs").glob("*.deb"))
        for deb in debs:
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        # espeak-ng looks for a voice in <data>/mbrola/ before /usr/share/mbrola/: link the unpacked ones there
        data = next(root.glob("usr/lib/*/espeak-ng-data"))
        (data / "mbrola").mkdir(exist_ok=True)
        for voice in sorted((root / "usr" / "share" / "mbrola").iterdir()):
            (data / "mbrola" / voice.name).symlink_to(os.path.relpath(voice / voice.name, data / "mbrola"))
        (root / ".installed").write_text("\n".join([*packages, LAYOUT]) + "\n")
        (root / "PACKAGES").write_text("".join(f"{deb.name}\n" for deb in debs))  # versions
        if home.exists():
            shutil.rmtree(home)  # an earlier install with fewer voices (it has the marker), or an empty folder
        os.replace(root, home)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return home


if __name__ == "__main__":
    import sys

    try:
        print(f"MBROLA engine and voices ({', '.join(VOICES)}) at {install()}")
    except KwsError as exc:
        sys.exit(f"error: {exc}")
