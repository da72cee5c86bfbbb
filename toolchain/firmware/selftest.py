"""Run an exported self-test firmware on the emulated Cortex-M4F and check it against the host.

    report = run_emulated(Path("OUT"), kernels="cmsis-nn")   # OUT from kws export-firmware --board qemu-mps2-an386

builds the project against the real TFLM (toolchain.firmware.build), runs it on QEMU
(toolchain.firmware.qemu) and replays the same compiled-in audio on the host. Features are compared
with the same C frontend built for the host (toolchain.firmware.host_frontend) and with
`toolchain.frontend` (TensorFlow's op), which it must equal; outputs with the TFLM Python interpreter and decisions with
the Python `Recognizer`, both on the device's own features and end to end from the host's. A
streaming model's firmware runs its twin every hop: each hop's output is compared with the twin on
TFLM fed the same frames, each decision also with the whole-window model. The executed
instructions per stage (per hop for a twin) and per model operator (the board times each one), and
the Nano's share of core time go into `OUT/report.json` (one entry per kernel set) and the `measured`
section of `OUT/firmware_manifest.json`. With `cycles=True` the image runs once more under QEMU's
execution trace and the Nano's pace uses the cycles per instruction estimated from the executed
instructions (toolchain.firmware.cycles) instead of the assumed range.
"""
from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from pathlib import Path

import numpy as np

from toolchain.artifacts import sha256_file, write_json_atomic
from toolchain.errors import KwsError, bad_input
from toolchain.export.measured_latency import CPI_RANGE, CPI_SOURCE, STAGES, latency_ms_range, traced_cpi
from toolchain.firmware.build import build_project
from toolchain.firmware.cycles import trace_cycles
from toolchain.firmware.qemu import INSTRUCTIONS_PER_TICK, MACHINE, check_calibration, run_elf
from toolchain.firmware.tools import KERNELS

FIRMWARE_MANIFEST = "firmware_manifest.json"
REPORT = "report.json"
NANO_RAM_BYTES = 256 * 1024  # nRF52840
NANO_FLASH_BYTES = 1024 * 1024
NANO_BOARD = "nano33ble"
# Issue #10: keyword spotting may take at most 60 % of the Nano's core; audio capture, BLE and the
# application need the rest.
NANO_CORE_SHARE_BUDGET = 0.6


def run_emulated(export_dir: Path, kernels: str = "cmsis-nn", timeout_s: float = 600, cycles: bool = False) -> dict:
    """Build, run and compare one self-test export; return (and record) its report.

    Args:
        export_dir: a `kws export-firmware --board qemu-mps2-an386` output.
        kernels: "cmsis-nn" or "reference" (TFLM's portable kernels).
        timeout_s: QEMU wall-clock limit (of each run).
        cycles: also trace the run and estimate Cortex-M4 cycles (about 100× slower than the counted run).
    Returns:
        the report: bit-exactness of features/outputs/decisions, detections, instruction counts
        per stage, per model operator and per second of audio, image sizes, arena used; with
        `cycles`, a `cycles` section (toolchain.firmware.cycles.summarise) that paces the Nano.
    """
    export_dir = Path(export_dir)
    if kernels not in KERNELS:
        raise KwsError(f"--kernels {kernels}: choose one of {', '.join(KERNELS)}")
    manifest = _firmware_manifest(export_dir)
    project = export_dir / manifest["project"]
    image = build_project(project, kernels)
    run = run_elf(image.elf, timeout_s)
    device = parse_output(run.lines, image.elf)
    if run.exit_code != 0 or not device["done"]:
        last = run.lines[-1] if run.lines else "no output"
        raise KwsError(f"{image.elf}: the self-test stopped (exit {run.exit_code}): {last[:200]}")
    host = host_simulation(manifest, _test_audio(project), _device_features(device, 0))
    comparison = compare(device, host)
    counts = instruction_counts(device, manifest, host)
    estimate = cycle_estimate(image.elf, run, timeout_s) if cycles else None
    report = {
        "board": manifest["board"], "machine": MACHINE, "kernels": kernels, "qemu": _qemu_version(),
        "model_sha256": manifest["source"]["model_sha256"],
        "image": image.to_dict(),
        "fits_nano33ble": {"flash": image.flash_bytes <= NANO_FLASH_BYTES, "static_ram": image.ram_bytes <= NANO_RAM_BYTES,
                           "flash_bytes": NANO_FLASH_BYTES, "ram_bytes": NANO_RAM_BYTES},
        "arena_used_bytes": device["arena_used"], "tensor_arena_size": device["arena_size"],
        "audio_seconds": round(host["audio_samples"] / host["sample_rate"], 3),
        "frames": len(device["features"]), "inferences": len(device["inferences"]), "hops": len(device["hops"]),
        "inference_stride_ms": int(manifest["realtime"]["streaming"]["inference_stride_ms"]),
        **comparison,
        "instructions": counts,
        "nano33ble_pace": nano_pace(counts, estimate),
        "cycles_per_instruction": cycles_per_instruction(estimate),
        **({"cycles": estimate} if estimate else {}),
        "wall_s": run.wall_s,
    }
    _record(export_dir, manifest, kernels, report)
    return report


