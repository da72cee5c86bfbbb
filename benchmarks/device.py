"""Simulator throughput (clips/s on TFLM) and stream false accepts per hour at 90 % TPR, on the demo model.

Runs `make demo`'s pipeline first so every figure is of today's code. Streams are scored at the
model's own 20 ms inference stride (what the recognizer is designed for), and at the stride
`kws export-firmware` chose for the Nano 33 BLE Sense from its latency estimate; then the
same keyword is enrolled on the small embedding (models/embedding-small, when present) and scored at
the Nano's pace for that model.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from demo_keyword import DEMO, demo_keyword_on
from record import write_results
from toolchain.export.firmware import export_firmware
from toolchain.simulate.clips import simulate
from toolchain.simulate.stream import stream_eval

OUT = Path("work/bench_device")
SMALL_EMBEDDING = Path("models/embedding-small")


def _simulation_figures(prefix: str, report: dict, result: dict) -> dict:
    """The README's figures of one converted model and its clip simulation, as flat `<prefix>_…` keys."""
    figures = {"flash_bytes": report["flash_bytes"], "arena_bytes": report["arena_bytes_measured"], "macs": report["total_macs"],
               "clips": result["n"], "float_accuracy": result["float"]["accuracy"],
               "tflm_int8_accuracy": result["tflm_int8"]["accuracy"], "litert_int8_accuracy": result["litert_int8"]["accuracy"],
               "accuracy_drop_pp": result["accuracy_drop"], "max_drop_pp": result["max_drop"],
               "agreement_float_int8": result["agreement_float_int8"], "agreement_tflm_litert": result["agreement_tflm_litert"],
               "max_output_diff_tflm_litert": result["max_abs_output_diff"]["tflm_vs_litert"],
               "tflm_clips_per_s": result["tflm_clips_per_s"]}
    figures |= {f"latency_ms_{core.replace('@', '_').replace('-', '_').lower()}": estimate["latency_ms"]
                for core, estimate in report["latency_estimate"].items()}
    return {f"{prefix}_{key}": value for key, value in figures.items()}


def stream_figures(prefix: str, streams: dict) -> dict:
    """The README's figures of one `stream_eval` result, as flat `<prefix>_…` keys."""
    at = streams["at_threshold"]
    figures = {"hours": streams["hours"], "keywords": streams["keyword_occurrences"],
               "stride_ms": streams["streaming"]["inference_stride_ms"], "window_ms": streams["streaming"]["smoothing_window_ms"],
               "threshold": streams["threshold"], "tpr_at_threshold": at["tpr"], "fa_per_hour_at_threshold": at["fa_per_hour"],
               "fa_per_hour_at_90_tpr": streams["fa_per_hour_at_90_tpr"], "threshold_at_90_tpr": streams["threshold_at_90_tpr"],
               "fa_per_hour_at_95_tpr": streams["fa_per_hour_at_95_tpr"], "threshold_at_95_tpr": streams["threshold_at_95_tpr"]}
    return {f"{prefix}_{key}": value for key, value in figures.items()}


def print_stream(name: str, streams: dict) -> None:
    at = streams["at_threshold"]
    print(f"stream-eval [{name}, stride {streams['streaming']['inference_stride_ms']} ms, window "
          f"{streams['streaming']['smoothing_window_ms']} ms]: {streams['hours']:.2f} h, {streams['keyword_occurrences']} "
          f"keywords; at threshold {streams['threshold']}: TPR {at['tpr']:.3f}, {at['fa_per_hour']:.2f} FA/h; "
          f"FA/h at 90% TPR: {streams['fa_per_hour_at_90_tpr']} (threshold {streams['threshold_at_90_tpr']}), at 95% TPR: "
          f"{streams['fa_per_hour_at_95_tpr']} (threshold {streams['threshold_at_95_tpr']}); scored on {streams['runtime']}; "
          f"{streams['wall_time_s']} s")


def main() -> None:
    subprocess.run([sys.executable, "-m", "toolchain.cli", "demo", "--work", str(DEMO), "--force"], check=True)
    result = simulate(DEMO / "converted", DEMO / "demo_corpus", OUT / "simulate.json", force=True)
    figures = _simulation_figures("demo", json.loads((DEMO / "converted" / "report.json").read_text()), result)
    print(f"simulator: {result['n']} clips, TFLM {result['tflm_clips_per_s']:.1f} clips/s; "
          f"float acc {result['float']['accuracy']:.4f}, TFLM int8 {result['tflm_int8']['accuracy']:.4f}, "
          f"agreement float↔int8 {result['agreement_float_int8']:.4f}, TFLM↔LiteRT {result['agreement_tflm_litert']:.4f}")
    streams = stream_eval(DEMO / "converted", DEMO / "demo_corpus", OUT / "stream", hours=1.0)
    print_stream("model settings", streams)
    figures |= stream_figures("stream", streams)
    nano = json.loads((DEMO / "firmware" / "nano33ble" / "firmware_manifest.json").read_text())["realtime"]
    figures |= {"nano_latency_ms_estimate": nano["latency_ms_estimate"], "nano_stride_ms": nano["inference_stride_ms"]}
    if nano["slowed_down"]:
        streams = stream_eval(DEMO / "converted", DEMO / "demo_corpus", OUT / "stream_nano33ble", hours=1.0,
                              inference_stride_ms=nano["inference_stride_ms"])
        print_stream(f"nano33ble, ~{nano['latency_ms_estimate']} ms per inference", streams)
        figures |= stream_figures("stream_nano", streams)
    if (SMALL_EMBEDDING / "manifest.json").is_file():
        figures |= _small_embedding_on_the_nano()
    write_results("device", figures)


def _small_embedding_on_the_nano() -> dict:
    """The demo keyword, same shots, on the small embedding: simulate, then stream at the Nano's pace."""
    small = OUT / "small"
    report = demo_keyword_on(SMALL_EMBEDDING, small)
    result = simulate(small / "converted", DEMO / "demo_corpus", small / "simulate.json", force=True)
    print(f"small embedding: {report['total_macs']:,} MACs, {report['flash_bytes']:,} B flash, {report['arena_bytes_measured']:,} B arena; "
          f"float acc {result['float']['accuracy']:.4f}, TFLM int8 {result['tflm_int8']['accuracy']:.4f}, "
          f"agreement float↔int8 {result['agreement_float_int8']:.4f}, TFLM↔LiteRT {result['agreement_tflm_litert']:.4f}")
    realtime = export_firmware(small / "converted", "nano33ble", small / "firmware", force=True)["realtime"]
    figures = _simulation_figures("small", report, result)
    figures |= {"small_nano_latency_ms_estimate": realtime["latency_ms_estimate"], "small_nano_stride_ms": realtime["inference_stride_ms"]}
    streams = stream_eval(small / "converted", DEMO / "demo_corpus", small / "stream")
    print_stream("small embedding, model settings", streams)
    figures |= stream_figures("stream_small", streams)
    streams = stream_eval(small / "converted", DEMO / "demo_corpus", small / "stream_nano33ble",
                          inference_stride_ms=realtime["inference_stride_ms"])
    print_stream(f"small embedding, nano33ble, ~{realtime['latency_ms_estimate']} ms per inference", streams)
    return figures | stream_figures("stream_small_nano", streams)


if __name__ == "__main__":
    main()
