"""Export a converted keyword model as a firmware project for one board.

    export_firmware(Path("runs/hello/converted"), "nano33ble", Path("runs/hello/firmware"))

writes generated sources (model bytes, op resolver, settings) next to a copy of the static
templates in `firmware_export/`, plus `firmware_manifest.json` with a sha256 per file. Every check
runs before the first byte is written, and the output directory appears whole or not at all.
"""
from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path

from toolchain.artifacts import sha256_bytes, sha256_file, staged_directory, write_json_atomic
from toolchain.convert.artifact import load_converted_model
from toolchain.convert.cost import CORE_MODELS, CoreModel, core_latency_ms, core_model
from toolchain.errors import KwsError
from toolchain.export.c_arrays import array_header, array_source
from toolchain.export.op_resolver import resolver_header
from toolchain.export.settings_header import settings_header, tensor_arena_size
from toolchain.export.test_audio import test_audio_files, test_audio_samples
from toolchain.export.measured_latency import measured_latency, measured_load
from toolchain.frontend import FrontendParams
from toolchain.outputs import claim_artifact
from toolchain.streaming import StreamingParams, audio_ring_samples, max_inference_stride_ms
from toolchain.convert.artifact import first_window_end
from toolchain.tflite.flatbuffer import model_ops, subgraph_io, total_macs
from toolchain.tflite.micro import require_supported

TEMPLATES = Path(__file__).resolve().parents[2] / "firmware_export"
FIRMWARE_MANIFEST = "firmware_manifest.json"
FIRMWARE_KIND = "firmware_export"


@dataclass(frozen=True)
class Board:
    """A target the exporter knows how to build a project for."""

    name: str
    description: str
    builder: str  # "arduino" (arduino-cli sketch) or "cmake"
    project: str  # project folder name; for a sketch also the .ino name
    fqbn: str | None = None
    arena_budget_bytes: int | None = None  # RAM left for the arena after OS, audio and frontend
    core: str | None = None  # key of convert.cost.CORE_MODELS: the latency model for this board
    layer: str | None = None  # folder of firmware_export/boards/ laid over the builder's templates
    cpu: str | None = None  # the core, where the board fixes it


BOARDS: dict[str, Board] = {
    "nano33ble": Board(
        "nano33ble", "Arduino Nano 33 BLE Sense", "arduino", "kws_keyword",
        fqbn="arduino:mbed_nano:nano33ble",
        # 256 KiB SRAM; mbed OS, a 512 ms PDM ring buffer and the frontend state take about 96 KiB.
        arena_budget_bytes=160 * 1024,
        core="cortex-m4@64MHz",
    ),
    "cortex-m": Board("cortex-m", "generic Cortex-M board (CMake, arm-none-eabi-gcc, pyOCD)", "cmake", "kws_app"),
    "qemu-mps2-an386": Board(
        "qemu-mps2-an386", "QEMU mps2-an386, an emulated Cortex-M4F (self-test on compiled-in audio)", "cmake", "kws_app",
        layer="qemu-mps2-an386", cpu="cortex-m4",
    ),
}
BOARD_NAMES = tuple(BOARDS)
REALTIME_MARGIN = 1.15  # headroom over the estimated inference time for the frontend and audio capture
CPUS = ("cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")


def export_firmware(
    model_dir: Path,
    board: str,
    out: Path,
    cpu: str = "cortex-m4",
    pyocd_target: str | None = None,
    inference_stride_ms: int | None = None,
    clock_mhz: float | None = None,
    test_audio: "np.ndarray | None" = None,
    measured: Path | None = None,
    force: bool = False,
) -> dict:
    """Write the firmware project for `board` into `out`; return a summary.

    Args:
        model_dir: a `kws convert` output (model_int8.tflite + manifest.json). When its embedding streams
            (a "stream" block in the manifest), the firmware runs the streaming twin beside it instead,
            once per hop (firmware_export/common/model_loop.h).
        board: a key of BOARDS.
        out: export directory, written atomically: absent, empty, or (with `force`) an earlier export
            whose files are all as exported. Files a user added or edited there are named and refused,
            never deleted.
        cpu: Cortex-M core for the `cortex-m` board (ignored for Arduino boards).
        pyocd_target: pyOCD target name remembered for `kws flash` (`cortex-m` only).
        inference_stride_ms: how often the firmware runs the model. None: the model's own stride,
            lengthened where the board's estimated inference time would not keep up.
        clock_mhz: core clock of the `cortex-m` board, for its latency estimate (Cortex-M4/M7 only);
            refused for boards whose clock is fixed.
        test_audio: int16 samples at the frontend's rate compiled into an emulated board's self-test
            (`qemu-mps2-an386`); None: five seconds of quiet noise with two of the model's shots.
        measured: a `kws run-emulated` report.json of this model; the board's pace then comes from
            the instructions counted on the emulated Cortex-M4 (× a cycles-per-instruction range)
            instead of from MACs × cycles per MAC.
        force: replace an earlier export in `out`.
    """
    model_dir, out = Path(model_dir), Path(out)
    _check_clock(_board(board), clock_mhz)
    with claim_artifact(out, FIRMWARE_KIND, inputs={"MODEL_DIR": model_dir}, force=force, manifest_name=FIRMWARE_MANIFEST):
        return _export(model_dir, board, out, cpu, pyocd_target, inference_stride_ms, clock_mhz, test_audio, measured)


