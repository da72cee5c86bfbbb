"""Where a benchmark's figures go: `benchmarks/results/<name>.json`, with the revision and machine that made them.

The README's figure tables are rendered from these files (`benchmarks/render_readme.py`), so a figure
in the README always names the code and the machine it was measured on.
"""
from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

from toolchain.artifacts import write_json_atomic

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "benchmarks" / "results"


def current_revision() -> str:
    """HEAD's commit, with "+dirty" when tracked files other than results differ from it (the figures may not be HEAD's)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()

    try:
        revision = git("rev-parse", "HEAD")
        # results files do not change what a benchmark measures (one run writes several of them)
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)benchmarks/results"))
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return revision + ("+dirty" if dirty else "")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """What the figures depend on: cores the process may use, the CPU, the GPUs TensorFlow would use, the load."""
    import tensorflow as tf

    return {"nproc": len(os.sched_getaffinity(0)), "cpu_model": _cpu_model(), "machine": platform.machine(),
            "gpus": [gpu.name for gpu in tf.config.list_physical_devices("GPU")],
            "python": platform.python_version(), "tensorflow": tf.__version__,
            "load_average_1min": round(os.getloadavg()[0], 1)}  # timings on a shared machine depend on it


def write_results(name: str, figures: dict, results_dir: Path = RESULTS_DIR, git_revision: str | None = None) -> Path:
    """Write `figures` (flat: name → number or short string) as `<results_dir>/<name>.json`, atomically.

    `git_revision` for figures of another tree than this checkout (ci.py measures a clean clone of HEAD).
    """
    nested = [key for key, value in figures.items() if isinstance(value, (dict, list))]
    if nested:
        raise ValueError(f"figures must be flat; nested values under {nested}")
    path = Path(results_dir) / f"{name}.json"
    write_json_atomic(path, {
        "benchmark": name,
        "command": " ".join(["python", os.path.relpath(sys.argv[0], REPO), *sys.argv[1:]]),
        "git_revision": git_revision or current_revision(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "figures": figures,
    })
    print(f"figures written to {os.path.relpath(path, REPO)}")
    return path
