"""The firmware tests' Debian packages are listed twice: the Makefile installs them (`make test` as
root), toolchain/firmware/tools.py names them when they are missing. The two must not drift."""
from __future__ import annotations

import re
from pathlib import Path

from toolchain.firmware import tools

ROOT = Path(__file__).resolve().parents[1]


def test_makefile_installs_the_packages_the_firmware_tools_ask_for():
    match = re.search(r"^FIRMWARE_PACKAGES := (.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert match, "Makefile: no FIRMWARE_PACKAGES line"
    assert tuple(match.group(1).split()) == tools.DEBIAN_PACKAGES
    assert " ".join(tools.DEBIAN_PACKAGES) in tools.INSTALL_HINT


def test_make_test_runs_the_package_step_first():
    makefile = (ROOT / "Makefile").read_text()
    prerequisites = re.search(r"^test:(.*)$", makefile, re.MULTILINE).group(1).split()
    assert "firmware-packages" in prerequisites
