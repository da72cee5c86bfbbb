"""Exported firmware built with arm-none-eabi-gcc against the real TFLM tree and run on QEMU's
Cortex-M4F (toolchain/firmware): bit-exact with the host simulation (features equal to
toolchain.frontend's, every output and decision), instructions counted.

Both shipped embeddings get a keyword model enrolled from the fixture's five shots. With CMSIS-NN
kernels the self-test infers every 20 ms over its 5 s of audio (about 200 inferences); TFLM's
reference kernels execute ~25× more instructions per inference, so their export infers every
480 ms to keep QEMU's share of the suite to seconds. TFLM's libraries are built once
per kernel set and cached (~/.cache/kws/tflm), so the first run of the suite compiles TFLM twice.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from toolchain.errors import KwsError
from toolchain.firmware import tools
from toolchain.firmware.qemu import check_calibration

REPO = Path(__file__).resolve().parents[1]
EMBEDDINGS = {"embedding": REPO / "models" / "embedding", "embedding-small": REPO / "models" / "embedding-small"}
REFERENCE_STRIDE_MS = 480  # a multiple of the streaming embeddings' 160 ms hop


def _hop_frames(converted: Path) -> int | None:
    """The streaming twin's hop (both shipped embeddings stream), None for a whole-window model."""
    stream = json.loads((converted / "manifest.json").read_text()).get("stream")
    return stream["hop_frames"] if stream else None


@pytest.fixture(scope="module", params=sorted(EMBEDDINGS))
def converted(request, tflm_tree, shots_dir, tmp_path_factory) -> Path:
    """A keyword model on a shipped embedding, converted to int8 (its shots are kept inside)."""
    from toolchain.convert.keyword_model import convert_keyword_model
    from toolchain.fewshot.enroll import enroll

    work = tmp_path_factory.mktemp(request.param)
    enroll([("gelb", shots_dir)], work / "keyword", EMBEDDINGS[request.param])
    convert_keyword_model(work / "keyword", work / "converted")
    return work / "converted"


@pytest.fixture(scope="module")
def cmsis_run(converted, tmp_path_factory) -> tuple[Path, dict]:
    from toolchain.export.firmware import export_firmware
    from toolchain.firmware.selftest import run_emulated

    out = tmp_path_factory.mktemp("qemu-cmsis") / "firmware"
    export_firmware(converted, "qemu-mps2-an386", out)
    return out, run_emulated(out, "cmsis-nn")


