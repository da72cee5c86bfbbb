"""Three runners of a converted keyword model (`convert.artifact.ConvertedModel`) with one interface.

Every runner's `predict(features)` takes int8 feature maps (N, frames, channels) exactly as the
frontend makes them and returns float probabilities (N, labels): the Keras float model, the int8
model on the TFLM interpreter (the device's runtime and kernels), and the int8 model on LiteRT.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from toolchain.artifacts import load_keras_model
from toolchain.convert.artifact import ConvertedModel
from toolchain.errors import KwsError, bad_input
from toolchain.quiet import quiet_native_output

RUNTIMES = ("float", "tflm", "litert")


def _check_input(path: Path, shape, dtype, scale: float, zero_point: int, feature_shape: tuple[int, int]) -> None:
    if np.dtype(dtype) != np.int8 or tuple(int(d) for d in shape[1:]) != feature_shape:
        raise bad_input(path, f"input is {np.dtype(dtype).name} {list(shape)}, expected int8 [1, {feature_shape[0]}, {feature_shape[1]}]")
    if not (np.isclose(scale, 1.0) and zero_point == 0):
        raise bad_input(path, f"input quantization scale {scale} zero point {zero_point}; the device feeds int8 features "
                              "unchanged, so it must be scale 1, zero point 0")


def dequantize(values: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """int8 outputs → probabilities, as the firmware does: (q - zero_point) * scale in float32."""
    return ((values.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)).astype(np.float32)


class KerasRunner:
    """The float model: int8 feature values go in as float32."""

    name = "float"

    def __init__(self, model: ConvertedModel, batch: int = 512):
        self._model = load_keras_model(model.keras_path, "run `kws convert` again")
        if self._model.output_shape[-1] != len(model.labels):
            raise bad_input(model.keras_path, f"has {self._model.output_shape[-1]} outputs, the manifest lists {len(model.labels)} labels")
        self._batch = batch

    def predict(self, features: np.ndarray) -> np.ndarray:
        out = [np.asarray(self._model(features[i:i + self._batch].astype(np.float32), training=False))
               for i in range(0, len(features), self._batch)]
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, self._model.output_shape[-1]), np.float32)


class TflmRunner:
    """The int8 model on the TFLM interpreter, one window per invoke, with the firmware's arena size."""

    name = "tflm"

    def __init__(self, model: ConvertedModel):
        from toolchain.export.settings_header import tensor_arena_size
        from toolchain.tflite.micro import tflm_interpreter

        arena = tensor_arena_size(int(model.manifest["arena_bytes"])) if "arena_bytes" in model.manifest else None
        try:
            with quiet_native_output():
                self._interpreter = tflm_interpreter(model.int8_path.read_bytes(), arena)
        except Exception as exc:
            raise bad_input(model.int8_path, f"TFLM cannot load it ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from exc
        inp = self._interpreter.get_input_details(0)
        q = inp["quantization_parameters"]
        _check_input(model.int8_path, inp["shape"], inp["dtype"], float(q["scales"][0]), int(q["zero_points"][0]), model.frontend.feature_shape)
        out = self._interpreter.get_output_details(0)["quantization_parameters"]
        self._scale, self._zero_point = float(out["scales"][0]), int(out["zero_points"][0])
        self._labels = len(model.labels)

    def predict(self, features: np.ndarray) -> np.ndarray:
        out = np.zeros((len(features), self._labels), np.int8)
        for i, window in enumerate(features):
            self._interpreter.set_input(np.ascontiguousarray(window[None], dtype=np.int8), 0)
            self._interpreter.invoke()
            out[i] = self._interpreter.get_output(0).reshape(-1)
        return dequantize(out, self._scale, self._zero_point)


class LiteRtRunner:
    """The int8 model on LiteRT's reference kernels (what TFLM's kernels are written against), one
    window at a time (batch 1, as on the device). Long streams use `scoring.CheckedScorer` instead."""

    name = "litert"

    def __init__(self, model: ConvertedModel):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        try:
            self._interpreter = Interpreter(model_content=model.int8_path.read_bytes(), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
            self._interpreter.allocate_tensors()
        except Exception as exc:
            raise bad_input(model.int8_path, f"LiteRT cannot load it ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from exc
        inp = self._interpreter.get_input_details()[0]
        scale, zero_point = inp["quantization"]
        _check_input(model.int8_path, inp["shape"], inp["dtype"], scale, zero_point, model.frontend.feature_shape)
        self._input = inp["index"]
        out = self._interpreter.get_output_details()[0]
        self._output = out["index"]
        self._scale, self._zero_point = out["quantization"]
        self._labels = len(model.labels)

    def predict(self, features: np.ndarray) -> np.ndarray:
        out = np.zeros((len(features), self._labels), np.int8)
        for i in range(len(features)):
            self._interpreter.set_tensor(self._input, np.ascontiguousarray(features[i:i + 1], dtype=np.int8))
            self._interpreter.invoke()
            out[i] = self._interpreter.get_tensor(self._output).reshape(-1)
        return dequantize(out, self._scale, self._zero_point)


def runner(model: ConvertedModel, runtime: str):
    """`float`, `tflm` or `litert`."""
    if runtime == "float":
        return KerasRunner(model)
    if runtime == "tflm":
        return TflmRunner(model)
    if runtime == "litert":
        return LiteRtRunner(model)
    raise KwsError(f"runtime {runtime!r}: choose one of {', '.join(RUNTIMES)}")
