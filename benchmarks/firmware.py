"""The exported firmware on an emulated Cortex-M4F (QEMU mps2-an386), built with the real TFLM:
instructions per inference with CMSIS-NN and with reference kernels, per second of audio, image
sizes, arena used, bit-exactness with the host, and the Nano 33 BLE Sense latency range they give.

Uses the demo's keyword model (`make demo`, run here when missing) on both shipped embeddings. The
reference-kernel self-test infers every 480 ms (their ~25× instruction count makes every 20 ms
take minutes under QEMU); instructions per inference do not depend on the stride.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from record import write_results
from toolchain.convert.keyword_model import convert_keyword_model
from toolchain.export.firmware import export_firmware
from toolchain.fewshot.enroll import enroll
from toolchain.export.measured_latency import CPI_RANGE, traced_cpi
from toolchain.firmware.selftest import run_emulated, summary_lines

DEMO = Path("work/demo")
OUT = Path("work/bench_firmware")
SMALL_EMBEDDING = Path("models/embedding-small")
REFERENCE_STRIDE_MS = 480  # a multiple of the streaming embeddings' 160 ms hop and of the 20 ms frame


def _small_model() -> Path:
    """The demo keyword, same shots, on the small embedding."""
    keyword_manifest = json.loads((DEMO / "keyword_model" / "manifest.json").read_text())
    (keyword, info), = keyword_manifest["keywords"].items()
    shots = Path(info["source"][0]).parent
    enroll([(keyword, shots)], OUT / "small" / "keyword_model", SMALL_EMBEDDING, force=True)
    convert_keyword_model(OUT / "small" / "keyword_model", OUT / "small" / "converted", force=True)
    return OUT / "small" / "converted"


def _measure(prefix: str, converted: Path) -> dict:
    runs = {}
    for kernels, stride in (("cmsis-nn", None), ("reference", REFERENCE_STRIDE_MS)):
        out = OUT / prefix / f"qemu-{kernels}"
        export_firmware(converted, "qemu-mps2-an386", out, inference_stride_ms=stride, force=True)
        runs[kernels] = run_emulated(out, kernels, cycles=kernels == "cmsis-nn")  # the kernels the Nano runs, traced
        print(f"[{prefix}]", *summary_lines(runs[kernels]), sep="\n  ")
    nano = export_firmware(converted, "nano33ble", OUT / prefix / "nano33ble", force=True,
                           measured=OUT / prefix / "qemu-cmsis-nn" / "report.json")["realtime"]
    low, high = nano["latency_ms_range"]
    print(f"[{prefix}] nano33ble: {low:g}–{high:g} ms per inference, inference every {nano['inference_stride_ms']} ms")
    cmsis, reference = runs["cmsis-nn"], runs["reference"]
    counts = cmsis["instructions"]
    model_cpi = traced_cpi(cmsis)["model"]  # what the Nano's pace above was priced at
    figures = {
        "macs": counts["macs"],
        "cmsis_nn_instructions_per_inference": counts["model_per_inference"]["mean"],
        "cmsis_nn_instructions_per_mac": counts["model_per_mac"],
        "reference_instructions_per_inference": reference["instructions"]["model_per_inference"]["mean"],
        "reference_instructions_per_mac": reference["instructions"]["model_per_mac"],
        "frontend_instructions_per_frame": counts["frontend_per_frame"],
        "frontend_instructions_per_second": counts["per_second_of_audio"]["frontend"],
        "recognizer_instructions_per_inference": counts["recognizer_per_inference"],
        "instructions_per_second_at_model_stride": counts["per_second_of_audio"]["total"],
        "model_stride_ms": counts["per_second_at_stride_ms"],
        "text_bytes": cmsis["image"]["text"], "data_bytes": cmsis["image"]["data"], "bss_bytes": cmsis["image"]["bss"],
        "reference_text_bytes": reference["image"]["text"],
        "arena_used_bytes": cmsis["arena_used_bytes"], "tensor_arena_size": cmsis["tensor_arena_size"],
        "nano_latency_ms_low": low, "nano_latency_ms_high": high, "nano_stride_ms": nano["inference_stride_ms"],
        "cmsis_nn_model_cpi_low": model_cpi[0], "cmsis_nn_model_cpi_high": model_cpi[2],
        "inferences_compared": cmsis["inferences"] + reference["inferences"],
        "bit_exact_device_pipeline": all(run["bit_exact"][key] for run in runs.values()
                                         for key in ("features_vs_tflm_c", "outputs", "decisions")),
        "bit_exact_end_to_end_detections": all(run["bit_exact"]["end_to_end_detections"] for run in runs.values()),
        "feature_values_differing_from_toolchain_frontend": cmsis["mismatches"]["feature_values_vs_toolchain_frontend"],
        "feature_values_compared": cmsis["frames"] * 40,
        "detections": len(cmsis["detections"]),
        "qemu_wall_s_cmsis_nn": cmsis["wall_s"], "qemu_wall_s_reference": reference["wall_s"],
    }
    # where an inference's instructions go: summed per op type (the board's profiler times every operator)
    for row in counts["per_op"]:
        key = f"cmsis_nn_instructions_per_inference_{row['op'].lower()}"
        figures[key] = figures.get(key, 0) + row["instructions_per_run"]
    return {f"{prefix}_{key}": value for key, value in figures.items()}


def main() -> None:
    if not (DEMO / "converted" / "manifest.json").is_file():
        subprocess.run([sys.executable, "-m", "toolchain.cli", "demo", "--work", str(DEMO), "--force"], check=True)
    figures = {"cpi_low": CPI_RANGE[0], "cpi_high": CPI_RANGE[1]}
    figures |= _measure("demo", DEMO / "converted")
    if (SMALL_EMBEDDING / "manifest.json").is_file():
        figures |= _measure("small", _small_model())
    write_results("firmware", figures)


if __name__ == "__main__":
    main()
