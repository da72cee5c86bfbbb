"""Render the README's measured figures from the files the measurements wrote.

The README marks every generated part: `<!-- figures:NAME -->` … `<!-- /figures:NAME -->`. Each NAME
has a template below fed by `benchmarks/results/<benchmark>.json` (written by the benchmarks, see
record.py) and the shipped models' `manifest.json` (written by `kws train-embedding`). `make readme`
rewrites the marked parts; `--check` (and tests/test_readme_figures.py) fails naming every part
that differs from a fresh render, so a figure pasted by hand or left behind by a rerun is caught.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from functools import cache, partial
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
RESULTS_DIR = REPO / "benchmarks" / "results"
MODELS = {"embedding": REPO / "models" / "embedding", "embedding-small": REPO / "models" / "embedding-small"}

REGION = re.compile(r"<!-- figures:(?P<name>[\w-]+) -->(?P<body>.*?)<!-- /figures:(?P=name) -->", re.S)


class Sources:
    """The measurement files a render reads, each loaded once."""

    def __init__(self, results_dir: Path = RESULTS_DIR, models: dict[str, Path] = MODELS):
        self.results_dir = Path(results_dir)
        self.models = models
        self.used: set[str] = set()

    @cache
    def record(self, benchmark: str) -> dict:
        path = self.results_dir / f"{benchmark}.json"
        if not path.is_file():
            raise SystemExit(f"error: {path} missing: run `python benchmarks/{benchmark}.py` to measure it")
        self.used.add(benchmark)
        return json.loads(path.read_text(encoding="utf-8"))

    def figures(self, benchmark: str) -> dict:
        return self.record(benchmark)["figures"]

    def benchmarks(self) -> list[str]:
        return sorted(path.stem for path in self.results_dir.glob("*.json"))

    @cache
    def manifest(self, model: str) -> dict:
        return json.loads((self.models[model] / "manifest.json").read_text(encoding="utf-8"))


def _pct(fraction: float) -> str:
    return f"{100 * fraction:.2f} %"


def _fa(per_hour: float) -> str:
    return f"{per_hour:.1f} FA/h"


def _at_tpr(f: dict, prefix: str, percent: int = 90) -> str:
    if f[f"{prefix}_fa_per_hour_at_{percent}_tpr"] is None:
        return f"{percent} % TPR never reached"
    return (f"{_fa(f[f'{prefix}_fa_per_hour_at_{percent}_tpr'])} at {percent} % TPR "
            f"(threshold {f[f'{prefix}_threshold_at_{percent}_tpr']:g})")


def _at_threshold(f: dict, prefix: str) -> str:
    return (f"at {f[f'{prefix}_threshold']:g}: TPR {f[f'{prefix}_tpr_at_threshold']:.3f}, "
            f"{_fa(f[f'{prefix}_fa_per_hour_at_threshold'])}")


def _simulation(f: dict, prefix: str) -> str:
    n = f[f"{prefix}_clips"]
    differing = round((1 - f[f"{prefix}_agreement_float_int8"]) * n)
    return (f"float {_pct(f[f'{prefix}_float_accuracy'])}, TFLM int8 {_pct(f[f'{prefix}_tflm_int8_accuracy'])}, "
            f"LiteRT int8 {_pct(f[f'{prefix}_litert_int8_accuracy'])} (drop {f[f'{prefix}_accuracy_drop_pp']:.2f} pp, "
            f"gate {f[f'{prefix}_max_drop_pp']:g} pp); agreement float↔int8 {_pct(f[f'{prefix}_agreement_float_int8'])} "
            f"({differing} of {n} clips differ), TFLM↔LiteRT {_pct(f[f'{prefix}_agreement_tflm_litert'])} "
            f"(max output diff {f[f'{prefix}_max_output_diff_tflm_litert']:g})")


def _training(manifest: dict) -> str:
    t = manifest["training"]
    return (f"{t['wall_time_s']:.0f} s; dev {t['dev_accuracy']:.3f}, test {t['test_accuracy']:.3f}, "
            f"test in settled noise {t['test_accuracy_settled_noise']:.3f}")


def _model_size(f: dict, prefix: str) -> str:
    return (f"{f[f'{prefix}_flash_bytes']:,} B flash, {f[f'{prefix}_arena_bytes']:,} B arena (TFLM, measured), "
            f"{f[f'{prefix}_macs'] / 1e6:.2f} M MACs")


def measured_table(s: Sources) -> str:
    found, few, dev = s.figures("foundation"), s.figures("fewshot"), s.figures("device")
    big, small = s.manifest("embedding"), s.manifest("embedding-small")
    scratch = " / ".join(f"{few[f'{g}_from_scratch_f1']:.3f}" for g in ("in_embedding", "out_of_embedding"))
    dtw = " / ".join(f"{few[f'{g}_dtw_f1']:.3f}" for g in ("in_embedding", "out_of_embedding"))
    rows = [
        ("what", "command", "figure"),
        (f"synthesis / featurisation ({found['synth_clips']} clips, {found['languages']} languages)", "`python benchmarks/foundation.py`",
         f"{found['synth_clips_per_s']:g} clips/s synthesis ({found['synth_workers']} workers); {found['featurise_clips_per_s']:g} clips/s "
         f"decode + frontend; {found['cache_hit_clips_per_s']:g} clips/s on a feature-cache hit ({found['cache_hit_speedup']:g}×)"),
        ("embedding training", f"`make train` ({big['training']['epochs_run']} epochs)", _training(big)),
    ]
    for group, what in (("in_embedding", "in-embedding languages ({} held-out words)"), ("out_of_embedding", "unseen languages ({} words)")):
        rows.append((f"few-shot, {what.format(few[f'{group}_words'])}", "`python benchmarks/fewshot.py`" if group == "in_embedding" else "same",
                     f"F1@{few['threshold']:g} {few[f'{group}_f1']:.3f}, FRR {few[f'{group}_frr']:.3f}, FAR {few[f'{group}_far']:.3f}"))
    rows += [
        ("baselines (same shots/splits)", "same", f"from scratch F1 {scratch}; MFCC+DTW F1 {dtw}"),
        (f"enrol one keyword, {few['enrol_shots']} shots", "same", f"{few['enrol_s']:g} s"),
        ("demo keyword model int8", "`python benchmarks/device.py` (runs `kws demo`)", _model_size(dev, "demo")),
        (f"demo float vs int8 ({dev['demo_clips']} clips, unseen voices, fresh frontend per clip)", "same", _simulation(dev, "demo")),
        ("simulator throughput", "same", f"{dev['demo_tflm_clips_per_s']:g} clips/s on TFLM"),
        (f"stream-eval, {dev['stream_hours']:g} h, {dev['stream_keywords']} keywords, inference every {dev['stream_stride_ms']} ms", "same",
         f"**{_at_tpr(dev, 'stream')}**; {_at_threshold(dev, 'stream')}"),
    ]
    if "stream_nano_hours" in dev:
        rows.append((f"same stream, Nano 33 BLE Sense pace (inference every {dev['stream_nano_stride_ms']} ms, shipped "
                     f"{dev['demo_macs'] / 1e6:.1f} M-MAC embedding)", "same", f"{_at_threshold(dev, 'stream_nano')}; {_at_tpr(dev, 'stream_nano')}"))
    if "nano_stream" in s.benchmarks():
        f = s.figures("nano_stream")
        rows.append((f"same stream, Nano 33 BLE Sense pace, demo keyword on `{f['embedding']}` ({f['embedding_architecture']}, "
                     f"{f['embedding_hash']}): {_nano_stream_pace(f)}", "`python benchmarks/nano_stream.py`",
                     f"{_at_threshold(f, 'stream')}; **{_at_tpr(f, 'stream', 95)}**; {_at_tpr(f, 'stream')}"))
    rows.append(("small embedding training", f"`make train-small` ({small['training']['epochs_run']} epochs)",
                 f"{_training(small)}; trunk {small['budget']['trunk_int8_bytes']:,} B int8, {small['budget']['trunk_macs'] / 1e6:.2f} M MACs, "
                 f"arena {small['budget']['trunk_arena_bytes']:,} B"))
    if "small_clips" in dev:
        rows += [
            (f"demo keyword on the small embedding (same shots, same {dev['small_clips']} clips)", "`python benchmarks/device.py`",
             f"{_model_size(dev, 'small')}; {_simulation(dev, 'small')}"),
            (f"same stream, small embedding, inference every {dev['stream_small_stride_ms']} ms", "same",
             f"{_at_threshold(dev, 'stream_small')}; {_at_tpr(dev, 'stream_small')}"),
            (f"same stream, small embedding at the Nano's pace (~{dev['small_nano_latency_ms_estimate']:.0f} ms estimated → every "
             f"{dev['stream_small_nano_stride_ms']} ms)", "same", f"{_at_threshold(dev, 'stream_small_nano')}; **{_at_tpr(dev, 'stream_small_nano')}**"),
        ]
    if "stream_speed" in s.benchmarks():
        rows.append(_stream_speed_row(s.figures("stream_speed")))
    if "ci" in s.benchmarks():
        ci = s.figures("ci")
        rows.append(("test suite from a clean clone", "`python benchmarks/ci.py` (a clone of HEAD runs `bash .ci/run`)",
                     f"{ci['wall_s'] // 60} min {ci['wall_s'] % 60} s incl. venv install ({ci['tests']} tests, {ci['pytest_s']:.0f} s)"))
    for benchmark in s.benchmarks():
        if benchmark not in TEMPLATED_BENCHMARKS:  # measured, but no template places its figures yet
            record = s.record(benchmark)
            rows.append((benchmark.replace("_", " "), f"`{record['command']}`",
                         f"{len(record['figures'])} figures in `benchmarks/results/{benchmark}.json`, not yet placed in this "
                         f"README (add a template to `benchmarks/render_readme.py`)"))
    lines = [f"| {' | '.join(row)} |" for row in rows]
    lines.insert(1, "|---|---|---|")
    return "\n".join(lines)


def _nano_stream_pace(f: dict) -> str:
    """The pace and the core's share by counted instructions (emulated Cortex-M4, traced CPI), the MAC model beside."""
    pace = f"~{f['nano_latency_ms_estimate']:.0f} ms"
    mac_model = f"~{f['nano_latency_ms_mac_model']:.0f} ms"
    if f["hop_ms"]:
        low, high = f["emulated_core_share_low"], f["emulated_core_share_high"]
        share, mac_share = f["emulated_core_share_estimate"], f["nano_core_share_mac_model"]
        return (f"its streaming twin every {f['stream_stride_ms']} ms on TFLM ({pace} per hop and {100 * share:.0f} % of the core "
                f"[{100 * low:.0f}–{100 * high:.0f} %] by instructions counted on the emulated Cortex-M4 and priced by the TRM, "
                f"zero wait states: issue 10's ≤ 60 % {'met' if high <= 0.6 else 'not met'}; the MAC model's estimate: "
                f"{mac_model}, {100 * mac_share:.0f} %)")
    return f"inference every {f['stream_stride_ms']} ms ({pace} by counted instructions; the MAC model's estimate: {mac_model})"


