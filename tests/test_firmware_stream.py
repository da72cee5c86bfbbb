"""Firmware for a keyword model whose embedding streams: `kws export-firmware` ships the streaming twin
(model_stream_int8.tflite) and every template runs it once per hop (firmware_export/common/model_loop.h).

A tiny ds_cnn_stream embedding (one epoch of two steps) is enough: the checks are bit-exactness of the
device against the host, not accuracy. On QEMU's Cortex-M4F with CMSIS-NN kernels every hop's int8
output must equal the twin's on the TFLM Python interpreter fed the same frames, and every decision the
whole-window model's; instructions are counted per hop.
"""
from __future__ import annotations

import json
import math
import re
import subprocess
from pathlib import Path

import pytest

from tests.test_export import compile_nano_sketch
from toolchain.errors import KwsError

pytestmark = pytest.mark.slow  # each test needs the streaming embedding trained and converted (~1 min)


@pytest.fixture(scope="module")
def converted(synth_corpus, shots_dir, tmp_path_factory) -> Path:
    from toolchain.convert.keyword_model import convert_keyword_model
    from toolchain.embedding.train import TrainConfig, train_embedding
    from toolchain.fewshot.enroll import enroll

    root = tmp_path_factory.mktemp("firmware_stream")
    train_embedding(TrainConfig(synth_corpus, root / "emb", ("en", "de", "fr"), 2, architecture="ds_cnn_stream", epochs=1,
                                batch_size=16, max_steps_per_epoch=2), progress=False)
    enroll([("gelb", shots_dir)], root / "kw", root / "emb")
    convert_keyword_model(root / "kw", root / "conv", per_class=12)
    return root / "conv"


@pytest.fixture(scope="module")
def stream_block(converted) -> dict:
    return json.loads((converted / "manifest.json").read_text())["stream"]


def _header_constant(header: str, name: str) -> int:
    match = re.search(rf"constexpr int {name} = (-?\d+);", header)
    assert match, name
    return int(match.group(1))


def test_export_ships_the_twin_with_its_state_table(converted, stream_block, tmp_path):
    from toolchain.convert.stream_twin import STREAM_FILE
    from toolchain.export.firmware import export_firmware
    from toolchain.tflite.flatbuffer import model_ops

    summary = export_firmware(converted, "nano33ble", tmp_path / "fw")
    sketch = Path(summary["project_dir"])
    twin = (converted / STREAM_FILE).read_bytes()
    data = (sketch / "model_data.cpp").read_text()
    assert bytes(int(b, 16) for b in re.findall(r"0x([0-9a-f]{2}),", data)) == twin
    assert summary["ops"] == model_ops(twin) and "STRIDED_SLICE" in summary["ops"]
    header = (sketch / "model_settings.h").read_text()
    assert "#define KWS_STREAM_MODEL 1" in header
    assert _header_constant(header, "kStreamHopFrames") == stream_block["hop_frames"]
    assert _header_constant(header, "kModelFramesInput") == stream_block["frames_input"]
    assert _header_constant(header, "kModelScoresOutput") == stream_block["probabilities_output"]
    table = [tuple(map(int, row)) for row in re.findall(r"\{(\d+), (\d+), (\d+)\},", header)]
    assert table == [(s["input"], s["output"], math.prod(s["shape"])) for s in stream_block["states"]]
    assert _header_constant(header, "kStreamStateBytes") == sum(row[2] for row in table)
    # the first decision is on the first window that ends where a hop ends
    first = _header_constant(header, "kStreamFirstDecisionFrame")
    assert (first + 1) % stream_block["hop_frames"] == 0 and 0 <= first + 1 - 49 < stream_block["hop_frames"]
    assert summary["tensor_arena_size"] >= stream_block["arena_bytes"]
    manifest = json.loads((tmp_path / "fw" / "firmware_manifest.json").read_text())
    assert manifest["source"]["model_file"] == STREAM_FILE and manifest["stream"]["hop_ms"] == stream_block["hop_ms"]
    assert summary["realtime"]["hop_ms"] == stream_block["hop_ms"] and summary["realtime"]["keeps_up"]


def test_a_stride_off_the_hop_grid_is_refused(converted, stream_block, tmp_path):
    from toolchain.export.firmware import export_firmware

    with pytest.raises(KwsError, match=f"updates every {stream_block['hop_ms']} ms"):
        export_firmware(converted, "qemu-mps2-an386", tmp_path / "fw", inference_stride_ms=stream_block["hop_ms"] + 20)


def test_streaming_sketch_compiles_for_the_nano_against_real_tflm(converted, tflm_tree, tmp_path):
    from toolchain.export.firmware import export_firmware

    sketch = Path(export_firmware(converted, "nano33ble", tmp_path / "fw")["project_dir"])
    assert "kws_keyword.ino" in compile_nano_sketch(sketch, tflm_tree, tmp_path)