def parse_output(lines: list[str], where: Path) -> dict:
    """The self-test's printed lines (format: firmware_export/boards/qemu-mps2-an386/main.cc)."""
    device = {"calibration": check_calibration(lines, where), "features": [], "inferences": [], "hops": [], "done": False,
              "arena_used": None, "arena_size": None, "frontend_ticks": None, "ops": []}
    for line in lines:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "error":
            raise KwsError(f"{where}: the firmware reports: {line[6:]}")
        if parts[0] == "arena":
            device["arena_used"], device["arena_size"] = int(parts[1]), int(parts[2])
        elif parts[0] == "feature":
            device["features"].append(np.frombuffer(bytes.fromhex(parts[2]), np.int8))
        elif parts[0] == "hop":
            device["hops"].append({"frame": int(parts[1]), "outputs": np.frombuffer(bytes.fromhex(parts[2]), np.int8),
                                   "model_ticks": int(parts[3])})
        elif parts[0] == "inference":
            frame, now_ms, outputs, label, score_bits, is_new, model_ticks, recognizer_ticks = parts[1:9]
            device["inferences"].append({
                "frame": int(frame), "time_ms": int(now_ms), "outputs": np.frombuffer(bytes.fromhex(outputs), np.int8),
                "label": int(label), "score_bits": int(score_bits), "is_new": is_new == "1",
                "model_ticks": int(model_ticks), "recognizer_ticks": int(recognizer_ticks)})
        elif parts[0] == "op":
            device["ops"].append({"index": int(parts[1]), "op": parts[2], "runs": int(parts[3]), "ticks": int(parts[4])})
        elif parts[0] == "frontend":
            device["frontend_frames"], device["frontend_ticks"] = int(parts[1]), int(parts[2])
        elif parts[0] == "done":
            device["done"] = int(parts[1]) == len(device["inferences"])
    return device


