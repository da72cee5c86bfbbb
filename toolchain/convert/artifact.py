"""The converted keyword model: its kind, files, writer, loader, and the device contract it must keep.

`kws convert` writes it; `kws export-firmware`, `simulate` and `stream` load it through
`load_converted_model`, so every reader refuses the same things with the same one-line error:
an int8 input the frontend's features cannot be copied into unchanged (scale 1, zero point 0, the
frontend's frames × channels), an output that is not one int8 value per label, a manifest without
its frontend, threshold, streaming settings or measured arena.
"""
from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path

from toolchain.artifacts import MANIFEST, read_manifest, write_bytes_atomic, write_json_atomic
from toolchain.errors import KwsError, bad_input
from toolchain.frontend import FrontendParams
from toolchain.streaming import StreamingParams
from toolchain.tflite.flatbuffer import TensorInfo, model_io

KIND = "converted_keyword_model"
KERAS_FILE = "model.keras"
FLOAT_FILE = "model_float.tflite"
INT8_FILE = "model_int8.tflite"
REPORT_FILE = "report.json"
REPORT_MARKDOWN_FILE = "report.md"
SHOTS_DIR = "shots"
CONVERTED_FILES = (KERAS_FILE, FLOAT_FILE, INT8_FILE, MANIFEST, REPORT_FILE, REPORT_MARKDOWN_FILE)


@dataclass(frozen=True)
class ConvertedModel:
    """What `kws convert` wrote, checked once on load."""

    directory: Path
    manifest: dict
    labels: list[str]
    frontend: FrontendParams
    threshold: float
    streaming: StreamingParams
    model_input: TensorInfo
    model_output: TensorInfo

    @property
    def int8_path(self) -> Path:
        return self.directory / INT8_FILE

    @property
    def keras_path(self) -> Path:
        return self.directory / KERAS_FILE


def first_window_end(model: ConvertedModel) -> int:
    """Index of the last frame of the first window a model's streaming twin answers for: the device
    runs the twin from power-up, so its hops end on multiples of the hop."""
    hop, frames = model.manifest["stream"]["hop_frames"], model.frontend.num_frames
    return -(-frames // hop) * hop - 1


def check_device_contract(model_path: Path, frontend: FrontendParams, labels: list[str],
                          model_input: TensorInfo, model_output: TensorInfo) -> None:
    """The int8 flatbuffer takes the frontend's int8 map unchanged and gives one int8 score per label."""
    frames, channels = frontend.feature_shape
    if model_input.dtype != "int8" or model_input.shape[:1] != (1,) or math.prod(model_input.shape) != frames * channels:
        raise bad_input(model_path, f"input is {model_input.dtype} {list(model_input.shape)}, expected int8 [1, {frames}, {channels}] "
                                    "from the frontend")
    if model_output.dtype != "int8" or model_output.shape != (1, len(labels)):
        raise bad_input(model_path, f"output is {model_output.dtype} {list(model_output.shape)}, expected int8 [1, {len(labels)}] "
                                    f"for {len(labels)} labels")
    for name, info in (("input", model_input), ("output", model_output)):
        if info.scale is None:
            raise bad_input(model_path, f"{name} tensor is not per-tensor quantized")
    if abs(model_input.scale - 1.0) > 1e-6 or model_input.zero_point != 0:
        # The firmware copies the int8 feature map straight into the input tensor (frontend.py).
        raise bad_input(model_path, f"input quantization ({model_input.scale}, {model_input.zero_point}) is not the feature "
                                    "domain (1.0, 0): the device feeds the frontend's int8 features unchanged")


def write_converted_model(stage: Path, source_dir: Path, manifest: dict, float_bytes: bytes, int8_bytes: bytes,
                          report: dict, report_markdown: str) -> None:
    """Fill `stage` (an empty folder, e.g. from `artifacts.staged_directory`) with a converted model."""
    stage, source_dir = Path(stage), Path(source_dir)
    shutil.copy2(source_dir / KERAS_FILE, stage / KERAS_FILE)
    shutil.copytree(source_dir / SHOTS_DIR, stage / SHOTS_DIR)
    write_bytes_atomic(stage / FLOAT_FILE, float_bytes)
    write_bytes_atomic(stage / INT8_FILE, int8_bytes)
    write_json_atomic(stage / REPORT_FILE, report)
    write_bytes_atomic(stage / REPORT_MARKDOWN_FILE, report_markdown.encode("utf-8"))
    write_json_atomic(stage / MANIFEST, {**manifest, "kind": KIND})


def load_converted_model(model_dir: Path) -> ConvertedModel:
    """Read and check a `kws convert` output; anything else is refused with one line naming the file.

    Example:
        model = load_converted_model(Path("runs/hello/converted"))
        model.labels, model.frontend.feature_shape, model.int8_path
    """
    model_dir = Path(model_dir)
    manifest = read_manifest(model_dir, KIND)
    where = model_dir / MANIFEST
    for key in ("labels", "threshold", "frontend", "streaming", "arena_bytes"):
        if key not in manifest:
            raise bad_input(where, f"missing {key!r}: run `kws convert` again")
    labels = manifest["labels"]
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) and x for x in labels):
        raise bad_input(where, "labels must be a non-empty list of names")
    if len(set(labels)) != len(labels):
        raise bad_input(where, "labels repeat")
    threshold = manifest["threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
        raise bad_input(where, f"threshold {threshold!r} is not in (0, 1]")
    if not isinstance(manifest["frontend"], dict):
        raise bad_input(where, "frontend parameters are not a mapping")
    try:
        frontend = FrontendParams.from_dict(manifest["frontend"])
    except (KwsError, TypeError) as exc:
        raise bad_input(where, str(exc)) from exc
    try:
        streaming = StreamingParams.from_dict(manifest["streaming"], str(where)).check_for(frontend)
    except KwsError as exc:
        raise KwsError(str(exc) if str(exc).startswith(str(where)) else f"{where}: {exc}") from exc
    arena = manifest["arena_bytes"]
    if isinstance(arena, bool) or not isinstance(arena, int) or arena <= 0:
        raise bad_input(where, f"arena_bytes must be a positive integer, got {arena!r}")
    for name in (KERAS_FILE, INT8_FILE):
        if not (model_dir / name).is_file():
            raise bad_input(model_dir / name, "missing: the converted model directory is incomplete; run `kws convert` again")
    int8_path = model_dir / INT8_FILE
    try:
        model_input, model_output = model_io(int8_path.read_bytes())
    except KwsError as exc:
        raise bad_input(int8_path, str(exc).removeprefix("model: ")) from exc
    except OSError as exc:
        raise bad_input(int8_path, f"unreadable ({exc.strerror or type(exc).__name__})") from exc
    check_device_contract(int8_path, frontend, labels, model_input, model_output)
    for name, info in (("input", model_input), ("output", model_output)):
        stated = (manifest.get("quantization") or {}).get(name)
        if stated and (abs(stated["scale"] - info.scale) > 1e-6 * max(1.0, abs(info.scale)) or stated["zero_point"] != info.zero_point):
            raise bad_input(where, f"quantization.{name} {stated} disagrees with the model ({info.scale}, {info.zero_point})")
    return ConvertedModel(model_dir, manifest, list(labels), frontend, float(threshold), streaming, model_input, model_output)
