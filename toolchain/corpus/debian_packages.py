"""Debian packages unpacked under the kws cache: voices and engines that PyPI does not carry.

apt-get runs with a configuration of its own (sources with contrib and non-free, lists and cache in
a temporary folder), so neither root nor a change to the system's package sources is needed; the
libraries the machine lacks come along, as apt would install them. The unpacked tree replaces the
folder in one rename, with a marker listing what it holds and PACKAGES listing the versions.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

from toolchain.errors import KwsError

DEBIAN_RELEASE = "bookworm"
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
VERSIONS_FILE = "PACKAGES"  # the .deb files an install was unpacked from, one per line


def can_fetch() -> bool:
    return shutil.which("apt-get") is not None and shutil.which("dpkg-deb") is not None and DEBIAN_KEYRING.is_file()


def unpack(packages: list[str], home: Path, what: str, layout: str, env_hint: str,
           prepare: Callable[[Path], None] | None = None, with_dependencies: bool = True) -> Path:
    """Fetch `packages` (and the libraries they need) and unpack them as `home` (idempotent).

    `layout` goes into the install marker: an install laid out otherwise is redone. `prepare` gets
    the unpacked tree before it moves into place. `what` and `env_hint` name the install in errors.
    Data packages (`with_dependencies=False`) come alone: nothing has to run them.
    """
    marker = home / ".installed"
    if marker.is_file() and set(marker.read_text().split()) >= {*packages, layout}:
        return home
    if home.exists() and not marker.is_file() and any(home.iterdir()):
        raise KwsError(f"{home}: exists and was not made by the kws {what} install; move it away or set {env_hint}")
    if not can_fetch():
        raise KwsError(f"{what}: fetching Debian's packages needs apt-get, dpkg-deb and Debian's archive keyring "
                       f"({DEBIAN_KEYRING}, package debian-archive-keyring)")
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
                raise KwsError(f"{what}: `apt-get {' '.join(arguments[:2])}` failed: {run.stderr.strip().splitlines()[-1:]}")
            return run.stdout

        apt_get("update")
        # the libraries this machine lacks, as apt would install them
        missing = []
        if with_dependencies:
            simulated = apt_get("--simulate", "install", "--no-install-recommends", *packages)
            missing = [line.split()[1] for line in simulated.splitlines() if line.startswith("Inst ")]
        apt_get("download", *sorted(set(packages) | set(missing)))
        root = staging / "root"
        debs = sorted((apt / "debs").glob("*.deb"))
        for deb in debs:
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        if prepare is not None:
            prepare(root)
        (root / ".installed").write_text("\n".join([*packages, layout]) + "\n")
        (root / VERSIONS_FILE).write_text("".join(f"{deb.name}\n" for deb in debs))  # read by installed_versions
        if home.exists():
            shutil.rmtree(home)  # an earlier install with fewer packages (it has the marker), or an empty folder
        os.replace(root, home)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return home


def installed_versions(home: Path) -> dict[str, str]:
    """Package → Debian version of an install `unpack` made (its .deb names: name_version_arch.deb,
    the epoch's colon written %3a); empty for an install without the list."""
    listing = home / VERSIONS_FILE
    if not listing.is_file():
        return {}
    versions = {}
    for deb in listing.read_text().split():
        name, version, *_ = deb.split("_")
        versions[name] = version.replace("%3a", ":")
    return versions
