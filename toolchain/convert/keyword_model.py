"""`kws convert`: a keyword model → float and full-integer int8 .tflite, checked and costed.

The representative set is class-balanced and drawn from the model's own data: its stored shots
(augmented), the embedding's unknown-word bank, and generated silence. Every check (ops TFLM lacks,
input quantization the frontend cannot feed, an arena that does not run) happens before OUT appears.
"""
from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np

from toolchain.artifacts import read_manifest, sha256_bytes, staged_directory
from toolchain.audio import load_clip
from toolchain.convert.artifact import KIND, check_device_contract, write_converted_model
from toolchain.convert.cost import latency_ms
from toolchain.convert.stream_twin import convert_twin, write_twin
from toolchain.corpus.background import background_tracks, silence_clips
from toolchain.embedding.artifact import load_embedding
from toolchain.embedding.registry import streaming_hop_frames
from toolchain.errors import KwsError
from toolchain.features import batch_features
from toolchain.fewshot.enroll import load_keyword_model
from toolchain.fewshot.head import augmented_features
from toolchain.frontend import FrontendParams
from toolchain.outputs import claim_artifact
from toolchain.tflite.converter import calibrated_tflite, quantize_calibrated, to_tflite, window_feeds
from toolchain.tflite.flatbuffer import layer_costs, model_io, model_ops
from toolchain.tflite.micro import TFLM_OPS, measure_arena, require_supported

DEFAULT_PER_CLASS = 100  # calibration clips per label: silence, unknown and each keyword


def representative_set(model_dir: Path, manifest: dict, frontend: FrontendParams, per_class: int, seed: int) -> np.ndarray:
    """`per_class` feature maps of every label, from the model's own shots, bank and silence."""
    rng = np.random.default_rng(seed)
    tracks = background_tracks(None, seed)
    parts = [batch_features(silence_clips(tracks, per_class, seed, frontend.clip_samples), frontend).astype(np.float32)]
    embedding = load_embedding(Path(manifest["embedding_path"]))
    bank, _ = embedding.unknown_bank()
    parts.append(bank[rng.choice(len(bank), min(per_class, len(bank)), replace=False)].astype(np.float32))
    for info in manifest["keywords"].values():
        shots = np.stack([load_clip(model_dir / f) for f in info["shot_files"]])
        copies = int(np.ceil(per_class / len(shots)))
        parts.append(augmented_features(shots, copies, seed, tracks, frontend)[:per_class])
    return np.concatenate(parts)


def fixed_batch(model: keras.Model) -> keras.Model:
    """Batch 1, as on the device: a dynamic batch would add SHAPE/PACK ops to the graph."""
    inputs = keras.Input(model.input_shape[1:], batch_size=1, name="features")
    return keras.Model(inputs, model(inputs), name=model.name)


def convert_keyword_model(model_dir: Path, out: Path, per_class: int = DEFAULT_PER_CLASS, seed: int = 0, force: bool = False) -> dict:
    """Convert `model_dir` into `out`: absent, empty, or (with `force`) an earlier converted model; checked first."""
    if per_class < 1:
        raise KwsError(f"--per-class {per_class}: calibration needs at least 1 clip per label (100 is the default)")
    model_dir, out = Path(model_dir), Path(out)
    embedding = read_manifest(model_dir).get("embedding_path")
    inputs = {"MODEL_DIR": model_dir, "its embedding": Path(embedding) if embedding else None}
    with claim_artifact(out, KIND, inputs=inputs, force=force):
        return _convert(model_dir, out, per_class, seed)


