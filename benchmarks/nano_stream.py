"""The 1 h stream at the Nano 33 BLE Sense's pace on an embedding that streams, scored on TFLM.

The demo keyword (work/demo's word and shots, demo_keyword.py) is enrolled on `--embedding` (default:
the shipped models/embedding) and converted; the converted model runs on the emulated Cortex-M4 (`kws
run-emulated --cycles`: instructions counted, priced by the TRM), and `kws export-firmware --board
nano33ble --measured` picks the pace the board keeps from that count (a streaming embedding's twin runs
once per hop, and must fit in it; the MAC-model estimate is written beside it); `stream-eval` then
scores the 1 h stream that benchmarks/device.py scores (same keyword, corpus and seed) at that pace
with the default runtime, which runs a streaming twin hop by hop on TFLM as the firmware does. TPR
at the model's threshold and the fewest false accepts per hour at 90 % and 95 % TPR are written
with the embedding's path and hash, beside the same keyword model's whole-window int8 model at the
pace the Nano keeps for it (how it ran before streaming), measured in the same run on TFLM.

    python benchmarks/nano_stream.py [--embedding DIR]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from demo_keyword import DEMO_CORPUS, demo_keyword_on, embedding_argument, embedding_figures
from device import print_stream, stream_figures
from record import RESULTS_DIR, write_results
from toolchain.export.firmware import export_firmware
from toolchain.simulate.stream import stream_eval

OUT = Path("work/bench_nano_stream")
HOURS = 1.0
BOARD = "nano33ble"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    embedding_argument(parser)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where nano_stream.json goes")
    args = parser.parse_args()

    report = demo_keyword_on(args.embedding, OUT)
    mac_model = export_firmware(OUT / "converted", BOARD, OUT / "firmware", force=True)["realtime"]
    emulated = _counted_on_the_emulated_board(OUT / "converted")
    realtime = export_firmware(OUT / "converted", BOARD, OUT / "firmware", measured=emulated, force=True)["realtime"]
    pace = json.loads(emulated.read_text())["runs"]["cmsis-nn"]["nano33ble_pace"]
    streams = stream_eval(OUT / "converted", DEMO_CORPUS, OUT / "stream", hours=HOURS,
                          inference_stride_ms=realtime["inference_stride_ms"])
    twin = report["stream"]
    baseline = _whole_window_at_the_nano_pace(OUT / "converted") if twin else {}
    figures = embedding_figures(args.embedding) | baseline | {
        "macs_per_inference": twin["macs_per_hop"] if twin else report["total_macs"],
        "hop_ms": twin["hop_ms"] if twin else None, "macs_per_s": twin["macs_per_second"] if twin else None,
        "nano_latency_ms_estimate": realtime["latency_ms_estimate"], "nano_keeps_up": realtime["keeps_up"],
        "nano_core_share_estimate": realtime.get("core_share_estimate"), "nano_latency_source": realtime["latency_source"],
        "nano_latency_ms_mac_model": mac_model["latency_ms_estimate"], "nano_core_share_mac_model": mac_model.get("core_share_estimate"),
        "emulated_instructions_per_s": pace["instructions_per_second"], "emulated_core_share_low": pace["core_share_range"][0],
        "emulated_core_share_high": pace["core_share_range"][1], "emulated_core_share_estimate": pace["core_share_estimate"],
        "emulated_model_cpi": pace["cycles_per_instruction"]["model"][1],
        "emulated_frontend_cpi": pace["cycles_per_instruction"]["frontend"][1],
        "runtime": streams["runtime"], "frontend_seam_values_differing": streams["frontend_seam_values_differing"],
    } | stream_figures("stream", streams)
    print(f"{figures['embedding']} ({figures['embedding_architecture']}, {figures['embedding_hash']}), "
          f"{figures['macs_per_inference']:,} MACs per inference")
    print_stream(f"{BOARD}, ~{realtime['latency_ms_estimate']} ms per inference", streams)
    write_results("nano_stream", figures, args.results_dir)


def _counted_on_the_emulated_board(converted: Path) -> Path:
    """The same converted model on the emulated Cortex-M4 (`kws run-emulated --cycles`): its report.json,
    whose counted instructions and traced CPI pace the Nano instead of MACs × cycles per MAC."""
    from toolchain.firmware.selftest import REPORT, run_emulated

    export_firmware(converted, "qemu-mps2-an386", OUT / "emulated", force=True)
    run_emulated(OUT / "emulated", cycles=True)
    return OUT / "emulated" / REPORT


def _whole_window_at_the_nano_pace(converted: Path) -> dict:
    """The same keyword model the way it ran before streaming, in the same run: its whole-window int8
    model at the pace `kws export-firmware` gives a window model on the Nano (`realtime_plan`),
    scored window by window on TFLM."""
    from toolchain.convert.artifact import load_converted_model
    from toolchain.convert.cost import CORE_MODELS
    from toolchain.export.firmware import BOARDS, realtime_plan
    from toolchain.tflite.flatbuffer import total_macs

    model = load_converted_model(converted)
    window_model = model.int8_path.read_bytes()
    plan = realtime_plan(CORE_MODELS[BOARDS[BOARD].core], model.streaming, model.frontend, window_model, None)
    streams = stream_eval(converted, DEMO_CORPUS, OUT / "stream_window", hours=HOURS,
                          inference_stride_ms=plan["inference_stride_ms"], runtime="tflm")
    print_stream(f"{BOARD}, whole-window model, ~{plan['latency_ms_estimate']:.0f} ms per inference", streams)
    return {"window_macs_per_inference": total_macs(window_model),
            "window_nano_latency_ms_estimate": round(plan["latency_ms_estimate"], 1)} | stream_figures("window", streams)

if __name__ == "__main__":
    main()