def test_cmsis_nn_firmware_is_bit_exact_with_the_host(converted, cmsis_run):
    out, report = cmsis_run
    exact = report["bit_exact"]
    # the device's frontend, model and recognizer: every value identical to the host simulation's
    # (toolchain.frontend, TensorFlow's op) and to the same C frontend built for the host
    assert exact["features_vs_toolchain_frontend"] and exact["features_vs_tflm_c"], report["first_difference"]
    assert exact["outputs"] and exact["decisions"], report["first_difference"]
    hop = _hop_frames(converted)
    if hop is None:
        assert report["frames"] == 249 and report["inferences"] == 201  # 5 s at 20 ms frames, one inference per frame
    else:  # the twin runs once per hop from power-up and decides from the first whole window on
        first = -(-49 // hop) * hop - 1
        assert report["frames"] == 249 and report["hops"] == 249 // hop and exact["hops"], report["first_difference"]
        assert report["inferences"] == 1 + (249 - 1 - first) // hop
    # end to end from the host's own features: every output, decision and detection, the keyword
    # found in both of its shots
    assert exact["end_to_end_outputs"] and exact["end_to_end_decisions"], report["first_difference"]
    assert exact["end_to_end_detections"], (report["detections"], report["host_detections"])
    assert [d["label"] for d in report["detections"]] == ["gelb", "gelb"]
    # what was recorded: report.json and the manifest's measured section, listed with its hash
    manifest = json.loads((out / "firmware_manifest.json").read_text())
    assert manifest["measured"]["cmsis-nn"]["instructions"] == report["instructions"]
    assert json.loads((out / "report.json").read_text())["runs"]["cmsis-nn"]["bit_exact"] == exact
    assert "report.json" in manifest["files"]


def test_instructions_are_counted_per_stage(cmsis_run):
    _, report = cmsis_run
    counts = report["instructions"]
    calibration = counts["calibration"]
    assert abs(calibration["counted_instructions"] - calibration["loop_instructions"]) <= 2 * calibration["resolution_instructions"]
    model = counts["model_per_inference"]
    assert counts["macs"] > 0 and 1.0 < counts["model_per_mac"] < 20  # SIMD MACs: fewer than 2 instructions each is impossible here
    assert model["max"] - model["min"] < 0.01 * model["mean"]  # the same graph each time: data-dependent branches only
    assert 10_000 < counts["frontend_per_frame"] < model["mean"]
    assert 0 < counts["recognizer_per_inference"] < counts["frontend_per_frame"]
    per_second = counts["per_second_of_audio"]
    if "model_per_hop" in counts:  # a streaming twin: its cost is per hop, whatever the recognizer's stride
        assert per_second["model"] == int(counts["model_per_hop"]["mean"] * 1000 / counts["hop_ms"])
    else:
        assert per_second["model"] == int(model["mean"] * 1000 / counts["per_second_at_stride_ms"])
    assert per_second["total"] == per_second["frontend"] + per_second["model"] + per_second["recognizer"]


def test_image_and_arena_fit_the_nano(cmsis_run):
    _, report = cmsis_run
    image = report["image"]
    assert image["text"] > 100_000 and image["bss"] >= report["tensor_arena_size"]  # the arena is a static buffer
    assert report["fits_nano33ble"]["flash"] and report["fits_nano33ble"]["static_ram"]
    assert 0 < report["arena_used_bytes"] <= report["tensor_arena_size"]


def test_reference_kernels_are_bit_exact_and_slower(converted, cmsis_run, tmp_path):
    from toolchain.export.firmware import export_firmware
    from toolchain.firmware.selftest import run_emulated

    out = tmp_path / "firmware"
    export_firmware(converted, "qemu-mps2-an386", out, inference_stride_ms=REFERENCE_STRIDE_MS)
    report = run_emulated(out, "reference")
    exact = report["bit_exact"]
    assert exact["features_vs_toolchain_frontend"] and exact["features_vs_tflm_c"], report["first_difference"]
    assert exact["outputs"] and exact["decisions"] and exact["end_to_end_outputs"], report["first_difference"]
    assert exact["end_to_end_detections"]
    hop = _hop_frames(converted)
    if hop is None:
        assert report["inferences"] == 1 + (249 - 49) // (REFERENCE_STRIDE_MS // 20)
    else:
        assert exact["hops"] and report["hops"] == 249 // hop, report["first_difference"]
    per = "model_per_hop" if hop else "model_per_inference"
    assert report["instructions"][per]["mean"] > 5 * cmsis_run[1]["instructions"][per]["mean"]


def test_measured_instructions_pace_the_nano(converted, cmsis_run, tmp_path):
    from toolchain.export.firmware import export_firmware
    from toolchain.export.measured_latency import CPI_RANGE

    out, report = cmsis_run
    realtime = export_firmware(converted, "nano33ble", tmp_path / "nano", measured=out / "report.json")["realtime"]
    per_inference = report["instructions"]["model_per_inference"]["mean"] + report["instructions"]["recognizer_per_inference"]
    low, high = realtime["latency_ms_range"]
    assert low == pytest.approx(per_inference * CPI_RANGE[0] / 64e6 * 1000, abs=0.01)
    assert high == pytest.approx(per_inference * CPI_RANGE[1] / 64e6 * 1000, abs=0.01)
    assert realtime["latency_ms_estimate"] == high and "counted" in realtime["latency_source"]
    assert realtime["inference_stride_ms"] >= high and realtime["keeps_up"]
    # a traced run (`kws run-emulated --cycles`): each stage at its own estimated CPI, planned on the slow end
    traced = tmp_path / "traced.json"
    stages = {"model": {"cpi": [1.1, 1.2, 1.3]}, "frontend": {"cpi": [1.2, 1.25, 1.4]}}
    traced.write_text(json.dumps({"runs": {"cmsis-nn": dict(report, cycles={"whole_run": {"cpi": [1.0, 1.5, 2.0]}, "stages": stages})}}))
    paced = export_firmware(converted, "nano33ble", tmp_path / "nano-traced", measured=traced)["realtime"]
    assert list(paced["latency_ms_range"]) == [pytest.approx(per_inference * cpi / 64e6 * 1000, abs=0.01) for cpi in (1.1, 1.3)]
    assert paced["latency_ms_estimate"] == paced["latency_ms_range"][1] < high
    assert "estimated from the executed instructions" in paced["latency_source"]
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"runs": {"cmsis-nn": dict(report, model_sha256="0" * 64)}}))
    with pytest.raises(KwsError, match="is not this model"):
        export_firmware(converted, "nano33ble", tmp_path / "nano2", measured=other)