def _stream_speed_row(f: dict) -> tuple[str, str, str]:
    model = f"demo keyword on `{f['embedding']}`" if "embedding" in f else "demo model"
    if "windows_rerun_on_tflm" in f:  # the checked runtime: fast kernels in workers, TFLM where a detection can change
        scored = (f"{f['windows_rerun_on_tflm']:,} of {f['windows']:,} windows re-run on TFLM, {f['windows_differing_from_tflm']} of them "
                  f"differed from the fast kernels, {f['windows_outside_interval']} outside the bound")
        return (f"`kws stream` on the {f['audio_s'] / 3600:g} h stream ({model}, {f['workers']} workers)", "`python benchmarks/stream_speed.py`",
                f"{f['times_real_time']:g}× real time ({f['wall_s']:.0f} s; {f['times_real_time_on_2_idle_cores']:g}× on 2 idle cores, "
                f"from its CPU time), peak {f['peak_rss_mib']:,} MiB ({f['peak_rss_extra_mib']:,} MiB more than for a 10 s recording); {scored}")
    return (f"`kws stream` on the {f['audio_s'] / 3600:g} h stream ({model}, its streaming twin on TFLM in one process)",
            "`python benchmarks/stream_speed.py`",
            f"{f['times_real_time']:g}× real time ({f['wall_s']:.0f} s; {f['times_real_time_on_2_idle_cores']:g}× on an idle core, "
            f"from its CPU time), peak {f['peak_rss_mib']:,} MiB ({f['peak_rss_extra_mib']:,} MiB more than for a 10 s recording); "
            f"{f['windows']:,} hops of {f['hop_frames']} frames")