def _check_clock(spec: Board, clock_mhz: float | None) -> None:
    if clock_mhz is None:
        return
    if not (math.isfinite(clock_mhz) and clock_mhz > 0):
        raise KwsError(f"--clock-mhz {clock_mhz}: give the core clock as a positive number of MHz")
    if spec.core:
        raise KwsError(f"--clock-mhz {clock_mhz}: the {spec.description} runs at a fixed clock ({spec.core}); "
                       "leave --clock-mhz out")


def _export(model_dir: Path, board: str, out: Path, cpu: str, pyocd_target: str | None, inference_stride_ms: int | None,
            clock_mhz: float | None, test_audio: "np.ndarray | None", measured: Path | None) -> dict:
    spec = _board(board)
    cpu = spec.cpu or cpu
    if spec.builder == "cmake" and cpu not in CPUS:
        raise KwsError(f"--cpu {cpu}: unknown core, choose one of {', '.join(CPUS)}")
    converted = load_converted_model(model_dir)
    manifest, frontend = converted.manifest, converted.frontend
    model_input, model_output = converted.model_input, converted.model_output
    stream = _stream_schedule(converted)
    model_path = converted.directory / stream["file"] if stream else converted.int8_path
    model = model_path.read_bytes()
    if stream:
        inputs, outputs = subgraph_io(model)
        model_input, model_output = inputs[stream["frames_input"]], outputs[stream["probabilities_output"]]
    ops = model_ops(model)
    require_supported(ops, str(model_path))
    arena = tensor_arena_size(int((stream or manifest)["arena_bytes"]))
    core = CORE_MODELS[spec.core] if spec.core else (core_model(cpu, clock_mhz) if clock_mhz else None)
    if spec.builder == "cmake" and clock_mhz and core is None:
        raise KwsError(f"--clock-mhz: no latency model for {cpu} (have: cortex-m4, cortex-m7)")
    if measured and core is None:
        raise KwsError(f"--measured {measured}: the {spec.description} has no known clock; give --clock-mhz")
    load = measured_load(measured, sha256_bytes(model)) if measured else None
    realtime = realtime_plan(core, converted.streaming, frontend, model, inference_stride_ms, load, stream)
    if spec.arena_budget_bytes is not None:
        # the board's budget already counts the shortest ring; a longer one comes out of the arena's share
        longer_ring = max(0, 2 * (realtime["audio_ring_samples"] - audio_ring_samples(frontend.sample_rate, 0)))
        budget = spec.arena_budget_bytes - longer_ring
        if arena > budget:
            ring_note = (f" after a {longer_ring:,} B longer microphone ring for an inference every {realtime['inference_stride_ms']} ms"
                         if longer_ring else "")
            raise KwsError(f"{model_dir}: tensor arena {arena:,} B does not fit {spec.description} (budget {budget:,} B{ring_note}); "
                           "use a smaller model" + (" or a shorter --inference-stride-ms" if longer_ring else ""))
    device_manifest = dict(manifest, streaming=realtime["streaming"])

    model_sha = sha256_bytes(model)
    generated = {
        "model_data.h": array_header("g_model", "KWS_MODEL_DATA_H_"),
        "model_data.cc": array_source(model, "g_model", "model_data.h", note=f"{model_path.name} sha256 {model_sha}"),
        "op_resolver.h": resolver_header(ops),
        "model_settings.h": settings_header(device_manifest, frontend, model_input, model_output, model_sha,
                                            realtime["audio_ring_samples"], stream),
    }
    project_rel = Path(spec.name) / spec.project
    with staged_directory(out, manifest_name=FIRMWARE_MANIFEST) as staging:
        for name, text in generated.items():
            (staging / name).write_text(text, encoding="utf-8")
        project = staging / project_rel
        _copy_templates(spec, project)
        for name, text in generated.items():
            # arduino-cli compiles .cpp but not .cc files in a sketch folder.
            target = name.replace(".cc", ".cpp") if spec.builder == "arduino" else name
            (project / target).write_text(text, encoding="utf-8")
        if spec.builder == "cmake":
            (project / "kws_target.cmake").write_text(
                f'# Generated by `kws export`; do not edit.\nset(KWS_CPU "{cpu}" CACHE STRING "Cortex-M core passed to -mcpu")\n'
                f'# The model\'s ops: CMakeLists.txt compiles only their TFLM kernels.\nset(KWS_TFLM_OPS {" ".join(ops)})\n',
                encoding="utf-8",
            )
        if spec.layer:
            for name, text in test_audio_files(test_audio_samples(test_audio, frontend, model_dir), frontend.sample_rate).items():
                (project / name).write_text(text, encoding="utf-8")
        files = {p.relative_to(staging).as_posix(): sha256_file(p) for p in sorted(staging.rglob("*")) if p.is_file()}
        firmware_manifest = {
            "kind": FIRMWARE_KIND,
            "board": spec.name,
            "board_description": spec.description,
            "builder": spec.builder,
            "project": project_rel.as_posix(),
            "fqbn": spec.fqbn,
            "cpu": cpu if spec.builder == "cmake" else None,
            "pyocd_target": pyocd_target if spec.builder == "cmake" else None,
            "source": {
                "model_dir": str(model_dir.resolve()),
                "model_file": model_path.name,
                "model_sha256": model_sha,
                "manifest_model_sha256": manifest.get("model_sha256"),
                "embedding_hash": manifest.get("embedding_hash"),
            },
            "frontend": frontend.to_dict(),
            "labels": list(manifest["labels"]),
            "ops": ops,
            "tensor_arena_size": arena,
            "realtime": realtime,
            "stream": _stream_summary(stream),
            "files": files,
        }
        write_json_atomic(staging / FIRMWARE_MANIFEST, firmware_manifest)
    return {
        "board": spec.name,
        "out": str(out),
        "project_dir": str(out / project_rel),
        "ops": ops,
        "op_count": len(ops),
        "model_bytes": len(model),
        "model_sha256": model_sha,
        "tensor_arena_size": arena,
        "realtime": realtime,
        "stream": _stream_summary(stream),
        "labels": list(manifest["labels"]),
        "files": sorted(files),
    }