def test_generic_project_builds_from_the_documented_commands(converted, cmsis_run, tmp_path):
    """The cortex-m export, configured as firmware_export/README.md says (TFLM from the cached library
    the same CMakeLists.txt built), links: DebugLog, the CMSIS device header and the kernels resolve."""
    from toolchain.export.firmware import export_firmware
    from toolchain.firmware.build import build_project

    project = Path(export_firmware(converted, "cortex-m", tmp_path / "fw", cpu="cortex-m4")["project_dir"])
    image = build_project(project, "cmsis-nn", tmp_path / "build")
    assert image.elf.is_file() and image.text > 100_000
    symbols = subprocess.run(["arm-none-eabi-nm", str(image.elf)], capture_output=True, text=True, check=True).stdout
    assert " T KwsBoardLog" in symbols or " W KwsBoardLog" in symbols
    assert "RegisterDebugLogCallback" in symbols


def test_counter_calibration_rejects_a_clock_that_is_not_instructions():
    good = ["calibrate 100000 5000", "calibrate 1100000 55000"]
    assert check_calibration(good, Path("x.elf"))["counted_instructions"] == 2_000_000
    with pytest.raises(KwsError, match="not counting instructions"):
        check_calibration(["calibrate 100000 5000", "calibrate 1100000 60000"], Path("x.elf"))
    with pytest.raises(KwsError, match="no instruction-counter calibration"):
        check_calibration(["arena 1 2"], Path("x.elf"))


def test_missing_tools_are_named_with_the_packages_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(tools.shutil, "which", lambda name: None)
    with pytest.raises(KwsError, match="apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc\+\+-arm-none-eabi-newlib qemu-system-arm"):
        tools.require_tools()
    monkeypatch.setenv(tools.TREE_ENV, str(tmp_path))
    with pytest.raises(KwsError, match="not a TFLM tree"):
        tools.find_tflm_tree()


def test_an_arm_compiler_without_its_cxx_library_is_named_before_any_build(monkeypatch):
    # gcc-arm-none-eabi installed without recommends compiles C but has no <cstdarg>: TFLM fails deep in CMake
    monkeypatch.setattr(tools.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(tools, "_arm_cxx_headers", lambda: False)
    with pytest.raises(KwsError, match=r"ARM C\+\+ standard library headers not found: apt-get install .*libstdc\+\+-arm-none-eabi-newlib"):
        tools.require_tools()


def test_a_failed_build_reports_the_compilers_diagnostic_not_a_file_named_error(tmp_path):
    from toolchain.firmware.build import _run

    log = ("[  1%] Building CXX object CMakeFiles/tflm.dir/api/error_reporter.cc.obj\n"
           "api/error_reporter.h:18:10: fatal error: cstdarg: No such file or directory\n"
           "gmake[2]: *** [CMakeFiles/tflm.dir/build.make:76: error_reporter.cc.obj] Error 1\n")
    with pytest.raises(KwsError, match="fatal error: cstdarg: No such file or directory"):
        _run(["bash", "-c", f"printf '{log}'; exit 2"], tmp_path)