def _convert(model_dir: Path, out: Path, per_class: int, seed: int) -> dict:
    started = time.time()
    model, manifest = load_keyword_model(model_dir)
    frontend = FrontendParams.from_dict(manifest["frontend"])
    representative = representative_set(model_dir, manifest, frontend, per_class, seed)
    fixed = fixed_batch(model)
    float_bytes = to_tflite(fixed)
    calibrated = calibrated_tflite(fixed, window_feeds(representative))
    int8_bytes = quantize_calibrated(calibrated)
    ops = model_ops(int8_bytes)
    costs = layer_costs(int8_bytes)
    missing = [f"{row['op']} (layer output {row['output']})" for row in costs if row["op"] not in TFLM_OPS]
    if missing:
        raise KwsError(f"{model_dir}: TFLM has no kernel for {', '.join(missing)}; nothing was written")
    require_supported(ops, f"{model_dir} (int8)")
    model_input, model_output = model_io(int8_bytes)
    check_device_contract(model_dir, frontend, manifest["labels"], model_input, model_output)
    arena = measure_arena(int8_bytes)
    macs = sum(row["macs"] for row in costs)
    hop_frames = _streaming_hop_frames(manifest)
    twin_bytes, stream = convert_twin(model, hop_frames, frontend, representative, int8_bytes, calibrated) if hop_frames else (None, None)
    report = {
        "model": str(model_dir),
        "flash_bytes": len(int8_bytes),
        "float_tflite_bytes": len(float_bytes),
        "arena_bytes_measured": arena,
        "arena_method": "smallest arena with which the tflite-micro interpreter allocates and invokes (binary search, 16-byte steps)",
        "ops": [{"op": op, "tflm_supported": op in TFLM_OPS, "resolver_method": TFLM_OPS.get(op)} for op in ops],
        "layers": costs,
        "total_macs": macs,
        "latency_estimate": latency_ms(macs),
        "representative_samples": int(len(representative)),
        "quantization": {"input": {"scale": model_input.scale, "zero_point": model_input.zero_point},
                         "output": {"scale": model_output.scale, "zero_point": model_output.zero_point},
                         "weights": "int8 per-channel", "activations": "int8 per-tensor"},
        "stream": stream,
    }
    converted = {**manifest, "source_model": str(model_dir), "source_kind": manifest["kind"],
                 "quantization": report["quantization"], "ops": ops, "arena_bytes": arena, "stream": stream,
                 "model_sha256": sha256_bytes(int8_bytes), "float_model_sha256": sha256_bytes(float_bytes),
                 "conversion": {"representative_per_class": per_class, "seed": seed, "wall_time_s": round(time.time() - started, 1)}}
    with staged_directory(out) as stage:
        write_converted_model(stage, model_dir, converted, float_bytes, int8_bytes, report, report_markdown(report))
        if twin_bytes is not None:
            write_twin(stage, twin_bytes)
    return report


def _streaming_hop_frames(manifest: dict) -> int | None:
    """Frames per hop when the keyword model's embedding has a streaming twin (embedding/ds_cnn_stream.py)."""
    embedding = read_manifest(Path(manifest["embedding_path"]))
    return streaming_hop_frames(embedding["architecture"], embedding.get("architecture_params"))


def report_markdown(report: dict) -> str:
    lines = [f"# Device report: {report['model']}", "",
             f"- flash (int8 .tflite): **{report['flash_bytes']:,} bytes**",
             f"- tensor arena (measured on TFLM): **{report['arena_bytes_measured']:,} bytes**",
             f"- multiply-accumulates per 1 s window: **{report['total_macs']:,}**", ""]
    for estimate in report["latency_estimate"].values():
        lines.append(f"- {estimate['core']}: ~{estimate['latency_ms']} ms per inference "
                     f"({estimate['cycles_per_mac']} cycles/MAC, from {estimate['source']})")
    stream = report.get("stream")
    if stream:
        lines += ["", f"Streaming twin (`{stream['file']}`): every {stream['hop_ms']} ms on {stream['hop_frames']} new frames, "
                  f"**{stream['macs_per_hop']:,} MACs per hop = {stream['macs_per_second']:,} per second**, "
                  f"{stream['flash_bytes']:,} bytes flash, arena {stream['arena_bytes']:,} bytes, {len(stream['states'])} state tensors; "
                  f"on {stream['check']['hops_compared']} hops its int8 outputs differ from the whole-window model's by at most "
                  f"{stream['check']['max_abs_int8_difference']} LSB."]
    lines += ["", "| op | TFLM | resolver |", "|---|---|---|"]
    lines += [f"| {o['op']} | {'yes' if o['tflm_supported'] else 'NO'} | {o['resolver_method'] or '—'} |" for o in report["ops"]]
    lines += ["", "| # | op | output shape | weights | MACs |", "|---|---|---|---|---|"]
    lines += [f"| {i} | {r['op']} | {'×'.join(map(str, r['output_shape']))} | {r['weights']:,} | {r['macs']:,} |"
              for i, r in enumerate(report["layers"])]
    return "\n".join(lines) + "\n"