def host_simulation(manifest: dict, audio: np.ndarray, device_features: np.ndarray) -> dict:
    """What the host computes on `audio` with the export's model and recognizer settings: features
    from toolchain.frontend (TensorFlow's op) and from the firmware's C frontend built for the host, and the model (TFLM
    Python interpreter) and Python recognizer both on the host's features (end to end) and on the
    device's own features (so a frontend difference does not hide a model or recognizer one)."""
    from toolchain.convert.artifact import load_converted_model
    from toolchain.firmware.host_frontend import tflm_c_features
    from toolchain.frontend import stream_features
    from toolchain.simulate.runtimes import TflmRunner
    from toolchain.streaming import StreamingParams
    from toolchain.tflite.flatbuffer import layer_costs, subgraph_io, total_macs

    model = load_converted_model(Path(manifest["source"]["model_dir"]))
    model = dataclasses.replace(model, streaming=StreamingParams.from_dict(manifest["realtime"]["streaming"], FIRMWARE_MANIFEST))
    runner = TflmRunner(model)
    features = stream_features(audio, model.frontend)
    stream = model.manifest.get("stream")
    host = {"features": features, "features_tflm_c": tflm_c_features(audio, model.frontend),
            "end_to_end": _pipeline(model, runner, features), "on_device_features": _pipeline(model, runner, device_features),
            "labels": model.labels, "output_scale": float(model.model_output.scale),
            "output_zero_point": int(model.model_output.zero_point), "audio_samples": len(audio),
            "sample_rate": model.frontend.sample_rate, "macs": total_macs(model.int8_path.read_bytes()), "stream": stream,
            "layers": layer_costs(model.int8_path.read_bytes())}
    if stream:
        # the device runs the twin: its scores are quantized as the twin's probabilities output
        twin_output = subgraph_io((model.directory / stream["file"]).read_bytes())[1][stream["probabilities_output"]]
        host.update(hops=_twin_hops(model, device_features), macs=int(stream["macs_per_hop"]),
                    layers=layer_costs((model.directory / stream["file"]).read_bytes()),
                    output_scale=float(twin_output.scale), output_zero_point=int(twin_output.zero_point))
    return host


