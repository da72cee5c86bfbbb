"""Keras → .tflite, float or full-integer int8 with int8 input and output."""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from toolchain.errors import KwsError
from toolchain.quiet import quiet_native_output


def pinned_range_sample(shape: tuple[int, ...]) -> np.ndarray:
    """One calibration map spanning exactly [-128, 127], so the int8 input is quantized with scale 1,
    zero point 0: the model then consumes the frontend's int8 features unchanged."""
    sample = np.full((1, *shape), -128.0, np.float32)
    sample.reshape(-1)[1::2] = 127.0
    return sample


def to_tflite(model: keras.Model, representative: np.ndarray | None = None) -> bytes:
    """Float model when `representative` is None, else full-int8 (per-channel weights)."""
    if representative is None:
        return _convert(tf.lite.TFLiteConverter.from_keras_model(model))
    if len(representative) == 0:
        raise KwsError("convert: empty representative set")
    samples = np.concatenate([pinned_range_sample(representative.shape[1:]), representative.astype(np.float32)])
    return to_int8_tflite(model, [[sample[None]] for sample in samples])


def to_int8_tflite(model: keras.Model, feeds: list) -> bytes:
    """Full-integer int8 (int8 inputs and outputs, per-channel weights) calibrated on `feeds`: one list
    of arrays per calibration step, or a dict by input name for a model with several inputs."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: iter(feeds)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return _convert(converter)


def _convert(converter) -> bytes:
    try:
        with quiet_native_output():
            return converter.convert()
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise KwsError(f"convert: TFLite converter failed: {first}") from exc
