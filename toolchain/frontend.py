"""The TFLM micro frontend, defined once for training, simulation and firmware.

Features come from TensorFlow's `audio_microfrontend` op, which wraps the same C library
(`tensorflow/lite/experimental/microfrontend/lib`) that TFLM firmware links. The uint16 filterbank
output is mapped to int8 exactly as TFLM's micro_speech feature provider does, and the model
consumes that int8 map directly (its input tensor is quantized with scale 1, zero point 0).
`frontend_c` runs the op's C library without TensorFlow, for streaming long recordings.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

import numpy as np

from toolchain.errors import KwsError


@dataclass(frozen=True)
class FrontendParams:
    """Every number the device needs to reproduce the features; saved in each artifact."""

    sample_rate: int = 16000
    clip_duration_ms: int = 1000
    window_size_ms: int = 30
    window_step_ms: int = 20
    num_channels: int = 40
    upper_band_limit: float = 7500.0
    lower_band_limit: float = 125.0
    smoothing_bits: int = 10
    even_smoothing: float = 0.025
    odd_smoothing: float = 0.06
    min_signal_remaining: float = 0.05
    enable_pcan: bool = True
    pcan_strength: float = 0.95
    pcan_offset: float = 80.0
    gain_bits: int = 21
    enable_log: bool = True
    scale_shift: int = 6
    # int8 mapping of the uint16 filterbank: ((v * value_scale + value_div / 2) / value_div) - 128
    value_scale: int = 256
    value_div: int = 666

    def __post_init__(self) -> None:
        if self.sample_rate <= 0 or self.window_size_ms <= 0 or self.window_step_ms <= 0:
            raise KwsError(f"frontend: invalid timing {self.sample_rate} Hz / {self.window_size_ms} ms / {self.window_step_ms} ms")
        if not 0 < self.lower_band_limit < self.upper_band_limit <= self.sample_rate / 2:
            raise KwsError(f"frontend: band limits {self.lower_band_limit}-{self.upper_band_limit} Hz do not fit {self.sample_rate} Hz")
        if self.num_channels <= 0 or self.value_div <= 0:
            raise KwsError("frontend: num_channels and value_div must be positive")

    @property
    def clip_samples(self) -> int:
        return self.sample_rate * self.clip_duration_ms // 1000

    @property
    def window_samples(self) -> int:
        return self.sample_rate * self.window_size_ms // 1000

    @property
    def step_samples(self) -> int:
        return self.sample_rate * self.window_step_ms // 1000

    @property
    def num_frames(self) -> int:
        return 1 + (self.clip_samples - self.window_samples) // self.step_samples

    @property
    def feature_shape(self) -> tuple[int, int]:
        return (self.num_frames, self.num_channels)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "FrontendParams":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise KwsError(f"frontend: unknown parameters {sorted(unknown)}")
        return cls(**data)

    def fingerprint(self) -> str:
        """Short stable hash: part of every cache key and checked when artifacts meet."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def require_same_frontend(expected: FrontendParams, found: dict | FrontendParams, where: str) -> None:
    """Fail loudly when two artifacts were made with different features."""
    other = found if isinstance(found, FrontendParams) else FrontendParams.from_dict(found)
    if other != expected:
        diff = {k: (v, getattr(other, k)) for k, v in expected.to_dict().items() if getattr(other, k) != v}
        raise KwsError(f"{where}: frontend mismatch {diff} (expected vs found); rebuild one side with the same frontend")


def require_feature_input(input_shape, params: FrontendParams, where: str) -> None:
    """A model must take this frontend's feature map: an artifact whose manifest names another
    frontend than its network was built for is refused here, not fed the wrong features."""
    found = tuple(int(d) for d in tuple(input_shape)[-2:])
    if found != params.feature_shape:
        raise KwsError(f"{where}: the network takes {found[0]}×{found[1]} feature maps but its frontend makes "
                       f"{params.feature_shape[0]}×{params.feature_shape[1]}; the manifest and the model disagree, rebuild it")


