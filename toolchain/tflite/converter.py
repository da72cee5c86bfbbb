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
    return to_int8_tflite(model, window_feeds(representative))


def to_int8_tflite(model: keras.Model, feeds: list) -> bytes:
    """Full-integer int8 (int8 inputs and outputs, per-channel weights) calibrated on `feeds`: one list
    of arrays per calibration step, or a dict by input name for a model with several inputs."""
    return quantize_calibrated(calibrated_tflite(model, feeds))


def window_feeds(representative: np.ndarray) -> list:
    """`to_tflite`'s calibration steps: the pinned input range, then each representative window."""
    if len(representative) == 0:
        raise KwsError("convert: empty representative set")
    samples = np.concatenate([pinned_range_sample(representative.shape[1:]), representative.astype(np.float32)])
    return [[sample[None]] for sample in samples]


def calibrated_tflite(model: keras.Model, feeds: list) -> bytes:
    """The float .tflite with each tensor's calibrated (min, max), the first half of `to_int8_tflite`.

    Kept apart so that ranges can be read from one model and set on another before quantizing
    (tflite/shared_ranges.py: the streaming twin takes the window model's)."""
    converter = _int8_converter(model, feeds)
    converter._experimental_calibrate_only = True  # noqa: SLF001 (the converter's own two-step path)
    return _convert(converter)


def quantize_calibrated(calibrated: bytes) -> bytes:
    """Full-integer int8 from a calibrated float .tflite, as `TFLiteConverter.convert` quantizes it."""
    from tensorflow.lite.python.convert import deduplicate_readonly_buffers, mlir_quantize

    try:
        with quiet_native_output():
            return deduplicate_readonly_buffers(mlir_quantize(calibrated, False, input_data_type=tf.int8,
                                                              output_data_type=tf.int8))
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise KwsError(f"convert: TFLite quantizer failed: {first}") from exc


def _int8_converter(model: keras.Model, feeds: list):
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: iter(feeds)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter


def _convert(converter) -> bytes:
    try:
        with quiet_native_output():
            return converter.convert()
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise KwsError(f"convert: TFLite converter failed: {first}") from exc
