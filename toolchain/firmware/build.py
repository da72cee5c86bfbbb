"""Build an exported CMake project with arm-none-eabi-gcc against a TFLM tree.

The project is built exactly as its README says (`cmake -S . -B build -DCMAKE_TOOLCHAIN_FILE=...
-DTFLM_DIR=... -DCMSIS_DIR=... -DKWS_FRONTEND_DIR=...`); only TFLM and the micro frontend come
from static libraries that its own CMakeLists.txt built once before, cached under
`~/.cache/kws/tflm/<key>` (key: the TFLM tree's files, the kernels, the core, the model's ops, the
compiler and the build files), so a second export with the same ops recompiles only the app.

    elf, sizes = build_project(Path("OUT/qemu-mps2-an386/kws_app"), "cmsis-nn")
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from toolchain.errors import KwsError
from toolchain.firmware.tools import TflmTree, find_tflm_tree, require_tools

CACHE_ROOT = Path(os.environ.get("KWS_CACHE", Path.home() / ".cache" / "kws")) / "tflm"
LIBRARIES = {"tflm": "libtflm.a", "kws_frontend": "libkws_frontend.a"}
JOBS = str(max(1, min(2, os.cpu_count() or 1)))


@dataclass(frozen=True)
class Image:
    """A linked firmware image and what `arm-none-eabi-size` says about it."""

    elf: Path
    text: int
    data: int
    bss: int

    @property
    def flash_bytes(self) -> int:
        return self.text + self.data

    @property
    def ram_bytes(self) -> int:
        return self.data + self.bss

    def to_dict(self) -> dict:
        return {"elf": str(self.elf), "text": self.text, "data": self.data, "bss": self.bss,
                "flash_bytes": self.flash_bytes, "static_ram_bytes": self.ram_bytes}


def configure_args(project: Path, build: Path, tree: TflmTree, kernels: str) -> list[str]:
    """The documented configure command of the project (firmware_export/README.md)."""
    return ["cmake", "-S", str(project), "-B", str(build), f"-DCMAKE_TOOLCHAIN_FILE={project / 'arm-none-eabi.cmake'}",
            f"-DTFLM_DIR={tree.tflm_dir(kernels)}", f"-DCMSIS_DIR={tree.cmsis_dir}", f"-DKWS_FRONTEND_DIR={tree.frontend_dir}"]


def build_dir(project: Path, kernels: str) -> Path:
    """Where `project` is built by default: outside the export, which holds only the files it was
    written with (a later `export-firmware --force` refuses others), one folder per project and kernel set."""
    key = hashlib.sha256(str(Path(project).resolve()).encode()).hexdigest()[:16]
    return CACHE_ROOT.parent / "firmware-builds" / key / kernels


def build_project(project: Path, kernels: str = "cmsis-nn", build: Path | None = None, tree: TflmTree | None = None) -> Image:
    """Configure and build `project` (an exported CMake app) into `build` (default: `build_dir`)."""
    require_tools()
    project = Path(project).resolve()
    if not (project / "CMakeLists.txt").is_file():
        raise KwsError(f"{project}: no CMakeLists.txt; export a CMake board first (kws export-firmware --board qemu-mps2-an386)")
    tree = tree or find_tflm_tree()
    build = Path(build) if build else build_dir(project, kernels)
    libraries = _cached_libraries(project, tree, kernels)
    _run(configure_args(project, build, tree, kernels)
         + [f"-DTFLM_LIB={libraries['tflm']}", f"-DKWS_FRONTEND_LIB={libraries['kws_frontend']}"], project)
    _run(["cmake", "--build", str(build), "-j", JOBS], project)
    return image_size(build / "kws_app.elf")


def image_size(elf: Path) -> Image:
    out = subprocess.run(["arm-none-eabi-size", str(elf)], capture_output=True, text=True)
    if out.returncode != 0:
        raise KwsError(f"{elf}: arm-none-eabi-size failed ({out.stderr.strip()[:200]})")
    text, data, bss = (int(v) for v in out.stdout.splitlines()[1].split()[:3])
    return Image(Path(elf), text, data, bss)


def _cached_libraries(project: Path, tree: TflmTree, kernels: str) -> dict[str, Path]:
    """libtflm.a and libkws_frontend.a for this project's core and ops, built once by its own CMakeLists.txt."""
    key = _library_key(project, tree, kernels)
    folder = CACHE_ROOT / key
    libraries = {target: folder / name for target, name in LIBRARIES.items()}
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    with open(CACHE_ROOT / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two builds of the same key wait for one another
        if all(path.is_file() for path in libraries.values()):
            return libraries
        scratch = CACHE_ROOT / f"{key}.build"
        shutil.rmtree(scratch, ignore_errors=True)
        _run(configure_args(project, scratch, tree, kernels), project)
        _run(["cmake", "--build", str(scratch), "-j", JOBS, "--target", *LIBRARIES], project)
        folder.mkdir(exist_ok=True)
        for target, path in libraries.items():
            shutil.copy2(scratch / LIBRARIES[target], path.with_suffix(".tmp"))
            path.with_suffix(".tmp").replace(path)
        shutil.rmtree(scratch, ignore_errors=True)
    return libraries


def _library_key(project: Path, tree: TflmTree, kernels: str) -> str:
    digest = hashlib.sha256()
    for name in ("CMakeLists.txt", "arm-none-eabi.cmake", "kws_target.cmake"):
        path = project / name
        digest.update(name.encode() + (path.read_bytes() if path.is_file() else b""))
    digest.update(kernels.encode())
    for root in (tree.tflm_dir(kernels), tree.cmsis_dir, tree.frontend_dir):
        for path in sorted(root.rglob("*")):
            if path.is_file():
                stat = path.stat()
                digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    version = subprocess.run(["arm-none-eabi-gcc", "--version"], capture_output=True, text=True).stdout.splitlines()[:1]
    digest.update("".join(version).encode())
    return f"{kernels}-{digest.hexdigest()[:16]}"


def _run(command: list[str], where: Path) -> None:
    result = subprocess.run(command, cwd=where, capture_output=True, text=True)
    if result.returncode != 0:
        log = (result.stdout + result.stderr).strip().splitlines()
        # the compiler's or CMake's diagnostic first: a line that merely names a file such as error_reporter.cc is not one
        errors = ([line for line in log if re.search(r"\berror:|CMake Error", line, re.IGNORECASE)]
                  or [line for line in log if re.search(r"\*\*\*|\bError\b", line)] or log)
        raise KwsError(f"{where}: `{' '.join(command[:3])} ...` failed: {errors[0].strip()[:300] if errors else 'no output'}")
