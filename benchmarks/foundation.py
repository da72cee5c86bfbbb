"""Synthesis and featurisation throughput on this machine (clips/s), measured in one run."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from toolchain.corpus.mswc import read_mswc
from toolchain.corpus.synth import SynthConfig, plan, synthesise
from toolchain.features import featurise


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = SynthConfig(("en", "de", "fr", "es"), 10, 12, 0)
        started = time.perf_counter()
        synthesise(config, Path(tmp), progress=False)
        synth_s = time.perf_counter() - started
        clips = len(plan(config))
        records = read_mswc(Path(tmp)).clips
        started = time.perf_counter()
        featurise(records, cache_dir=None, progress=False)
        feat_s = time.perf_counter() - started
        featurise(records, cache_dir=Path(tmp) / "cache", progress=False)  # fills the cache
        started = time.perf_counter()
        featurise(records, cache_dir=Path(tmp) / "cache", progress=False)
        cached_s = time.perf_counter() - started
    print(f"synthesis:      {clips} clips in {synth_s:.1f} s = {clips / synth_s:.1f} clips/s (espeak-ng + 48 kHz opus, 2 workers)")
    print(f"featurisation:  {len(records)} clips in {feat_s:.1f} s = {len(records) / feat_s:.1f} clips/s (opus decode + micro frontend, no cache)")
    print(f"cached re-read: {len(records)} clips in {cached_s:.2f} s = {len(records) / cached_s:.1f} clips/s "
          f"(decode + cache hit; {feat_s / cached_s:.1f}× the uncached run)")


if __name__ == "__main__":
    main()