def _frontend_op():
    from tensorflow.lite.experimental.microfrontend.python.ops import audio_microfrontend_op

    return audio_microfrontend_op.audio_microfrontend


def filterbank_tf(audio_int16, params: FrontendParams):
    """uint16-valued filterbank frames (as int32) of one int16 waveform; usable inside tf.data."""
    import tensorflow as tf

    out = _frontend_op()(
        audio_int16,
        sample_rate=params.sample_rate,
        window_size=params.window_size_ms,
        window_step=params.window_step_ms,
        num_channels=params.num_channels,
        upper_band_limit=params.upper_band_limit,
        lower_band_limit=params.lower_band_limit,
        smoothing_bits=params.smoothing_bits,
        even_smoothing=params.even_smoothing,
        odd_smoothing=params.odd_smoothing,
        min_signal_remaining=params.min_signal_remaining,
        enable_pcan=params.enable_pcan,
        pcan_strength=params.pcan_strength,
        pcan_offset=params.pcan_offset,
        gain_bits=params.gain_bits,
        enable_log=params.enable_log,
        scale_shift=params.scale_shift,
        out_scale=1,
        out_type=tf.uint16,
    )
    return tf.cast(out, tf.int32)


def quantize_filterbank_tf(filterbank, params: FrontendParams):
    """The device's uint16 → int8 mapping, in integer arithmetic like the C code."""
    import tensorflow as tf

    value = (filterbank * params.value_scale + params.value_div // 2) // params.value_div - 128
    return tf.cast(tf.clip_by_value(value, -128, 127), tf.int8)


def quantize_filterbank(filterbank: np.ndarray, params: FrontendParams) -> np.ndarray:
    value = (filterbank.astype(np.int64) * params.value_scale + params.value_div // 2) // params.value_div - 128
    return np.clip(value, -128, 127).astype(np.int8)


def features_tf(audio_int16, params: FrontendParams):
    """int8 feature map (frames × channels) of one clip, as a graph op for tf.data pipelines."""
    import tensorflow as tf

    frames = quantize_filterbank_tf(filterbank_tf(audio_int16, params), params)
    return tf.ensure_shape(frames, [params.num_frames, params.num_channels]) if audio_int16.shape[0] == params.clip_samples else frames


SETTLING_MS = 3000  # audio after which the noise estimate and PCAN gain have adapted (98 % for the slowest channels)


def settled_features_tf(audio_int16, params: FrontendParams):
    """Feature map of the last second of `audio_int16` after the frontend has run over all of it.

    A device that has been listening for a while has a noise estimate and PCAN gain adapted to the
    room; a fresh frontend on a lone clip has not. Audio longer than a clip by whole frame steps
    (a lead-in) gives the device's view; a clip alone gives the fresh one.
    """
    import tensorflow as tf

    frames = features_tf(tf.convert_to_tensor(audio_int16, tf.int16), params)
    return tf.ensure_shape(frames[-params.num_frames:], [params.num_frames, params.num_channels])


def lead_in_samples(lead_in_ms: int, params: FrontendParams) -> int:
    """`lead_in_ms` rounded down to whole frame steps, so the last frames line up with the clip's."""
    return params.sample_rate * int(lead_in_ms) // 1000 // params.step_samples * params.step_samples


def clip_features(audio_int16: np.ndarray, params: FrontendParams) -> np.ndarray:
    """int8 (49, 40) features of one 1 s int16 clip."""
    import tensorflow as tf

    if audio_int16.dtype != np.int16 or audio_int16.shape != (params.clip_samples,):
        raise KwsError(f"frontend: expected int16 clip of {params.clip_samples} samples, got {audio_int16.dtype} {audio_int16.shape}")
    return features_tf(tf.constant(audio_int16), params).numpy()


def stream_features(audio_int16: np.ndarray, params: FrontendParams) -> np.ndarray:
    """int8 frames of a long recording with the frontend state carried across, as on the device."""
    import tensorflow as tf

    return features_tf(tf.constant(audio_int16.astype(np.int16)), params).numpy()