def nano_stream(s: Sources) -> str:
    """benchmarks/nano_stream.py: the streaming embedding at the Nano's pace, against issue 10's goal."""
    if "nano_stream" not in s.benchmarks():
        return "Not measured at this revision (`python benchmarks/nano_stream.py` writes `benchmarks/results/nano_stream.json`)."
    f = s.figures("nano_stream")
    goal = f["stream_fa_per_hour_at_95_tpr"] is not None and f["stream_fa_per_hour_at_95_tpr"] <= 0.5
    return (f"The demo keyword on `{f['embedding']}` ({f['embedding_architecture']}, {f['embedding_hash']}) at the Nano 33 BLE "
            f"Sense's pace, {_nano_stream_pace(f)}, on the {f['stream_hours']:g} h stream ({f['stream_keywords']} keywords): "
            f"{_at_threshold(f, 'stream')}; {_at_tpr(f, 'stream', 95)} (issue 10's goal, ≤ 0.5 FA/h at 95 % TPR: "
            f"{'met' if goal else 'not met'}); {_at_tpr(f, 'stream')}." + _window_baseline(f))


def _window_baseline(f: dict) -> str:
    if "window_stride_ms" not in f:
        return ""
    return (f" Same run, the same keyword's whole-window int8 model ({_millions(f['window_macs_per_inference'])} MACs, "
            f"~{f['window_nano_latency_ms_estimate']:.0f} ms by the MAC model) every {f['window_stride_ms']} ms as the Nano would run it "
            f"without streaming: {_at_threshold(f, 'window')}; {_at_tpr(f, 'window', 95)}; {_at_tpr(f, 'window')}.")


def _millions(value: float) -> str:
    return f"{value / 1e6:.2f} M"


def streaming_table(s: Sources) -> str:
    f = s.figures("streaming")
    architectures = [key.removesuffix("_window_macs") for key in f if key.endswith("_window_macs")]
    rows = ["| architecture | MACs / window | MACs/s, window every 20 ms / 160 ms | flash / arena (window) | streaming twin: MACs / hop, MACs/s | twin flash / arena | twin vs window on TFLM |",
            "|---|---|---|---|---|---|---|"]
    for arch in architectures:
        window = (f"{_millions(f[f'{arch}_window_macs'])} | {_millions(f[f'{arch}_window_macs_per_s_at_20ms'])} / "
                  f"{_millions(f[f'{arch}_window_macs_per_s_at_160ms'])} | {f[f'{arch}_window_flash_bytes']:,} / {f[f'{arch}_window_arena_bytes']:,} B")
        if f"{arch}_stream_macs_per_hop" in f:
            twin = (f"{_millions(f[f'{arch}_stream_macs_per_hop'])} per {f[f'{arch}_stream_hop_ms']} ms, {_millions(f[f'{arch}_stream_macs_per_s'])} | "
                    f"{f[f'{arch}_stream_flash_bytes']:,} / {f[f'{arch}_stream_arena_bytes']:,} B | "
                    f"max {f[f'{arch}_stream_max_lsb_vs_window']} LSB over {f[f'{arch}_stream_hops_compared']} hops")
        else:
            twin = "— | — | —"
        rows.append(f"| `{arch}` | {window} | {twin} |")
    return "\n".join(rows)


def _firmware_exact(f: dict) -> bool:
    return all(f[f"{m}_bit_exact_device_pipeline"] and f[f"{m}_bit_exact_end_to_end_detections"] for m in ("demo", "small"))


def firmware_compared(s: Sources) -> str:
    f = s.figures("firmware")
    verdict = "" if _firmware_exact(f) else "; NOT all bit-exact, see benchmarks/results/firmware.json"
    counts = {f["demo_inferences_compared"], f["small_inferences_compared"]}
    compared = (f"{counts.pop()} inferences each" if len(counts) == 1
                else f"{f['demo_inferences_compared']} and {f['small_inferences_compared']} inferences")
    return compared + verdict


def firmware_frontend_diff(s: Sources) -> str:
    f = s.figures("firmware")
    same = "the detections are the same" if f["demo_bit_exact_end_to_end_detections"] else "the detections DIFFER"
    return (f"{f['demo_feature_values_differing_from_toolchain_frontend']:,} of {f['demo_feature_values_compared']:,} "
            f"feature values differ; {same}")


def firmware_table(s: Sources) -> str:
    f = s.figures("firmware")
    rows = [f"| embedding | MACs | CMSIS-NN | reference kernels | Nano 33 BLE (64 MHz, CMSIS-NN at its traced cycles/instr, P = 1..3) |",
            "|---|---|---|---|---|"]
    for prefix, model in (("demo", "models/embedding"), ("small", "models/embedding-small")):
        rows.append(f"| `{model}` | {f[f'{prefix}_macs'] / 1e6:.2f} M | {f[f'{prefix}_cmsis_nn_instructions_per_inference'] / 1e6:.2f} M "
                    f"({f[f'{prefix}_cmsis_nn_instructions_per_mac']:.2f} / MAC) | {f[f'{prefix}_reference_instructions_per_inference'] / 1e6:.1f} M "
                    f"({f[f'{prefix}_reference_instructions_per_mac']:.1f} / MAC) | {f[f'{prefix}_nano_latency_ms_low']:.0f}–"
                    f"{f[f'{prefix}_nano_latency_ms_high']:.0f} ms (CPI {f[f'{prefix}_cmsis_nn_model_cpi_low']:.2f}–"
                    f"{f[f'{prefix}_cmsis_nn_model_cpi_high']:.2f}) → inference every {f[f'{prefix}_nano_stride_ms']} ms |")
    return "\n".join(rows)


def firmware_costs(s: Sources) -> str:
    f = s.figures("firmware")
    return (f"{f['demo_frontend_instructions_per_frame'] / 1e3:.1f} k instructions per 20 ms frame "
            f"({f['demo_frontend_instructions_per_second'] / 1e6:.1f} M per second of audio), the recognizer "
            f"~{round(f['demo_recognizer_instructions_per_inference'], -1):.0f} per inference")


