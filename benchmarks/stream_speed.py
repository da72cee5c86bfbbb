"""How fast `kws stream` is, and how much memory it takes, on the hour-long benchmark stream.

The stream is the one `kws stream-eval` scores (keywords among other words over noise, seed 0),
written once as a 16 kHz wav, for the demo keyword enrolled on `--embedding` (default: the shipped
models/embedding; demo_keyword.py). `kws stream`'s library call runs in a child process, with its
default runtime (a streaming twin hop by hop on TFLM, a window model on LiteRT checked by TFLM),
whose wall time, CPU time (its scoring workers included) and peak memory (the sum over it and its
workers, sampled every 0.1 s) are measured; a 10 s recording gives the baseline of imports and
model loading, so the extra memory a long recording costs is visible on its own.

    python benchmarks/stream_speed.py [--embedding DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import soundfile as sf

from demo_keyword import DEMO_CORPUS, demo_keyword_on, embedding_argument, embedding_figures
from record import RESULTS_DIR, write_results

OUT = Path("work/bench_stream")
MODEL = OUT / "model" / "converted"
HOURS = 1.0
# what the report says about how it scored: the checked runtime's re-runs, or the twin's hop
CHECKED_FIGURES = ("windows_rerun_on_tflm", "windows_differing_from_tflm", "windows_outside_interval")
TWIN_FIGURES = ("hop_frames",)
CALL = ("import json, sys; from toolchain.simulate.stream import stream_report\n"
        "if __name__ == '__main__':\n"
        "    report = stream_report(sys.argv[1], sys.argv[2])\n"
        "    print(json.dumps({k: v for k, v in report.items() if k != 'streaming'}))\n")


def _write_stream(path: Path) -> int:
    """The benchmark stream as a wav; returns its keyword occurrences."""
    from toolchain.convert.artifact import load_converted_model
    from toolchain.simulate.stream import _synthetic_blocks

    model = load_converted_model(MODEL)
    events: list = []
    path.parent.mkdir(parents=True, exist_ok=True)
    with sf.SoundFile(str(path), "w", model.frontend.sample_rate, 1, "PCM_16") as out:
        for block in _synthetic_blocks(model, DEMO_CORPUS, HOURS, 0, events):
            out.write(block)
    return len(events)


def _tree_rss_bytes(root: int) -> int:
    """Resident memory of `root` and every process below it."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier and pid not in tree]
        tree.update(frontier)
    total = 0
    for pid in tree:
        try:
            total += int((Path(f"/proc/{pid}/statm").read_text().split()[1])) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    return total


def _measure(audio: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.time()
    child = subprocess.Popen([sys.executable, "-c", CALL, str(MODEL), str(audio)], stdout=subprocess.PIPE, text=True)
    peak = 0
    while child.poll() is None:
        peak = max(peak, _tree_rss_bytes(child.pid))
        time.sleep(0.1)
    wall = time.time() - started
    report = json.loads(child.stdout.read())
    if child.returncode:
        raise SystemExit(f"stream failed on {audio}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"report": report, "wall_s": wall, "cpu_s": cpu, "peak_rss_mib": peak / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    embedding_argument(parser)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where stream_speed.json goes")
    args = parser.parse_args()
    demo_keyword_on(args.embedding, MODEL.parent)
    long_audio, short_audio = OUT / "stream_1h.wav", OUT / "stream_10s.wav"
    occurrences = _write_stream(long_audio)
    data, rate = sf.read(str(long_audio), frames=10 * 16000, dtype="int16")
    sf.write(str(short_audio), data, rate, subtype="PCM_16")

    baseline, run = _measure(short_audio), _measure(long_audio)
    report, seconds = run["report"], run["report"]["seconds"]
    # the checked runtime scores in worker processes beside the main one; a streaming twin runs in the main one only
    processes = 1 + report.get("workers", 0)
    figures = embedding_figures(args.embedding) | {
        "audio_s": seconds, "keyword_occurrences": occurrences, "detections": len(report["detections"]),
        "windows": report["windows"], "runtime": report["runtime"], "workers": report.get("workers", 0),
        **{key: report[key] for key in CHECKED_FIGURES + TWIN_FIGURES if key in report},
        "frontend_seam_values_differing": report["frontend_seam_values_differing"],
        "wall_s": round(run["wall_s"], 1), "times_real_time": round(seconds / run["wall_s"], 1),
        "cpu_s": round(run["cpu_s"], 1),
        # what two otherwise idle cores would take: CPU time spread over both, or all on one when only one process works
        "times_real_time_on_2_idle_cores": round(seconds / (run["cpu_s"] / min(2, processes)), 1),
        "peak_rss_mib": round(run["peak_rss_mib"]), "peak_rss_mib_10s_recording": round(baseline["peak_rss_mib"]),
        "peak_rss_extra_mib": round(run["peak_rss_mib"] - baseline["peak_rss_mib"]),
        "load_average_1min_after": round(os.getloadavg()[0], 2),
    }
    print(f"kws stream, {seconds / 3600:.2f} h ({report['windows']:,} windows, {occurrences} keywords, "
          f"{len(report['detections'])} detections): {figures['wall_s']} s = {figures['times_real_time']}× real time "
          f"({figures['cpu_s']} CPU-s: {figures['times_real_time_on_2_idle_cores']}× on 2 idle cores); peak memory "
          f"{figures['peak_rss_mib']} MiB, {figures['peak_rss_extra_mib']} MiB more than for 10 s; scored on {report['runtime']}"
          + (f"; {report['windows_rerun_on_tflm']:,} windows re-run on TFLM, {report['windows_differing_from_tflm']} differed"
             if "windows_rerun_on_tflm" in report else ""))
    write_results("stream_speed", figures, args.results_dir)


if __name__ == "__main__":
    main()
