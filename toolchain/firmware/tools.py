"""Where the firmware build finds TFLM and the ARM tools, and the one line that says what is missing.

The TFLM sources are a read-only dependency laid out by tflite-micro's `create_tflm_tree.py`
(README of that folder): `cortex-m4-cmsis-nn/`, `cortex-m4-reference/`, `microfrontend/`,
`cmsis/`. It is found at `$KWS_TFLM_TREE`, else beside the repository at
`../shared/third_party/tflite-micro`.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from toolchain.errors import KwsError

TREE_ENV = "KWS_TFLM_TREE"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TREE = REPO_ROOT.parent / "shared" / "third_party" / "tflite-micro"
KERNELS = {"cmsis-nn": "cortex-m4-cmsis-nn", "reference": "cortex-m4-reference"}  # kernels → TFLM tree folder
# TFLM is C++: the compiler package alone (installed without recommends) has no <cstdarg>, <cstdint>…
DEBIAN_PACKAGES = ("gcc-arm-none-eabi", "libnewlib-arm-none-eabi", "libstdc++-arm-none-eabi-newlib", "qemu-system-arm", "cmake")
TOOLS = ("arm-none-eabi-gcc", "arm-none-eabi-g++", "arm-none-eabi-size", "cmake", "qemu-system-arm")
INSTALL_HINT = f"apt-get install {' '.join(DEBIAN_PACKAGES)} (or `make firmware-test` as root)"


@dataclass(frozen=True)
class TflmTree:
    """The folders of a TFLM source tree for Cortex-M4 builds."""

    root: Path

    def tflm_dir(self, kernels: str) -> Path:
        if kernels not in KERNELS:
            raise KwsError(f"--kernels {kernels}: choose one of {', '.join(KERNELS)}")
        return self.root / KERNELS[kernels]

    @property
    def cmsis_dir(self) -> Path:
        return self.root / "cmsis"

    @property
    def frontend_dir(self) -> Path:
        return self.root / "microfrontend"


def find_tflm_tree() -> TflmTree:
    """The TFLM tree at $KWS_TFLM_TREE or ../shared/third_party/tflite-micro; KwsError if absent."""
    root = Path(os.environ.get(TREE_ENV) or DEFAULT_TREE)
    needed = [root / folder / "tensorflow/lite/micro/micro_interpreter.h" for folder in KERNELS.values()]
    needed += [root / "microfrontend/tensorflow/lite/experimental/microfrontend/lib/frontend.h",
               root / "cmsis/Device/ARMCM4/Include/ARMCM4.h"]
    missing = [p for p in needed if not p.is_file()]
    if missing:
        raise KwsError(f"{root}: not a TFLM tree for Cortex-M4 (no {missing[0].relative_to(root)}); "
                       f"set {TREE_ENV} to the folder made as its README describes")
    return TflmTree(root.resolve())


CXX_LIBRARY = "the ARM C++ standard library headers"


def missing_tools() -> list[str]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if "arm-none-eabi-g++" not in missing and not _arm_cxx_headers():
        missing.append(CXX_LIBRARY)
    return missing


def _arm_cxx_headers() -> bool:
    """Whether arm-none-eabi-g++ finds the C++ headers TFLM includes (libstdc++-arm-none-eabi-newlib)."""
    probe = subprocess.run(["arm-none-eabi-g++", "-E", "-x", "c++", "-", "-o", os.devnull], input="#include <cstdarg>\n",
                           capture_output=True, text=True)
    return probe.returncode == 0


def require_tools() -> None:
    """KwsError naming what to install when the ARM toolchain, CMake or QEMU is missing."""
    missing = missing_tools()
    if missing:
        raise KwsError(f"{', '.join(missing)} not found: {INSTALL_HINT}")