def firmware_image(s: Sources) -> str:
    f = s.figures("firmware")
    return (f"{f['demo_text_bytes']:,} B text, {f['demo_data_bytes']:,} B data, {f['demo_bss_bytes']:,} B bss with the "
            f"{f['demo_tensor_arena_size']:,} B arena, of which TFLM used {f['demo_arena_used_bytes']:,} B on the M4 (small embedding: "
            f"{f['small_text_bytes']:,} / {f['small_data_bytes']:,} / {f['small_bss_bytes']:,} B, arena used {f['small_arena_used_bytes']:,} B)")


def firmware_reference_nano(s: Sources) -> str:
    f = s.figures("firmware")
    seconds = [f["demo_reference_instructions_per_inference"] * cpi / 64e6 for cpi in (f["cpi_low"], f["cpi_high"])]
    return f"{seconds[0]:.0f}–{seconds[1]:.0f} s"


def measured_sources(s: Sources) -> str:
    """Which revision and machine each figure comes from (call after the regions that read them)."""
    lines = []
    for benchmark in sorted(s.used):
        record = s.record(benchmark)
        m = record["machine"]
        gpus = ", ".join(m["gpus"]) or "no GPU"
        lines.append(f"- `benchmarks/results/{benchmark}.json`: revision {record['git_revision'][:12]}"
                     f"{' (uncommitted changes)' if record['git_revision'].endswith('+dirty') else ''}, {record['date'][:10]}, "
                     f"{m['nproc']} × {m['cpu_model']}, {gpus}"
                     + (f", load average {m['load_average_1min']:g} when written" if "load_average_1min" in m else ""))
    for name in MODELS:
        hardware = s.manifest(name)["training"]["hardware"]
        gpus = ", ".join(hardware["gpus"]) or "no GPU"
        lines.append(f"- `models/{name}/manifest.json`: written by `kws train-embedding`, {hardware['cpus']} CPUs "
                     f"({hardware['machine']}), {gpus}")
    return "\n".join(lines)


def embedding_run(s: Sources) -> str:
    training = s.manifest("embedding")["training"]
    gpus = f"{len(training['hardware']['gpus'])} GPUs" if training["hardware"]["gpus"] else "no GPU"
    return f"`make train`, {training['hardware']['cpus']}-core CPU, {gpus}, {training['epochs_run']} epochs, {training['wall_time_s']:.0f} s"


def embedding_budget(s: Sources) -> str:
    manifest = s.manifest("embedding")
    budget, training = manifest["budget"], manifest["training"]
    limits = budget["limits"]
    rows = [
        "| | embedding trunk (int8) | limit |", "|---|---|---|",
        f"| flash | {budget['trunk_int8_bytes']:,} B | ≤ {limits['int8_weight_bytes']:,} B |",
        f"| MACs / 1 s window | {budget['trunk_macs']:,} | ≤ {limits['macs']:,} |",
        f"| TFLM arena (measured) | {budget['trunk_arena_bytes']:,} B | ≤ {limits['arena_bytes']:,} B |",
        f"| dev / test accuracy ({len(manifest['classes'])} classes, test = unseen voices) | "
        f"{training['dev_accuracy']:.3f} / {training['test_accuracy']:.3f} | |",
        f"| test accuracy in settled background noise, 5–20 dB SNR | {training['test_accuracy_settled_noise']:.3f} | |",
    ]
    return "\n".join(rows)


def small_embedding(s: Sources) -> str:
    manifest = s.manifest("embedding-small")
    budget, training = manifest["budget"], manifest["training"]
    return (f"{budget['trunk_macs'] / 1e6:.2f} M MACs, {budget['trunk_int8_bytes']:,} B int8 trunk, {budget['trunk_arena_bytes']:,} B "
            f"arena, dev / test {training['dev_accuracy']:.3f} / {training['test_accuracy']:.3f}, {training['wall_time_s']:.0f} s to train")


def nano_pace(s: Sources) -> str:
    f = s.figures("device")
    return (f"~{f['small_nano_latency_ms_estimate']:.0f} ms of each {f['small_nano_stride_ms']} ms hop on the Nano 33 BLE Sense "
            f"(estimate; the full embedding's ~{f['nano_latency_ms_estimate']:.0f} ms)")


def nano_big(s: Sources) -> str:
    f = s.figures("device")
    return (f"(Cortex-M4F @ 64 MHz) the shipped embedding's twin takes ~{f['nano_latency_ms_estimate']:.0f} ms of each "
            f"{f['nano_stride_ms']} ms hop (estimate from MACs; counted instructions under \"Measured\")")


def nano_small(s: Sources) -> str:
    f = s.figures("device")
    return f"~{f['small_nano_latency_ms_estimate']:.0f} ms per {f['small_nano_stride_ms']} ms hop"


def fewshot_status(s: Sources) -> str:
    f = s.figures("fewshot")

    def verdict(group: str, target: float) -> str:
        return f"{f[f'{group}_f1']:.3f}, target {'met' if f[f'{group}_f1'] >= target else 'not met'}"

    return (f"unseen languages {verdict('out_of_embedding', 0.85)}; in-embedding held-out words {verdict('in_embedding', 0.90)} "
            f"({f['in_embedding_words']} and {f['out_of_embedding_words']} words, so ±0.03 is noise; FRR "
            f"{f['in_embedding_frr']:.3f} / {f['out_of_embedding_frr']:.3f}, FAR {f['in_embedding_far']:.3f} / "
            f"{f['out_of_embedding_far']:.3f}, in-embedding / unseen)")


def fewshot_baselines(s: Sources) -> str:
    f = s.figures("fewshot")

    def f1(method: str) -> str:
        return " / ".join(f"{f[f'{group}_{method}_f1']:.2f}" for group in ("in_embedding", "out_of_embedding"))

    return f"from-scratch F1 {f1('from_scratch')}; MFCC+DTW F1 {f1('dtw')}"