def test_generic_app_compiles_with_the_twin(converted, tflm_tree, tmp_path):
    """The CMake app's main.cc runs the same loop (common/model_loop.h) in its streaming form."""
    from toolchain.export.firmware import export_firmware

    app = Path(export_firmware(converted, "cortex-m", tmp_path / "fw", cpu="cortex-m4")["project_dir"])
    tflm = tflm_tree.tflm_dir("cmsis-nn")
    command = ["arm-none-eabi-g++", "-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard", "-std=gnu++17", "-O2",
               "-Wall", "-Werror", "-fno-exceptions", "-fno-rtti", "-DTF_LITE_STATIC_MEMORY", f"-I{app}", f"-I{tflm}",
               f"-I{tflm / 'third_party/flatbuffers/include'}", f"-I{tflm / 'third_party/gemmlowp'}",
               f"-I{tflm / 'third_party/ruy'}", "-c", str(app / "main.cc"), "-o", str(tmp_path / "main.o")]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def cmsis_run(converted, tflm_tree, tmp_path_factory) -> tuple[Path, dict]:
    from toolchain.export.firmware import export_firmware
    from toolchain.firmware.selftest import run_emulated

    out = tmp_path_factory.mktemp("qemu-stream") / "firmware"
    export_firmware(converted, "qemu-mps2-an386", out)
    return out, run_emulated(out, "cmsis-nn")


def test_emulated_twin_is_bit_exact_every_hop(cmsis_run, stream_block):
    _, report = cmsis_run
    exact = report["bit_exact"]
    # every hop's int8 output = the twin on TFLM fed the device's frames; every decision = TwinScorer's and
    # the whole-window model's on the window ending there; the recognizer's decisions the same
    assert exact["features_vs_tflm_c"], report["first_difference"]
    assert exact["hops"] and exact["outputs_vs_window_model"], report["first_difference"]
    assert exact["outputs"] and exact["decisions"], report["first_difference"]
    assert exact["end_to_end_outputs"] and exact["end_to_end_detections"], report["first_difference"]
    hop = stream_block["hop_frames"]
    assert report["hops"] == report["frames"] // hop  # one twin run per hop, from power-up
    first = -(-49 // hop) * hop - 1
    assert report["inferences"] == 1 + (report["frames"] - 1 - first) // hop  # a decision every hop from the first window


def test_instructions_are_counted_per_hop_per_op_and_recorded(converted, cmsis_run, stream_block):
    out, report = cmsis_run
    counts = report["instructions"]
    per_hop = counts["model_per_hop"]
    assert counts["hop_ms"] == stream_block["hop_ms"] and per_hop["hops"] == report["hops"]
    assert 0 < per_hop["min"] <= per_hop["mean"] <= per_hop["max"] < 1.01 * per_hop["min"]  # the same graph every hop
    assert counts["per_second_of_audio"]["model"] == int(per_hop["mean"] * 1000 / stream_block["hop_ms"])
    assert 1.0 < counts["model_per_mac"] and counts["macs"] == stream_block["macs_per_hop"]
    pace = report["nano33ble_pace"]
    low, high = pace["core_share_range"]
    assert low == pytest.approx(counts["per_second_of_audio"]["total"] / 64e6, abs=1e-4) and high == pytest.approx(2 * low, abs=1e-4)
    assert pace["within_budget"] == (high <= pace["core_share_budget"])
    # every operator of the twin timed on the board, in the model file's order; together nearly the whole hop
    # (the rest: the interpreter's loop and the state copy-back)
    from toolchain.convert.stream_twin import STREAM_FILE
    from toolchain.tflite.flatbuffer import layer_costs

    layers = layer_costs((converted / STREAM_FILE).read_bytes())
    per_op = counts["per_op"]
    assert [row["op"] for row in per_op] == [layer["op"] for layer in layers]
    assert [row["macs"] for row in per_op] == [layer["macs"] for layer in layers]
    assert 0.95 * per_hop["mean"] < sum(row["instructions_per_run"] for row in per_op) <= 1.01 * per_hop["mean"]
    assert all(row["instructions_per_mac"] > 1 for row in per_op if row["macs"])
    manifest = json.loads((out / "firmware_manifest.json").read_text())
    assert manifest["measured"]["cmsis-nn"]["instructions"]["model_per_hop"] == per_hop
    assert json.loads((out / "report.json").read_text())["runs"]["cmsis-nn"]["nano33ble_pace"] == pace


def test_counted_hops_pace_the_nano(converted, cmsis_run, stream_block, tmp_path):
    from toolchain.export.firmware import export_firmware

    out, report = cmsis_run
    realtime = export_firmware(converted, "nano33ble", tmp_path / "nano", measured=out / "report.json")["realtime"]
    assert "per hop counted" in realtime["latency_source"]
    per_hop = report["instructions"]["model_per_inference"]["mean"] + report["instructions"]["recognizer_per_inference"]
    assert realtime["latency_ms_range"][1] == pytest.approx(per_hop * 2 / 64e6 * 1000, abs=0.01)
    assert realtime["inference_stride_ms"] == stream_block["hop_ms"]  # a streaming model is never slowed down