def _twin_hops(model, frames: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(last frame, int8 outputs) of every hop of the streaming twin on TFLM fed `frames` from power-up,
    as common/model_loop.h feeds it (toolchain.tflite.streaming.TflmStream)."""
    from toolchain.export.settings_header import tensor_arena_size
    from toolchain.tflite.streaming import StreamingIo, TflmStream

    stream = model.manifest["stream"]
    io = StreamingIo(stream["frames_input"], stream["probabilities_output"],
                     tuple((s["name"], s["input"], s["output"]) for s in stream["states"]))
    twin = TflmStream((model.directory / stream["file"]).read_bytes(), io, tensor_arena_size(int(stream["arena_bytes"])))
    hop = int(stream["hop_frames"])
    return [(end - 1, twin.step(frames[end - hop:end])) for end in range(hop, len(frames) + 1, hop)]


def _pipeline(model, runner, frames: np.ndarray) -> dict:
    """Windows every stride frames → posteriors → recognizer decisions, at the device's clock. A streaming
    model's windows end on its hop grid and are scored by its twin as the device runs it (TwinScorer);
    "window_posteriors" are the whole-window model's on the same windows."""
    from toolchain.simulate.recognizer import Recognizer
    from toolchain.simulate.stream import window_end_ms
    from toolchain.convert.artifact import first_window_end
    from toolchain.simulate.twin import TwinScorer

    frontend = model.frontend
    stream = model.manifest.get("stream")
    first = first_window_end(model) if stream else frontend.num_frames - 1
    ends = np.arange(first, len(frames), model.streaming.stride_frames(frontend))
    windows = (np.stack([frames[end - frontend.num_frames + 1:end + 1] for end in ends]) if len(ends)
               else np.zeros((0, *frontend.feature_shape), np.int8))
    window_posteriors = runner.predict(windows)
    if stream:
        with TwinScorer(model) as twin:
            posteriors = twin.push(windows)
    else:
        posteriors = window_posteriors
    times = window_end_ms(model, ends)
    recognizer = Recognizer(model.labels, model.threshold, model.streaming)
    return {"ends": ends, "times": times, "posteriors": posteriors, "window_posteriors": window_posteriors,
            "decisions": [recognizer.process(row, int(t)) for row, t in zip(posteriors, times)]}


def compare(device: dict, host: dict) -> dict:
    """Bit-exactness of features, outputs and recognizer decisions, with the first difference of each."""
    features = _device_features(device, host["features"].shape[1])
    first = {}
    feature_checks = {}
    for name, reference in (("tflm_c", host["features_tflm_c"]), ("toolchain_frontend", host["features"])):
        if features.shape != reference.shape:
            feature_checks[name] = None
            first[f"features_vs_{name}"] = f"device {features.shape[0]} frames, host {reference.shape[0]}"
            continue
        differ = np.argwhere(features != reference)
        feature_checks[name] = int(len(differ))
        if len(differ):
            frame, channel = differ[0]
            first[f"features_vs_{name}"] = (f"{len(differ)} values in {len(set(differ[:, 0]))} frames differ, first frame {frame} "
                                            f"channel {channel}: device {features[frame, channel]}, host {reference[frame, channel]}")
    runs = {}
    for name in ("on_device_features", "end_to_end"):
        outputs, decisions, difference = _compare_inferences(device["inferences"], host[name], host)
        runs[name] = (outputs, decisions)
        first.update({f"{key}_{name}": text for key, text in difference.items()})
    stream = _compare_stream(device, host, first) if host.get("stream") else {}
    labels = host["labels"]
    detections = [{"time_ms": run["time_ms"], "label": labels[run["label"]]} for run in device["inferences"] if run["is_new"]]
    host_detections = [{"time_ms": int(t), "label": labels[d.label]}
                       for t, d in zip(host["end_to_end"]["times"], host["end_to_end"]["decisions"]) if d.is_new]
    return {
        "bit_exact": {
            "features_vs_tflm_c": feature_checks["tflm_c"] == 0,
            "features_vs_toolchain_frontend": feature_checks["toolchain_frontend"] == 0,
            "outputs": runs["on_device_features"][0] == 0, "decisions": runs["on_device_features"][1] == 0,
            "end_to_end_outputs": runs["end_to_end"][0] == 0, "end_to_end_decisions": runs["end_to_end"][1] == 0,
            "end_to_end_detections": detections == host_detections,
            **{name: count == 0 for name, count in stream.items()},
        },
        "mismatches": {"feature_values_vs_tflm_c": feature_checks["tflm_c"],
                       "feature_values_vs_toolchain_frontend": feature_checks["toolchain_frontend"],
                       "outputs": runs["on_device_features"][0], "decisions": runs["on_device_features"][1],
                       "end_to_end_outputs": runs["end_to_end"][0], "end_to_end_decisions": runs["end_to_end"][1],
                       **stream},
        "first_difference": first,
        "detections": detections, "host_detections": host_detections,
    }


def _compare_stream(device: dict, host: dict, first: dict) -> dict:
    """A streaming twin's extra checks: every hop's int8 output against the twin on TFLM fed the same frames
    (`hops`), and each decision's against the whole-window model on TFLM (`outputs_vs_window_model`);
    None when the counts of hops or decisions differ."""
    if len(device["hops"]) != len(host["hops"]):
        first["hops"] = f"device ran {len(device['hops'])} hops, host {len(host['hops'])}"
        hops = None
    else:
        hops = 0
        for run, (frame, outputs) in zip(device["hops"], host["hops"]):
            if run["frame"] != frame or not np.array_equal(run["outputs"], outputs):
                hops += 1
                first.setdefault("hops", f"hop ending on frame {run['frame']}: device {run['outputs'].tolist()}, "
                                         f"host {outputs.tolist()}")
    window = host["on_device_features"]["window_posteriors"]
    if len(device["inferences"]) != len(window):
        return {"hops": hops, "outputs_vs_window_model": None}
    # the posteriors the device's recognizer sees against the whole-window model's
    scale, zero_point = np.float32(host["output_scale"]), np.float32(host["output_zero_point"])
    against_window = 0
    for i, (run, posterior) in enumerate(zip(device["inferences"], window)):
        if not np.array_equal(((run["outputs"].astype(np.float32) - zero_point) * scale).astype(np.float32), posterior):
            against_window += 1
            first.setdefault("outputs_vs_window_model", f"inference {i} (frame {run['frame']}): device {run['outputs'].tolist()}")
    return {"hops": hops, "outputs_vs_window_model": against_window}


def _device_features(device: dict, channels: int) -> np.ndarray:
    return np.array(device["features"]) if device["features"] else np.zeros((0, channels), np.int8)


def _compare_inferences(inferences: list[dict], host_run: dict, host: dict) -> tuple[int | None, int | None, dict]:
    """(output mismatches, decision mismatches, first differences); None counts when the runs differ in length."""
    if len(inferences) != len(host_run["ends"]):
        text = f"device ran {len(inferences)} inferences, host {len(host_run['ends'])}"
        return None, None, {"outputs": text}
    scale, zero_point = np.float32(host["output_scale"]), np.float32(host["output_zero_point"])
    outputs, decisions, first = 0, 0, {}
    for i, (run, end, t, posterior, decision) in enumerate(zip(inferences, host_run["ends"], host_run["times"],
                                                                host_run["posteriors"], host_run["decisions"])):
        # the firmware's dequantisation, in float32: equal posteriors <=> equal int8 outputs
        device_posterior = ((run["outputs"].astype(np.float32) - zero_point) * scale).astype(np.float32)
        if run["frame"] != int(end) or run["time_ms"] != int(t) or not np.array_equal(device_posterior, posterior):
            outputs += 1
            first.setdefault("outputs", f"inference {i} (frame {run['frame']}): device {run['outputs'].tolist()}")
        host_bits = int(np.array(decision.score, np.float32).view(np.uint32))
        if (run["label"], run["score_bits"], run["is_new"]) != (decision.label, host_bits, decision.is_new):
            decisions += 1
            first.setdefault("decisions", f"inference {i}: device {run['label']}/{run['score_bits']:#x}/{run['is_new']}, "
                                          f"host {decision.label}/{host_bits:#x}/{decision.is_new}")
    return outputs, decisions, first


def instruction_counts(device: dict, manifest: dict, host: dict) -> dict:
    """Executed instructions per stage, per inference and per second of audio at the model's own stride;
    for a streaming twin also per hop (it runs every hop, whatever the recognizer's stride)."""
    ticks = np.array([run["model_ticks"] for run in device["inferences"]], np.int64)
    recognizer = np.array([run["recognizer_ticks"] for run in device["inferences"]], np.int64)
    if not len(ticks):
        raise KwsError("self-test: the audio is shorter than one window, nothing was inferred")
    per_inference = int(ticks.mean() * INSTRUCTIONS_PER_TICK)
    audio_s = host["audio_samples"] / host["sample_rate"]
    frontend_per_second = int(device["frontend_ticks"] * INSTRUCTIONS_PER_TICK / audio_s)
    inferences_per_second = 1000 / int(manifest["realtime"]["model_inference_stride_ms"])
    recognizer_per_call = int(recognizer.mean() * INSTRUCTIONS_PER_TICK)
    per_second = {"frontend": frontend_per_second, "model": int(per_inference * inferences_per_second),
                  "recognizer": int(recognizer_per_call * inferences_per_second)}
    per_hop = {}
    if host.get("stream"):
        hop_ticks = np.array([run["model_ticks"] for run in device["hops"]], np.int64)
        hop_ms = int(host["stream"]["hop_ms"])
        per_hop = {"hop_ms": hop_ms,
                   "model_per_hop": {"mean": int(hop_ticks.mean() * INSTRUCTIONS_PER_TICK),
                                     "min": int(hop_ticks.min() * INSTRUCTIONS_PER_TICK),
                                     "max": int(hop_ticks.max() * INSTRUCTIONS_PER_TICK), "hops": int(len(hop_ticks))}}
        per_second["model"] = int(per_hop["model_per_hop"]["mean"] * 1000 / hop_ms)
    per_second["total"] = sum(per_second.values())
    return {
        "calibration": device["calibration"],
        "model_per_inference": {"mean": per_inference, "min": int(ticks.min() * INSTRUCTIONS_PER_TICK),
                                "max": int(ticks.max() * INSTRUCTIONS_PER_TICK)},
        "model_per_mac": round(per_inference / host["macs"], 2) if host["macs"] else None,
        "macs": host["macs"],
        "frontend_per_frame": int(device["frontend_ticks"] * INSTRUCTIONS_PER_TICK / max(1, device["frontend_frames"])),
        "recognizer_per_inference": recognizer_per_call,
        "per_second_of_audio": per_second,
        "per_second_at_stride_ms": int(manifest["realtime"]["model_inference_stride_ms"]),
        **per_hop,
        "per_op": per_op_counts(device["ops"], host["layers"]),
    }


def per_op_counts(ops: list[dict], layers: list[dict]) -> list[dict]:
    """Instructions of each operator per model run (the board's profiler sums them over all runs), beside
    its MACs: which ops a run's instructions go to. The device's op names must be the model file's, in order."""
    if not ops:
        return []  # firmware exported before the board timed its operators
    names = [layer["op"] for layer in layers]
    if [op["op"] for op in ops] != names or [op["index"] for op in ops] != list(range(len(names))):
        raise KwsError(f"self-test: the firmware profiled ops {[op['op'] for op in ops]}, the model has {names}")
    rows = []
    for op, layer in zip(ops, layers):
        instructions = int(op["ticks"] * INSTRUCTIONS_PER_TICK / op["runs"])
        rows.append({"index": op["index"], "op": op["op"], "output_shape": layer["output_shape"], "macs": layer["macs"],
                     "instructions_per_run": instructions,
                     "instructions_per_mac": round(instructions / layer["macs"], 2) if layer["macs"] else None})
    return rows


def cycle_estimate(elf: Path, run, timeout_s: float) -> dict:
    """The `cycles` section: `elf` run again under QEMU's execution trace (toolchain.firmware.cycles). A trace
    whose instructions differ from `-icount`'s, or whose output differs from the counted run's, prices
    another run than the one counted: KwsError."""
    section, lines = trace_cycles(elf, timeout_s)
    check = section["instruction_check"]
    check["same_output_as_counted_run"] = lines == run.lines
    if not (check["ok"] and check["same_output_as_counted_run"]):
        raise KwsError(f"{elf}: the execution trace does not match the counted run ({check}); no cycle estimate")
    return section


def cycles_per_instruction(cycles: dict | None) -> dict:
    """The CPI the pace used: estimated for the measured stages (P = 1..3, typical P = 2), else CPI_RANGE."""
    if not cycles:
        return {"range": list(CPI_RANGE), "source": CPI_SOURCE}
    cpi = (cycles["stages"] or {}).get("measured", cycles["whole_run"])["cpi"]
    return {"range": [cpi[0], cpi[2]], "estimate": cpi[1], "source": cycles["source"]}


def nano_pace(counts: dict, cycles: dict | None = None) -> dict:
    """The Nano 33 BLE's share of core time for this firmware, from the instructions counted per second of
    audio (frontend + model + recognizer), against issue #10's budget. With a `cycles` section each stage's
    instructions are priced at its estimated CPI (range P = 1..3, estimate P = 2); without, over CPI_RANGE."""
    from toolchain.convert.cost import CORE_MODELS
    from toolchain.export.firmware import BOARDS

    core = CORE_MODELS[BOARDS[NANO_BOARD].core]
    per_second = counts["per_second_of_audio"]
    model = counts.get("model_per_hop", counts["model_per_inference"])["mean"]
    pace = {"board": NANO_BOARD, "core": core.name, "instructions_per_second": per_second["total"]}
    if not cycles:
        share = [round(per_second["total"] * cpi / core.clock_hz, 4) for cpi in CPI_RANGE]
        return dict(pace, core_share_range=share, core_share_budget=NANO_CORE_SHARE_BUDGET,
                    within_budget=share[1] <= NANO_CORE_SHARE_BUDGET, decision_every_ms=counts["per_second_at_stride_ms"],
                    model_ms_per_run_range=list(latency_ms_range(model, core.clock_hz)), cpi_source="assumed")
    cpi = traced_cpi({"cycles": cycles})
    cycles_per_second = [sum(per_second[stage] * cpi[stage][p] for stage in STAGES) for p in range(3)]
    share = [round(c / core.clock_hz, 4) for c in cycles_per_second]
    return dict(pace, core_share_range=[share[0], share[2]], core_share_budget=NANO_CORE_SHARE_BUDGET,
                within_budget=share[2] <= NANO_CORE_SHARE_BUDGET, decision_every_ms=counts["per_second_at_stride_ms"],
                model_ms_per_run_range=list(latency_ms_range(model, core.clock_hz, (cpi["model"][0], cpi["model"][2]))),
                cpi_source="estimated from the executed instructions (kws run-emulated --cycles)"
                + (f"; whole-run CPI for {', '.join(cpi['whole_run_for'])}" if cpi["whole_run_for"] else ""),
                core_share_estimate=share[1], within_budget_estimate=share[1] <= NANO_CORE_SHARE_BUDGET,
                model_ms_per_run_estimate=latency_ms_range(model, core.clock_hz, (cpi["model"][1],) * 2)[0],
                cycles_per_second=[int(c) for c in cycles_per_second], cycles_per_instruction=cpi)


def _firmware_manifest(export_dir: Path) -> dict:
    path = export_dir / FIRMWARE_MANIFEST
    if not path.is_file():
        raise bad_input(export_dir, f"no {FIRMWARE_MANIFEST}: not a `kws export-firmware` output")
    manifest = json.loads(path.read_text())
    if manifest.get("board") != "qemu-mps2-an386":
        raise bad_input(path, f"board {manifest.get('board')!r} has no emulated self-test; export with --board qemu-mps2-an386")
    return manifest


def _test_audio(project: Path) -> np.ndarray:
    """The samples compiled into the firmware, read back from the generated source."""
    source = project / "test_audio.cc"
    if not source.is_file():
        raise bad_input(project, "no test_audio.cc")
    text = source.read_text()
    return np.array([int(v) for v in re.findall(r"-?\d+", text[text.index("{") + 1:])], np.int16)


def _qemu_version() -> str:
    out = subprocess.run(["qemu-system-arm", "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else "unknown"


def _record(export_dir: Path, manifest: dict, kernels: str, report: dict) -> None:
    report_path = export_dir / REPORT
    runs = json.loads(report_path.read_text()).get("runs", {}) if report_path.is_file() else {}
    runs[kernels] = report
    write_json_atomic(report_path, {"kind": "emulated_firmware_report", "runs": runs})
    summary = {k: {"instructions": r["instructions"], "image": r["image"], "arena_used_bytes": r["arena_used_bytes"],
                   "bit_exact": r["bit_exact"], "cycles_per_instruction": r["cycles_per_instruction"],
                   "nano33ble_pace": r["nano33ble_pace"]}
               for k, r in runs.items()}
    # report.json joins the export's file list, so a later `--force` export knows it as its own
    files = dict(manifest.get("files") or {}, **{REPORT: sha256_file(report_path)})
    write_json_atomic(export_dir / FIRMWARE_MANIFEST, dict(manifest, measured=summary, files=files))


def summary_lines(report: dict) -> list[str]:
    """What `kws run-emulated` prints."""
    counts, image = report["instructions"], report["image"]
    per_second = counts["per_second_of_audio"]
    exact = report["bit_exact"]
    yes = {True: "identical", False: "DIFFERENT"}
    detections = ", ".join(f"{d['label']} at {d['time_ms']} ms" for d in report["detections"])
    lines = [
        f"{report['board']} ({report['kernels']} kernels): {report['audio_seconds']:g} s of audio, {report['frames']} frames, "
        f"{report['inferences']} inferences, QEMU {report['wall_s']:g} s",
        f"features vs TFLM C frontend on the host: {yes[exact['features_vs_tflm_c']]}; vs toolchain.frontend: "
        f"{yes[exact['features_vs_toolchain_frontend']]} ({report['mismatches']['feature_values_vs_toolchain_frontend']} values differ)",
        f"outputs and recognizer on the device's features: {yes[exact['outputs'] and exact['decisions']]}; end to end: outputs "
        f"{yes[exact['end_to_end_outputs']]}, detections {yes[exact['end_to_end_detections']]} "
        f"({detections or 'none'})",
        f"instructions per inference: {counts['model_per_inference']['mean']:,} ({counts['model_per_mac']} per MAC); "
        f"frontend {counts['frontend_per_frame']:,} per frame; recognizer {counts['recognizer_per_inference']:,} per inference",
        f"per second of audio (inference every {counts['per_second_at_stride_ms']} ms): frontend {per_second['frontend']:,}, "
        f"model {per_second['model']:,}, recognizer {per_second['recognizer']:,}",
        f"image: text {image['text']:,} B, data {image['data']:,} B, bss {image['bss']:,} B; arena used "
        f"{report['arena_used_bytes']:,} of {report['tensor_arena_size']:,} B",
    ]
    if "hop_ms" in counts:
        lines.insert(3, f"streaming twin: {report['hops']} hops of {counts['hop_ms']} ms, every hop's output vs the twin on TFLM: "
                        f"{yes[exact['hops']]}; decisions vs the whole-window model: {yes[exact['outputs_vs_window_model']]}; "
                        f"{counts['model_per_hop']['mean']:,} instructions per hop")
    by_op = {}
    for row in counts["per_op"]:
        by_op[row["op"]] = by_op.get(row["op"], 0) + row["instructions_per_run"]
    run = max(1, sum(by_op.values()))
    lines.append("instructions per run by op: " + ", ".join(f"{op} {count:,} ({count / run:.0%})" for op, count in
                                                              sorted(by_op.items(), key=lambda item: -item[1])))
    lines += _cycle_lines(report["cycles"]) if report.get("cycles") else []
    pace = report["nano33ble_pace"]
    low, high = pace["core_share_range"]
    verdict = {True: "within", False: "OVER"}
    if "core_share_estimate" in pace:
        share = (f"{pace['core_share_estimate']:.0%} of the core at the estimated CPI, {low:.1%}–{high:.1%} for P = 1..3 "
                 f"(budget {pace['core_share_budget']:.0%}: {verdict[pace['within_budget_estimate']]}, "
                 f"at P = 3 {verdict[pace['within_budget']]})")
    else:
        share = (f"{low:.0%}–{high:.0%} of the core at CPI {CPI_RANGE[0]:g}–{CPI_RANGE[1]:g} assumed "
                 f"(budget {pace['core_share_budget']:.0%}: {verdict[pace['within_budget']]})")
    lines.append(f"{pace['board']} ({pace['core']}): {pace['instructions_per_second']:,} instructions per second of audio = "
                 f"{share}; a decision every {pace['decision_every_ms']} ms")
    return lines


def _cycle_lines(cycles: dict) -> list[str]:
    """The `cycles` section in three lines: CPI per stage, where the cycles go, the trace against -icount."""
    stages = cycles["stages"] or {"whole run": cycles["whole_run"]}
    check = cycles["instruction_check"]
    cpi = ", ".join(f"{name} {'/'.join(f'{v:.3f}' for v in stages[name]['cpi'])}"
                    for name in ("frontend", "model", "recognizer", "measured", "whole run") if name in stages)
    top = ", ".join(f"{row['function'].split('(')[0]} {row['share_of_cycles']:.0%} (CPI {row['cpi'][1]:.2f})"
                    for row in cycles["functions"][:5])
    return [f"cycles per instruction at P = 1/2/3 (Cortex-M4 TRM timings of the executed instructions, zero wait states): {cpi}",
            f"most cycles: {top}",
            f"trace vs -icount: {check['trace_instructions_between_first_and_last_read']:,} vs "
            f"{check['icount_instructions_between_first_and_last_read']:,} instructions over {check['timer_reads']} timer reads "
            f"(difference {check['difference']}, worst interval {check['worst_interval_difference']}, one tick "
            f"{check['resolution_instructions']}); {check['trace_instructions']:,} traced in all"]