def latency_estimates(s: Sources) -> str:
    f = s.figures("device")
    return (f"the {f['demo_macs'] / 1e6:.2f} M-MAC demo keyword model ~{f['demo_latency_ms_cortex_m4_64mhz']:.0f} ms on a Cortex-M4F at "
            f"64 MHz and ~{f['demo_latency_ms_cortex_m7_216mhz']:.0f} ms on a Cortex-M7 at 216 MHz; the same keyword on the "
            f"{f['small_macs'] / 1e6:.2f} M-MAC small embedding ~{f['small_latency_ms_cortex_m4_64mhz']:.0f} ms and "
            f"~{f['small_latency_ms_cortex_m7_216mhz']:.0f} ms")


def demo_gate(s: Sources) -> str:
    f = s.figures("device")
    met = f["demo_accuracy_drop_pp"] <= f["demo_max_drop_pp"]
    return (f"PTQ {'meets' if met else 'misses'} the {f['demo_max_drop_pp']:g}-point gate on the demo "
            f"(float → TFLM int8 drop {f['demo_accuracy_drop_pp']:.2f} pp)")


def _ci_pct(f: dict, key: str) -> str:
    return f"{100 * f[key]:.2f} % [{100 * f[key + '_ci95_low']:.2f}, {100 * f[key + '_ci95_high']:.2f}]"


def _trained_on(f: dict, run: str) -> str:
    """The voice families and teacher a voices.json run's embedding was trained with."""
    teacher = f[f"{run}_teacher_name"]
    return f[f"{run}_voice_families"] + (f", teacher {teacher}" if teacher else "")


def _trained_families(run_families: str) -> str:
    """"espeak" → "espeak only"; "espeak+mbrola" → "espeak + mbrola" (a leave-one-family-out run's name)."""
    return run_families.replace("+", " + ") if "+" in run_families else f"{run_families} only"


def voices_table(s: Sources) -> str:
    """benchmarks/voices.py: per run (embedding → tested voices), scorer and language group."""
    if "voices" not in s.benchmarks():
        return "Not measured at this revision (`python benchmarks/voices.py` writes `benchmarks/results/voices.json`)."
    record = s.record("voices")
    f = record["figures"]
    runs = [key.removesuffix("_embedding_hash") for key in f if key.endswith("_embedding_hash") and not key.startswith("ablation_")]
    lines = [f"`{record['command']}`; {f['targets_per_group'] or 'all'} targets per group, 5 shots, {_head_l2(record)}; EER mean = mean of per-target "
             "EERs, pooled = one threshold over every target; [95 % bootstrap interval over targets].", "",
             "| embedding (trained on) → test voices | group (targets) | scorer | EER mean | EER pooled | FAR@95 % TPR | "
             "threshold: F1 / TPR / FAR |", "|---|---|---|---|---|---|---|"]
    thresholds = {"head": f"{f['threshold']:g}", "prototype": "bank-calibrated", "peer": "0.9"}
    groups = {"in_embedding": "embedding languages", "out_of_embedding": "held-out languages"}
    for run in runs:
        if run.startswith("lofo_"):
            family, tested = run.removeprefix("lofo_").split("_to_")
            name = _trained_families(family)
        else:
            name, tested = run.rsplit("_on_", 1)
            name = f"`{name}`"
        trained = _trained_on(f, run)
        label = (f"{name} ({trained}; `{f[f'{run}_architecture']}`) → {tested} test voices"
                 + (" (unseen family)" if f[f"{run}_unseen_family"] else ""))
        for group in groups:
            for scorer in ("head", "prototype", "peer"):
                p = f"{run}_{scorer}_{group}"
                if not f.get(f"{p}_words"):
                    continue
                trained_words = ", trained words" if f[f"{run}_{group}_trained_words"] else ""
                lines.append(f"| {label} | {groups[group]} ({f[f'{p}_words']}{trained_words}; {f[f'{p}_positives']} pos, {f[f'{p}_negatives']:,} neg) "
                             f"| {scorer} | {_ci_pct(f, p + '_eer_mean')} | {_ci_pct(f, p + '_eer_pooled')} | "
                             f"{_pct(f[p + '_far_at_95_tpr_pooled'])} | {thresholds[scorer]}: {f[p + '_f1']:.3f} / {f[p + '_tpr']:.3f} / "
                             f"{f[p + '_far']:.3f} |")
    fewshot = sorted({key.split("_eval_fewshot_")[0] for key in f if "_eval_fewshot_" in key})
    if fewshot:
        lines.append("")
        lines += [f"`{name}`, `kws eval-fewshot` on espeak test voices (as `benchmarks/fewshot.py`): F1@{f['threshold']:g} "
                  + " / ".join(f"{f[f'{name}_eval_fewshot_{g}_f1']:.3f}" for g in ("in_embedding", "out_of_embedding"))
                  + " (in-embedding / unseen languages)." for name in fewshot]
    return "\n".join(lines)



def _voices_rows(f: dict, run: str) -> list[str]:
    groups = {"in_embedding": "embedding languages", "out_of_embedding": "held-out languages"}
    rows = []
    for group, group_name in groups.items():
        for scorer in ("head", "prototype", "peer"):
            p = f"{run}_{scorer}_{group}"
            if f.get(f"{p}_words"):
                rows.append(f"| {run.split('_on_')[-1].split('_to_')[-1]} | {group_name} ({f[f'{p}_words']}) | {scorer} | "
                            f"{_ci_pct(f, p + '_eer_pooled')} | {_ci_pct(f, p + '_eer_mean')} | {_pct(f[p + '_far_at_95_tpr_pooled'])} | "
                            f"{f[p + '_f1']:.3f} |")
    return rows


