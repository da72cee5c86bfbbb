"""How long CI takes: a clean clone of HEAD running `bash .ci/run` (venv install from PyPI included)."""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from record import REPO, write_results


def main() -> None:
    revision = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        started = time.perf_counter()
        run = subprocess.run(["bash", ".ci/run"], cwd=clone, capture_output=True, text=True)
        wall_s = time.perf_counter() - started
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    print(summary)
    if run.returncode != 0:
        sys.exit(f"CI failed (exit {run.returncode}); nothing recorded\n{run.stdout[-4000:]}{run.stderr[-2000:]}")
    passed = re.search(r"(\d+) passed", summary)
    pytest_s = re.search(r" in ([\d.]+)s", summary)
    print(f"clean clone of {revision[:12]}: `bash .ci/run` in {wall_s:.0f} s ({passed[1] if passed else '?'} tests passed)")
    write_results("ci", {"wall_s": round(wall_s), "tests": int(passed[1]) if passed else None,
                         "pytest_s": float(pytest_s[1]) if pytest_s else None}, git_revision=revision)


if __name__ == "__main__":
    main()
