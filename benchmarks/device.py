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

from toolchain.convert.keyword_model import convert_keyword_model
from toolchain.export.firmware import export_firmware
from toolchain.fewshot.enroll import enroll
from toolchain.simulate.clips import simulate
from toolchain.simulate.stream import stream_eval

DEMO = Path("work/demo")
OUT = Path("work/bench_device")
SMALL_EMBEDDING = Path("models/embedding-small")


def _print_stream(name: str, streams: dict) -> None:
    at = streams["at_threshold"]
    print(f"stream-eval [{name}, stride {streams['streaming']['inference_stride_ms']} ms, window "
          f"{streams['streaming']['smoothing_window_ms']} ms]: {streams['hours']:.2f} h, {streams['keyword_occurrences']} "
          f"keywords; at threshold {streams['threshold']}: TPR {at['tpr']:.3f}, {at['fa_per_hour']:.2f} FA/h; "
          f"FA/h at 90% TPR: {streams['fa_per_hour_at_90_tpr']} (threshold {streams['threshold_at_90_tpr']}); "
          f"{streams['wall_time_s']} s")


def main() -> None:
    subprocess.run([sys.executable, "-m", "toolchain.cli", "demo", "--work", str(DEMO)], check=True)
    result = simulate(DEMO / "converted", DEMO / "demo_corpus", OUT / "simulate.json")
    print(f"simulator: {result['n']} clips, TFLM {result['tflm_clips_per_s']:.1f} clips/s; "
          f"float acc {result['float']['accuracy']:.4f}, TFLM int8 {result['tflm_int8']['accuracy']:.4f}, "
          f"agreement float↔int8 {result['agreement_float_int8']:.4f}, TFLM↔LiteRT {result['agreement_tflm_litert']:.4f}")
    _print_stream("model settings", stream_eval(DEMO / "converted", DEMO / "demo_corpus", OUT / "stream", hours=1.0))
    nano = json.loads((DEMO / "firmware" / "nano33ble" / "firmware_manifest.json").read_text())["realtime"]
    if nano["slowed_down"]:
        _print_stream(f"nano33ble, ~{nano['latency_ms_estimate']} ms per inference",
                      stream_eval(DEMO / "converted", DEMO / "demo_corpus", OUT / "stream_nano33ble", hours=1.0,
                                  inference_stride_ms=nano["inference_stride_ms"]))
    if (SMALL_EMBEDDING / "manifest.json").is_file():
        _small_embedding_on_the_nano()


def _small_embedding_on_the_nano() -> None:
    """The demo keyword, same shots, on the small embedding: simulate, then stream at the Nano's pace."""
    keyword_manifest = json.loads((DEMO / "keyword_model" / "manifest.json").read_text())
    (keyword, info), = keyword_manifest["keywords"].items()
    shots = Path(info["source"][0]).parent
    small = OUT / "small"
    enroll([(keyword, shots)], small / "keyword_model", SMALL_EMBEDDING)
    report = convert_keyword_model(small / "keyword_model", small / "converted")
    result = simulate(small / "converted", DEMO / "demo_corpus", small / "simulate.json")
    print(f"small embedding: {report['total_macs']:,} MACs, {report['flash_bytes']:,} B flash, {report['arena_bytes_measured']:,} B arena; "
          f"float acc {result['float']['accuracy']:.4f}, TFLM int8 {result['tflm_int8']['accuracy']:.4f}, "
          f"agreement float↔int8 {result['agreement_float_int8']:.4f}, TFLM↔LiteRT {result['agreement_tflm_litert']:.4f}")
    realtime = export_firmware(small / "converted", "nano33ble", small / "firmware")["realtime"]
    _print_stream("small embedding, model settings", stream_eval(small / "converted", DEMO / "demo_corpus", small / "stream"))
    _print_stream(f"small embedding, nano33ble, ~{realtime['latency_ms_estimate']} ms per inference",
                  stream_eval(small / "converted", DEMO / "demo_corpus", small / "stream_nano33ble",
                              inference_stride_ms=realtime["inference_stride_ms"]))


if __name__ == "__main__":
    main()
