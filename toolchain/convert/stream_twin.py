"""The streaming twin of a keyword model whose embedding streams (embedding/ds_cnn_stream.py).

Beside the whole-window int8 model, `kws convert` then writes `model_stream_int8.tflite`: the same
weights run once per hop on the hop's new frames, with each layer's state as extra inputs and
outputs (their positions recorded in the manifest, so the firmware and the simulator copy each
state output back to its input). Before anything is written the twin is played on TFLM over the
representative windows laid end to end, and every hop's int8 output is compared with the
whole-window int8 model's on the window ending there.
"""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from toolchain.artifacts import write_bytes_atomic
from toolchain.embedding.streaming_form import FRAMES_INPUT, PROBABILITIES, streaming_form
from toolchain.errors import KwsError
from toolchain.frontend import FrontendParams
from toolchain.tflite.converter import calibrated_tflite, quantize_calibrated
from toolchain.tflite.flatbuffer import total_macs
from toolchain.tflite.micro import measure_arena, tflm_interpreter
from toolchain.tflite.shared_ranges import with_window_ranges
from toolchain.tflite.streaming import TflmStream, calibration_feeds, streaming_io

STREAM_FILE = "model_stream_int8.tflite"


def _whole_window_outputs(int8_bytes: bytes, windows: np.ndarray) -> np.ndarray:
    interpreter = tflm_interpreter(int8_bytes)
    out = []
    for window in windows:
        interpreter.set_input(window[None].astype(np.int8), 0)
        interpreter.invoke()
        out.append(interpreter.get_output(0).reshape(-1).copy())
    return np.stack(out).astype(np.int8)


def convert_twin(model: keras.Model, hop_frames: int, frontend: FrontendParams, representative: np.ndarray,
                 whole_int8: bytes, whole_calibrated: bytes) -> tuple[bytes, dict]:
    """(twin .tflite bytes, the manifest's "stream" block) for a whole-window keyword model, given
    that model as int8 and as calibrated float (tflite.converter.calibrated_tflite): the twin is
    quantized with the window model's activation ranges (tflite/shared_ranges.py)."""
    frames = frontend.num_frames
    twin, states = streaming_form(model, hop_frames)
    shapes = {s.name: s.shape for s in states}
    # every range then comes from the window model (with_window_ranges checks it): one window's hops suffice
    twin_calibrated = calibrated_tflite(twin, calibration_feeds(twin, shapes, representative[:1], FRAMES_INPUT, hop_frames))
    twin_bytes = quantize_calibrated(with_window_ranges(twin_calibrated, whole_calibrated))
    io = streaming_io(twin_bytes, FRAMES_INPUT, PROBABILITIES, shapes)
    stream = np.clip(representative, -128, 127).astype(np.int8).reshape(-1, frontend.num_channels)
    device = TflmStream(twin_bytes, io)
    hops = len(stream) // hop_frames
    streamed = np.stack([device.step(stream[k * hop_frames:(k + 1) * hop_frames]) for k in range(hops)])
    ends = (np.arange(hops) + 1) * hop_frames
    valid = np.flatnonzero(ends >= frames)
    if len(valid) == 0:
        raise KwsError(f"convert: too few representative frames ({len(stream)}) to check the streaming model")
    whole = _whole_window_outputs(whole_int8, np.stack([stream[ends[i] - frames:ends[i]] for i in valid]))
    difference = np.abs(streamed[valid].astype(np.int32) - whole.astype(np.int32))
    hop_macs = total_macs(twin_bytes)
    hop_ms = hop_frames * frontend.window_step_ms
    block = {
        "file": STREAM_FILE,
        "hop_frames": hop_frames,
        "hop_ms": hop_ms,
        "frames_input": io.frames_input,
        "probabilities_output": io.probabilities_output,
        "states": [{"name": name, "input": i, "output": o, "shape": list(shapes[name])} for name, i, o in io.states],
        "arena_bytes": measure_arena(twin_bytes),
        "flash_bytes": len(twin_bytes),
        "macs_per_hop": hop_macs,
        "macs_per_second": hop_macs * 1000 // hop_ms,
        "check": {"hops_compared": int(len(valid)), "max_abs_int8_difference": int(difference.max()),
                  "identical_fraction": round(float(np.mean(difference == 0)), 6),
                  "against": "whole-window int8 model on TFLM, on the window ending at each hop"},
    }
    return twin_bytes, block


def write_twin(stage: Path, twin_bytes: bytes) -> None:
    write_bytes_atomic(Path(stage) / STREAM_FILE, twin_bytes)
