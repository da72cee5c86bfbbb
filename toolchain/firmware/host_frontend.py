"""The firmware's micro frontend compiled for the host: TFLM's C library from the same tree with the
firmware's `frontend_tables.c`, built with the host C compiler (no FMA contraction, as on the
device) and cached.

`toolchain.frontend` runs TensorFlow's `audio_microfrontend` op, TensorFlow's own build of that
library, whose set-up computes the window and filterbank tables in double precision where TFLM's
copy uses single precision; `frontend_tables.c` redoes them TensorFlow's way on the device. This
build checks the emulated firmware's features against the C code it was built from, and that code
against `toolchain.frontend` (tests/test_host_frontend.py: identical).

    frames = tflm_c_features(audio_int16, frontend)   # int8 (frames, channels)
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import numpy as np

from toolchain.errors import KwsError
from toolchain.firmware.build import CACHE_ROOT
from toolchain.firmware.tools import REPO_ROOT, TflmTree, find_tflm_tree
from toolchain.frontend import FrontendParams, quantize_filterbank

DRIVER = REPO_ROOT / "firmware_export" / "host" / "frontend_main.c"
TABLES = REPO_ROOT / "firmware_export" / "common" / "frontend_tables.c"
FLAGS = ("-O2", "-ffp-contract=off", "-DFIXED_POINT=16", "-w")


def tflm_c_features(audio: np.ndarray, frontend: FrontendParams, tree: TflmTree | None = None) -> np.ndarray:
    """int8 features of `audio` (int16) from the TFLM tree's micro frontend run on the host."""
    binary = _binary(tree or find_tflm_tree())
    p = frontend
    args = [p.sample_rate, p.window_size_ms, p.window_step_ms, p.num_channels, p.upper_band_limit, p.lower_band_limit,
            p.smoothing_bits, p.even_smoothing, p.odd_smoothing, p.min_signal_remaining, int(p.enable_pcan), p.pcan_strength,
            p.pcan_offset, p.gain_bits, int(p.enable_log), p.scale_shift]
    result = subprocess.run([str(binary), *map(repr, args)], input=np.asarray(audio, np.int16).tobytes(), capture_output=True)
    if result.returncode != 0:
        raise KwsError(f"{binary}: host micro frontend failed ({result.stderr.decode(errors='replace').strip()[:200]})")
    rows = [[int(v) for v in line.split()] for line in result.stdout.decode().splitlines()]
    filterbank = np.array(rows, np.int64).reshape(-1, p.num_channels)
    return quantize_filterbank(filterbank, frontend)


def _binary(tree: TflmTree) -> Path:
    compilers = {"cc": shutil.which("cc") or shutil.which("gcc"), "c++": shutil.which("c++") or shutil.which("g++")}
    if not all(compilers.values()):
        raise KwsError("no host C/C++ compiler (cc, c++): apt-get install build-essential")
    lib = tree.frontend_dir / "tensorflow/lite/experimental/microfrontend/lib"
    sources = sorted(p for p in lib.iterdir() if p.suffix in (".c", ".cc") and not p.stem.endswith(("_test", "_io", "_main")))
    digest = hashlib.sha256(" ".join(FLAGS).encode())
    for path in [DRIVER, TABLES, TABLES.with_suffix(".h"), *sources]:
        digest.update(path.name.encode() + path.read_bytes())
    binary = CACHE_ROOT / f"host-frontend-{digest.hexdigest()[:16]}"
    if binary.is_file():
        return binary
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    includes = [f"-I{TABLES.parent}", f"-I{tree.frontend_dir}", f"-I{tree.frontend_dir / 'third_party' / 'kissfft'}"]
    scratch = CACHE_ROOT / f"{binary.name}.build"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    objects = []
    for source in [DRIVER, TABLES, *sources]:
        compiler = compilers["c++"] if source.suffix == ".cc" else compilers["cc"]
        obj = scratch / f"{source.stem}.o"
        _compile([compiler, *FLAGS, *includes, "-c", str(source), "-o", str(obj)])
        objects.append(str(obj))
    _compile([compilers["c++"], "-o", str(scratch / "frontend_main"), *objects, "-lm"])
    (scratch / "frontend_main").replace(binary)
    shutil.rmtree(scratch, ignore_errors=True)
    return binary


def _compile(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise KwsError(f"host micro frontend: `{' '.join(command[:2])} ... {command[-1]}` failed: {result.stderr.strip()[:300]}")
