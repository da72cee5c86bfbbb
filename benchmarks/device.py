"""Simulator throughput (clips/s on TFLM) and stream false accepts per hour at 90 % TPR, on the demo model."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from toolchain.simulate.clips import simulate
from toolchain.simulate.stream import stream_eval

DEMO = Path("work/demo")


def main() -> None:
    if not (DEMO / "converted" / "manifest.json").is_file():
        subprocess.run([sys.executable, "-m", "toolchain.cli", "demo", "--work", str(DEMO)], check=True)
    result = simulate(DEMO / "converted", DEMO / "demo_corpus", Path("work/bench_device/simulate.json"))
    print(f"simulator: {result['n']} clips, TFLM {result['tflm_clips_per_s']:.1f} clips/s; "
          f"float acc {result['float']['accuracy']:.4f}, TFLM int8 {result['tflm_int8']['accuracy']:.4f}, "
          f"agreement float↔int8 {result['agreement_float_int8']:.4f}, TFLM↔LiteRT {result['agreement_tflm_litert']:.4f}")
    streams = stream_eval(DEMO / "converted", DEMO / "demo_corpus", Path("work/bench_device/stream"), hours=1.0)
    at = streams["at_threshold"]
    print(f"stream-eval: {streams['hours']:.2f} h, {streams['keyword_occurrences']} keywords; at {streams['threshold']}: "
          f"TPR {at['tpr']:.3f}, {at['fa_per_hour']:.2f} FA/h; FA/h at 90% TPR: {streams['fa_per_hour_at_90_tpr']}")


if __name__ == "__main__":
    main()
