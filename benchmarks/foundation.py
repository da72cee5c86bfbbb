"""Synthesis and featurisation throughput on this machine (clips/s), measured in one run."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from record import write_results
from toolchain.corpus.mswc import read_mswc
from toolchain.corpus.synth import SynthConfig, plan, synthesise
from toolchain.features import featurise
from toolchain.frontend import FrontendParams

SYNTH_WORKERS = 2  # the figure is per 2 processes whatever the machine, to compare across machines


def main() -> None:
    config = SynthConfig(("en", "de", "fr", "es"), 10, 12, 0)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        synthesise(config, Path(tmp), workers=SYNTH_WORKERS, progress=False)
        synth_s = time.perf_counter() - started
        clips = len(plan(config))
        records = read_mswc(Path(tmp)).clips
        started = time.perf_counter()
        featurise(records, FrontendParams(), cache_dir=None, progress=False)
        feat_s = time.perf_counter() - started
        featurise(records, FrontendParams(), cache_dir=Path(tmp) / "cache", progress=False)  # fills the cache
        started = time.perf_counter()
        featurise(records, FrontendParams(), cache_dir=Path(tmp) / "cache", progress=False)
        cached_s = time.perf_counter() - started
    print(f"synthesis:      {clips} clips in {synth_s:.1f} s = {clips / synth_s:.1f} clips/s (espeak-ng + 48 kHz opus, {SYNTH_WORKERS} workers)")
    print(f"featurisation:  {len(records)} clips in {feat_s:.1f} s = {len(records) / feat_s:.1f} clips/s (opus decode + micro frontend, no cache)")
    print(f"cached re-read: {len(records)} clips in {cached_s:.2f} s = {len(records) / cached_s:.1f} clips/s "
          f"(decode + cache hit; {feat_s / cached_s:.1f}× the uncached run)")
    write_results("foundation", {
        "languages": len(config.languages), "synth_clips": clips, "synth_workers": SYNTH_WORKERS,
        "synth_clips_per_s": round(clips / synth_s, 1),
        "featurise_clips": len(records), "featurise_clips_per_s": round(len(records) / feat_s, 1),
        "cache_hit_clips_per_s": round(len(records) / cached_s, 1), "cache_hit_speedup": round(feat_s / cached_s, 1),
    })


if __name__ == "__main__":
    main()