def _stream_schedule(converted) -> dict | None:
    """The converted manifest's "stream" block and the frame of the first decision, when the embedding streams."""
    stream = converted.manifest.get("stream")
    if not stream:
        return None
    if not (converted.directory / stream["file"]).is_file():
        raise KwsError(f"{converted.directory / stream['file']}: missing: the converted model directory is incomplete; "
                       "run `kws convert` again")
    return dict(stream, first_decision_frame=first_window_end(converted))


def _stream_summary(stream: dict | None) -> dict | None:
    """What firmware_manifest.json says about the twin the firmware runs."""
    if not stream:
        return None
    return {"file": stream["file"], "hop_frames": stream["hop_frames"], "hop_ms": stream["hop_ms"],
            "first_decision_frame": stream["first_decision_frame"], "states": len(stream["states"]),
            "macs_per_hop": stream["macs_per_hop"]}


def realtime_plan(core: CoreModel | None, model_streaming: StreamingParams, frontend: FrontendParams, model: bytes,
              stride_ms: int | None, load: dict | None = None, stream: dict | None = None) -> dict:
    """The inference stride the board can sustain, the recognizer settings that go with it, and the
    microphone ring that holds the audio arriving while one inference runs."""
    if stream:
        return _stream_realtime(core, model_streaming, frontend, model, stride_ms, load, stream)
    latency_range, source = None, "MACs × cycles per MAC" if core else None
    if load and core:
        # counted instructions; the frontend runs on every frame, whatever the stride, and takes its share first
        latency_range, frontend_share, source = measured_latency(load, core.clock_hz, "inference")
        estimate = latency_range[1]
        if frontend_share >= 1:
            raise KwsError(f"the micro frontend alone needs {frontend_share:.0%} of {core.name}: use a faster core")
        busy_ms = estimate / (1 - frontend_share) * REALTIME_MARGIN
    else:
        estimate = core_latency_ms(total_macs(model), core) if core else None
        busy_ms = estimate * REALTIME_MARGIN if estimate is not None else 0.0
    model_stride = model_streaming.inference_stride_ms
    if stride_ms is None:
        step = frontend.window_step_ms
        stride_ms = max(model_stride, step * math.ceil(busy_ms / step))
        if stride_ms > max_inference_stride_ms(frontend):
            raise KwsError(f"~{estimate:.0f} ms per inference on {core.name} (estimate) needs an inference every {stride_ms} ms, "
                           f"longer than the {max_inference_stride_ms(frontend)} ms a small board's microphone ring can cover; "
                           "use a smaller model or a faster core")
    streaming = model_streaming if stride_ms == model_stride else model_streaming.at_stride(stride_ms, frontend)
    return {"core": core.name if core else None, "latency_ms_estimate": estimate, "model_inference_stride_ms": model_stride,
            "inference_stride_ms": stride_ms, "slowed_down": stride_ms > model_stride,
            "keeps_up": busy_ms <= stride_ms, "latency_source": source, "latency_ms_range": latency_range,
            "audio_ring_samples": audio_ring_samples(frontend.sample_rate, max(stride_ms, math.ceil(busy_ms))),
            "streaming": streaming.to_dict()}