def model_card(s: Sources, model: str) -> str:
    """The figures the benchmarks measured on this shipped embedding (its MODEL_CARD.md's block)."""
    manifest = s.manifest(model)
    digest, architecture = manifest["embedding_hash"], manifest["architecture"]
    parts = []
    if "voices" in s.benchmarks():
        record = s.record("voices")
        f = record["figures"]
        runs = [key.removesuffix("_embedding_hash") for key in f if key.endswith("_embedding_hash")]
        own = [run for run in runs if f[f"{run}_embedding_hash"] == digest]
        lofo = [run for run in runs if run.startswith("lofo_") and f[f"{run}_architecture"] == architecture]
        header = ["| test voices | group (targets) | scorer | EER pooled | EER mean per target | FAR@95 % TPR | F1 at threshold |",
                  "|---|---|---|---|---|---|---|"]
        if own:
            parts += [f"Five-shot enrolment on each voice family's test voices (`{record['command']}`, revision "
                      f"{record['git_revision'][:12]}; {_head_l2(record)}; peer = EfficientWord-Net on the same clips and shots; [95 % bootstrap "
                      "interval over targets]):", "", *header, *(row for run in own for row in _voices_rows(f, run)), ""]
            fewshot = [k for k in f if k.startswith(f"{model}_eval_fewshot_") and k.endswith("_f1")]
            if fewshot:
                parts += [f"`kws eval-fewshot` on espeak test voices, F1@{f['threshold']:g}: "
                          + " / ".join(f"{f[f'{model}_eval_fewshot_{g}_f1']:.3f}" for g in ("in_embedding", "out_of_embedding"))
                          + " (embedding languages / held-out languages).", ""]
        for run in lofo:
            family = run.removeprefix("lofo_").split("_to_")[0]
            trained = _trained_on(f, run)
            parts += [f"Leave one family out: `{architecture}` trained on {_trained_families(family)} ({trained}; embedding "
                      f"{f[f'{run}_embedding_hash']}), tested on the family it never heard:", "", *header, *_voices_rows(f, run), ""]
    if "pico_voices" in s.benchmarks():
        record = s.record("pico_voices")
        f = record["figures"]
        own = [run for run in _pico_runs(f) if f[f"{run}_embedding_hash"] == digest]
        for run in own:
            parts += [f"SVOX Pico voices, a family no embedding here was trained on (`{record['command']}`, revision "
                      f"{record['git_revision'][:12]}; {f['target_words']} new words of en, de, es, fr, it; {_head_l2(record)}):", "", *PICO_HEADER,
                      *(_pico_row(f, run, "this embedding", scorer) for scorer in ("head", "prototype")),
                      _pico_row(f, run, "EfficientWord-Net (peer)", "peer"), ""]
    if "streaming" in s.benchmarks():
        g = s.figures("streaming")
        if f"{architecture}_stream_macs_per_hop" in g:
            parts.append(f"Streaming (`{s.record('streaming')['command']}`): {g[f'{architecture}_stream_macs_per_hop']:,} MACs per "
                         f"{g[f'{architecture}_stream_hop_ms']} ms hop = {g[f'{architecture}_stream_macs_per_s']:,} per second; twin "
                         f"{g[f'{architecture}_stream_flash_bytes']:,} B flash, {g[f'{architecture}_stream_arena_bytes']:,} B arena.")
    if "nano_stream" in s.benchmarks() and s.figures("nano_stream")["embedding_hash"] == digest:
        parts.append("")
        parts.append(f"Detection at the Nano 33 BLE Sense's pace (`{s.record('nano_stream')['command']}`): {nano_stream(s)}")
    return "\n".join(parts).strip() or "Not measured at this revision (`make bench`, then `make readme`)."


def voices_verdict(s: Sources) -> str:
    """Issue 8's goal on each leave-one-family-out run: pooled EER ≤ 2 % and ≤ 2× the peer's, same clips."""
    if "voices" not in s.benchmarks():
        return "not measured at this revision"
    f = s.figures("voices")
    parts = []
    for run in (key.removesuffix("_embedding_hash") for key in f if key.endswith("_embedding_hash")):
        if not run.startswith("lofo_"):
            continue
        for group, name in (("in_embedding", "embedding languages"), ("out_of_embedding", "held-out languages")):
            ours, peer = f.get(f"{run}_head_{group}_eer_pooled"), f.get(f"{run}_peer_{group}_eer_pooled")
            if ours is None or peer is None:
                continue
            met = ours <= 0.02 and ours <= 2 * peer
            parts.append(f"{run.removeprefix('lofo_').replace('_to_', ' → ')}, {name}: {_pct(ours)} vs the peer's {_pct(peer)} "
                         f"({'met' if met else 'not met'})")
    return "; ".join(parts) or "no leave-one-family-out run in voices.json"


def _recipe_parts(f: dict, run: str) -> list[str]:
    """What a voices.json run's embedding was trained with, beyond plain softmax on one family."""
    weight = f[f"{run}_distill_weight"]
    teacher = "teacher" + (f" (loss weight {weight:g})" if weight not in (0.0, 1.0) else "")
    return [part for part, used in ((teacher, weight > 0), ("room augmentation", f[f"{run}_room_augment"]),
                                    ("additive-margin softmax", f[f"{run}_word_loss"] == "am-softmax")) if used]


def _recipe(f: dict, run: str) -> str:
    return " + ".join(_recipe_parts(f, run)) or "neither"


def voices_ablation(s: Sources) -> str:
    """What each part of the recipe buys on the unseen family: benchmarks/voices.py --ablation rows beside
    the family's recipe run and the peer, the same targets, shots and negatives, one run."""
    source = _ablation_source(s)
    if source is None:
        return "No ablation measured at this revision (`make bench-voices` runs them)."
    record = s.record(source)
    f = record["figures"]
    ablations = [key.removesuffix("_embedding_hash") for key in f if key.startswith("ablation_") and key.endswith("_embedding_hash")]
    groups = {"in_embedding": "embedding languages", "out_of_embedding": "held-out languages"}
    lofos = sorted({"lofo_" + run.rsplit("_", 3)[-3] + "_to_" + run.rsplit("_", 1)[-1] for run in ablations})

    def sample(group: str) -> str:  # how coarse a pooled EER is: one positive of n moves it by up to 1/n
        sizes = {(f.get(f"{lofo}_head_{group}_words"), f.get(f"{lofo}_head_{group}_positives")) for lofo in lofos}
        return "; ".join(f"{words} targets, {positives} positives" for words, positives in sorted(sizes, key=str) if words)

    lines = ["| trained on | recipe | " + " | ".join(f"{name} ({sample(group)}): head pooled / mean | prototype pooled"
                                                   for group, name in groups.items()) + " |",
             "|---|---|" + "---|---|" * len(groups)]
    for lofo in lofos:
        if f"{lofo}_embedding_hash" not in f:
            continue
        trained, tested = lofo.removeprefix("lofo_").split("_to_")
        runs = sorted([*(run for run in ablations if run.endswith(f"_{trained}_to_{tested}")), lofo],
                      key=lambda run: (len(_recipe_parts(f, run)), f[f"{run}_distill_weight"]))
        rows = [(_recipe(f, run) + (" (the recipe run above)" if run == lofo else ""), run, "head") for run in runs]
        for label, run, scorer in [*rows, ("EfficientWord-Net (the peer)", lofo, "peer")]:
            cells = []
            for group in groups:
                scored, proto = f"{run}_{scorer}_{group}", f"{run}_prototype_{group}"
                cells += [f"{_pct(f[scored + '_eer_pooled'])} / {_pct(f[scored + '_eer_mean'])}" if f.get(f"{scored}_words") else "—",
                          _pct(f[proto + "_eer_pooled"]) if scorer == "head" and f.get(f"{proto}_words") else "—"]
            lines.append(f"| {trained} only → {tested} voices | {label} | " + " | ".join(cells) + " |")
    if source != "voices":  # an earlier run, kept for these rows: say what it was
        lines = [f"From `benchmarks/results/{source}.json`, an earlier `make bench-voices` run kept for its ablation rows "
                 f"(revision {record['git_revision'][:12]}, {_head_l2(record)}; the recipe and peer rows are of that run): "
                 f"`{record['command']}`.", "", *lines]
    return "\n".join(lines)