def _board(board: str) -> Board:
    if board not in BOARDS:
        raise KwsError(f"--board {board}: unknown board, choose one of {', '.join(BOARDS)}")
    return BOARDS[board]


def _copy_templates(spec: Board, project: Path) -> None:
    sources = [TEMPLATES / spec.builder, TEMPLATES / "common"] + ([TEMPLATES / "boards" / spec.layer] if spec.layer else [])
    for folder in sources:
        if not folder.is_dir():
            raise KwsError(f"{folder}: firmware templates missing from this installation")
    project.mkdir(parents=True)
    for folder in sources:
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.name != "README.md":
                shutil.copy2(path, project / path.name)


def _stream_realtime(core: CoreModel | None, model_streaming: StreamingParams, frontend: FrontendParams, model: bytes,
                     stride_ms: int | None, load: dict | None, stream: dict) -> dict:
    """`realtime_plan` for a streaming twin: it runs every hop whatever the recognizer's stride, so a slow
    board cannot be paced by a longer stride; the hop's work must fit the hop."""
    hop_ms = int(stream["hop_ms"])
    model_stride = model_streaming.inference_stride_ms
    stride_ms = model_stride if stride_ms is None else stride_ms
    if stride_ms % hop_ms:
        raise KwsError(f"--inference-stride-ms {stride_ms}: the streaming model updates every {hop_ms} ms; "
                       "give a multiple of it")
    latency_range, source, estimate, frontend_share = None, "MACs × cycles per MAC" if core else None, None, 0.0
    if load and core:
        latency_range, frontend_share, source = measured_latency(load, core.clock_hz, "hop")
        estimate = latency_range[1]
    elif core:
        estimate = core_latency_ms(total_macs(model), core)
    busy_ms = estimate / max(1e-9, 1 - frontend_share) * REALTIME_MARGIN if estimate is not None else 0.0
    if busy_ms > hop_ms:
        raise KwsError(f"~{estimate:.0f} ms per {hop_ms} ms hop of the streaming model on {core.name} ({source}): "
                       "the board cannot keep up; use a smaller model or a faster core")
    streaming = model_streaming if stride_ms == model_stride else model_streaming.at_stride(stride_ms, frontend)
    return {"core": core.name if core else None, "latency_ms_estimate": estimate, "model_inference_stride_ms": model_stride,
            "inference_stride_ms": stride_ms, "slowed_down": stride_ms > model_stride, "keeps_up": busy_ms <= hop_ms,
            "latency_source": source, "latency_ms_range": latency_range, "hop_ms": hop_ms,
            "core_share_estimate": round(estimate / hop_ms + frontend_share, 4) if estimate is not None else None,
            "audio_ring_samples": audio_ring_samples(frontend.sample_rate, max(stride_ms, math.ceil(busy_ms))),
            "streaming": streaming.to_dict()}