def _ablation_source(s: Sources) -> str | None:
    """voices.json when its run had ablations (`make bench-voices` does), else voices_ablation.json: an
    earlier full run kept whole when voices.json was remeasured without the ablation's embeddings."""
    for source in ("voices", "voices_ablation"):
        if source in s.benchmarks() and any(key.startswith("ablation_") for key in s.figures(source)):
            return source
    return None


def _pico_runs(f: dict) -> list[str]:
    return [key.removesuffix("_embedding_hash") for key in f if key.endswith("_on_pico_embedding_hash")]


def _pico_row(f: dict, run: str, label: str, scorer: str) -> str:
    p = f"{run}_{scorer}_in_embedding"
    threshold = {"head": f"{f['threshold']:g}", "prototype": "bank-calibrated", "peer": "0.9"}[scorer]
    return (f"| {label} | {scorer} | {_ci_pct(f, p + '_eer_pooled')} | {_ci_pct(f, p + '_eer_mean')} | "
            f"{_pct(f[p + '_far_at_95_tpr_pooled'])} | {threshold}: {f[p + '_f1']:.3f} / {f[p + '_tpr']:.3f} / {f[p + '_far']:.3f} |")


PICO_HEADER = ["| embedding (trained on) | scorer | EER pooled | EER mean per target | FAR@95 % TPR | threshold: F1 / TPR / FAR |",
               "|---|---|---|---|---|---|"]


HEAD_L2_CHANGED = "ec89083"  # the commit that took the head's weight decay from 1e-4 to 1e-2


def _head_l2(record: dict) -> str:
    """The few-shot head's weight decay in a voices run: recorded by runs after ec89083, else known from the revision."""
    f = record["figures"]
    if "head_l2" in f:
        return f"head weight decay {f['head_l2']:g}, {_head_input(f)}"
    revision = record["git_revision"].removesuffix("+dirty")
    after = subprocess.run(["git", "merge-base", "--is-ancestor", HEAD_L2_CHANGED, revision], cwd=REPO, capture_output=True)
    if after.returncode not in (0, 1):
        return "head weight decay not recorded"
    return f"head weight decay {0.01 if after.returncode == 0 else 0.0001:g}"


def _head_input(figures: dict) -> str:
    """Which head a record measured: f6bb56d moved it onto the embedding's direction, with the shots' prototype."""
    if "prototype_weight" in figures:
        return f"head on the embedding's direction, shot prototype folded in (weight {figures['prototype_weight']:g})"
    return "head on the raw embedding (before f6bb56d)"


def head_decay_table(s: Sources) -> str:
    """benchmarks/head_decay.py: the head's weight decay on dev voices (espeak-ng, Kokoro), where HEAD_L2 was chosen."""
    if "head_decay" not in s.benchmarks():
        return "not measured at this revision (`python benchmarks/head_decay.py`)"
    record = s.record("head_decay")
    f = record["figures"]
    families = ("espeak", "kokoro")
    groups = ("in_embedding", "out_of_embedding")
    decays = sorted({float(k.split("_l2_", 1)[1].split("_", 1)[0]) for k in f if "_l2_" in k})
    lines = [f"`{record['command']}`, revision {record['git_revision'][:12]}: embedding {f['embedding_hash']}, "
             f"{f['targets_per_group']} new words per language group (trained words where a family has no others), 5 shots, "
             f"{_head_input(f)}; pooled EER / mean of per-word EERs; shipped decay in bold.", "",
             "| head weight decay | espeak-ng, embedding languages | espeak-ng, other languages | Kokoro, embedding languages | Kokoro, other languages |",
             "|---|---|---|---|---|"]
    for decay in decays:
        cells = [f"{_pct(f[f'{family}_l2_{decay:g}_{group}_eer_pooled'])} / {_pct(f[f'{family}_l2_{decay:g}_{group}_eer_mean'])}"
                 for family in families for group in groups]
        label = f"**{decay:g}** (shipped)" if decay == f["shipped_head_l2"] else f"{decay:g}"
        lines.append(f"| {label} | {' | '.join(cells)} |")
    return "\n".join(lines)


def pico_table(s: Sources) -> str:
    """benchmarks/pico_voices.py: every embedding on the voice family none of them heard, the peer once (same clips)."""
    if "pico_voices" not in s.benchmarks():
        return "Not measured at this revision (`make bench-pico`)."
    record = s.record("pico_voices")
    f = record["figures"]
    runs = _pico_runs(f)
    first = f"{runs[0]}_head_in_embedding"
    lines = [f"`{record['command']}`: {f['target_words']} new words (in no embedding's vocabulary) of en, de, es, fr, it, "
             f"{f[first + '_positives']} positives and {f[first + '_negatives']:,} negatives; 5 shots, {_head_l2(record)}; [95 % bootstrap interval "
             "over targets].", "", *PICO_HEADER]
    for run in runs:
        label = f"`{run.removesuffix('_on_pico')}` ({_trained_on(f, run)}; `{f[f'{run}_architecture']}`)"
        lines += [_pico_row(f, run, label, scorer) for scorer in ("head", "prototype")]
    lines.append(_pico_row(f, runs[0], "EfficientWord-Net (the peer; real speech)", "peer"))
    return "\n".join(lines)


def pico_verdict(s: Sources) -> str:
    """Issue 8's goal for the shipped embeddings on a family they never heard: pooled EER ≤ 2 % and ≤ 2× the peer's."""
    if "pico_voices" not in s.benchmarks():
        return "not measured at this revision"
    f = s.figures("pico_voices")
    parts = []
    for run in _pico_runs(f):
        if run.removesuffix("_on_pico") not in ("embedding", "embedding_small"):
            continue
        peer = f[f"{run}_peer_in_embedding_eer_pooled"]
        for scorer in ("head", "prototype"):
            ours = f[f"{run}_{scorer}_in_embedding_eer_pooled"]
            met = ours <= 0.02 and ours <= 2 * peer
            parts.append(f"`{run.removesuffix('_on_pico').replace('_', '-')}` {scorer} {_pct(ours)} vs the peer's {_pct(peer)} "
                         f"({'met' if met else 'not met'})")
    return "; ".join(parts) or "no shipped embedding in pico_voices.json"


def family_confound_table(s: Sources) -> str:
    """benchmarks/family_confound.py: what a five-shot head learns of its shots' voice family (dev families only)."""
    readings = [name for name in FAMILY_CONFOUND_READINGS if name in s.benchmarks()]
    if not readings:
        return "Not measured at this revision (`make bench-confound`)."
    lines = ["| embedding (trained on) | shots: family never heard | other words, that family | other words, a heard family "
             "| the word, that family | the word, a heard family | source |", "|---|---|---|---|---|---|---|"]
    for name in readings:
        record = s.record(name)
        f = record["figures"]
        for run in [key.removesuffix("_embedding_hash") for key in f if key.endswith("_embedding_hash")]:
            cells = [f"{f[f'{run}_{part}_mean_score']:.3f} ({_pct(f[f'{run}_{part}_above_threshold'])} ≥ {f[f'{run}_threshold']:g})"
                     for part in ("unheard_neg", "heard_neg", "unheard_pos", "heard_pos")]
            lines.append(f"| `{run}` ({f[f'{run}_trained_on']}) | {f[f'{run}_unheard_family']}, {f[f'{run}_targets']} words "
                         f"| {' | '.join(cells)} | `{record['command']}` |")
    return "\n".join(lines)


FAMILY_CONFOUND_READINGS = ("family_confound", "family_confound_shipped")
TEMPLATED_BENCHMARKS = ("foundation", "fewshot", "device", "ci", "firmware", "streaming", "stream_speed", "nano_stream", "voices",
                        "pico_voices", "head_decay", "voices_ablation", *FAMILY_CONFOUND_READINGS)

# Rendered in this order; measured-sources last, so it lists every file the others read.
TEMPLATES: dict[str, Callable[[Sources], str]] = {
    "embedding-run": embedding_run, "embedding-budget": embedding_budget, "small-embedding": small_embedding,
    "nano-pace": nano_pace, "fewshot-status": fewshot_status, "fewshot-baselines": fewshot_baselines,
    "demo-gate": demo_gate, "nano-big": nano_big, "nano-small": nano_small,
    "firmware-compared": firmware_compared, "firmware-frontend-diff": firmware_frontend_diff, "firmware-table": firmware_table,
    "firmware-costs": firmware_costs, "firmware-image": firmware_image, "firmware-reference-nano": firmware_reference_nano,
    "measured-table": measured_table, "streaming-table": streaming_table, "nano-stream": nano_stream,
    "latency-estimates": latency_estimates, "voices-table": voices_table, "voices-verdict": voices_verdict,
    "voices-ablation": voices_ablation, "pico-table": pico_table, "pico-verdict": pico_verdict, "head-decay": head_decay_table,
    "family-confound": family_confound_table, "measured-sources": measured_sources,
}


def render(readme: str, sources: Sources, templates: dict[str, Callable[[Sources], str]] | None = None) -> str:
    """`readme` with every marked region's body replaced by its template's output."""
    templates = TEMPLATES if templates is None else templates
    names = [m["name"] for m in REGION.finditer(readme)]
    unknown = sorted(set(names) - set(templates))
    if unknown:
        raise SystemExit(f"error: regions without a template in benchmarks/render_readme.py: {', '.join(unknown)}")
    bodies = {name: templates[name](sources) for name in templates if name in names}

    def body(match: re.Match) -> str:
        text = bodies[match["name"]]
        text = f"\n{text}\n" if "\n" in text or "\n" in match["body"] else text  # tables keep their own lines
        return f"<!-- figures:{match['name']} -->{text}<!-- /figures:{match['name']} -->"

    return REGION.sub(body, readme)


def stale_regions(readme: str, sources: Sources, templates: dict[str, Callable[[Sources], str]] | None = None) -> list[str]:
    """Names of the regions whose text differs from a fresh render."""
    current = {m["name"]: m["body"] for m in REGION.finditer(readme)}
    fresh = {m["name"]: m["body"] for m in REGION.finditer(render(readme, sources, templates))}
    return [name for name in current if current[name] != fresh[name]]


def documents() -> dict[Path, dict[str, Callable[[Sources], str]]]:
    """The README and each shipped embedding's model card, with the templates of their regions."""
    cards = {MODELS[name] / "MODEL_CARD.md": {"model-card": partial(model_card, model=name)} for name in MODELS}
    return {README: TEMPLATES, **{path: templates for path, templates in cards.items() if path.is_file()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 naming the stale regions")
    args = parser.parse_args()
    sources = Sources()
    stale = []
    for path, templates in documents().items():
        text = path.read_text(encoding="utf-8")
        if args.check:
            stale += [f"{path.relative_to(REPO)}: {name}" for name in stale_regions(text, sources, templates)]
            continue
        rendered = render(text, sources, templates)
        if rendered != text:
            from toolchain.artifacts import write_bytes_atomic

            write_bytes_atomic(path, rendered.encode("utf-8"))
        print(f"{path.relative_to(REPO)}: {len(REGION.findall(rendered))} figure regions rendered")
    if stale:
        sys.exit(f"stale figures in {'; '.join(stale)} (run `make readme`)")

if __name__ == "__main__":
    main()
