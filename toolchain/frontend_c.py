"""The micro frontend's C library, called through ctypes, so long recordings are featurised without TensorFlow.

`toolchain.frontend` computes features with TensorFlow's `audio_microfrontend` op; importing TensorFlow
for it costs ~630 MiB, and the op starts from a fresh state on every call. The op's own shared library
(`_audio_microfrontend_op.so` in the installed tensorflow wheel) exports the C functions the op wraps
(`FrontendPopulateState`, `FrontendProcessSamples`, ...): the same code, the same build. Loading it
with ctypes maps TensorFlow's C++ framework library but runs none of its Python. `FrontendStream`
populates one state, feeds it block after block and collects every frame as the op does
(`out_scale=1`, uint16), so its frames are the op's over the whole recording, value for value (tested).

The struct layouts follow TFLM's `tensorflow/lite/experimental/microfrontend/lib/*.h`.
"""
from __future__ import annotations

import ctypes
import functools
import importlib.machinery
from pathlib import Path

import numpy as np

from toolchain.errors import KwsError
from toolchain.frontend import FrontendParams, quantize_filterbank

OP_LIBRARY = Path("lite/experimental/microfrontend/python/ops/_audio_microfrontend_op.so")  # inside the tensorflow package

c_int, c_float, c_size_t = ctypes.c_int, ctypes.c_float, ctypes.c_size_t
c_int16_p, c_uint16_p = ctypes.POINTER(ctypes.c_int16), ctypes.POINTER(ctypes.c_uint16)


class _WindowConfig(ctypes.Structure):
    _fields_ = [("size_ms", c_size_t), ("step_size_ms", c_size_t)]


class _FilterbankConfig(ctypes.Structure):
    _fields_ = [("num_channels", c_int), ("upper_band_limit", c_float), ("lower_band_limit", c_float),
                ("output_scale_shift", c_int)]


class _NoiseReductionConfig(ctypes.Structure):
    _fields_ = [("smoothing_bits", c_int), ("even_smoothing", c_float), ("odd_smoothing", c_float),
                ("min_signal_remaining", c_float)]


class _PcanGainControlConfig(ctypes.Structure):
    _fields_ = [("enable_pcan", c_int), ("strength", c_float), ("offset", c_float), ("gain_bits", c_int)]


class _LogScaleConfig(ctypes.Structure):
    _fields_ = [("enable_log", c_int), ("scale_shift", c_int)]


class _FrontendConfig(ctypes.Structure):
    _fields_ = [("window", _WindowConfig), ("filterbank", _FilterbankConfig),
                ("noise_reduction", _NoiseReductionConfig), ("pcan_gain_control", _PcanGainControlConfig),
                ("log_scale", _LogScaleConfig)]


class _WindowState(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("coefficients", c_int16_p), ("step", c_size_t), ("input", c_int16_p),
                ("input_used", c_size_t), ("output", c_int16_p), ("max_abs_output_value", ctypes.c_int16)]


class _FftState(ctypes.Structure):
    _fields_ = [("input", c_int16_p), ("output", ctypes.c_void_p), ("fft_size", c_size_t), ("input_size", c_size_t),
                ("scratch", ctypes.c_void_p), ("scratch_size", c_size_t)]


class _FilterbankState(ctypes.Structure):
    _fields_ = [("num_channels", c_int), ("start_index", c_int), ("end_index", c_int),
                ("channel_frequency_starts", c_int16_p), ("channel_weight_starts", c_int16_p),
                ("channel_widths", c_int16_p), ("weights", c_int16_p), ("unweights", c_int16_p),
                ("work", ctypes.POINTER(ctypes.c_uint64))]


class _NoiseReductionState(ctypes.Structure):
    _fields_ = [("smoothing_bits", c_int), ("even_smoothing", ctypes.c_uint16), ("odd_smoothing", ctypes.c_uint16),
                ("min_signal_remaining", ctypes.c_uint16), ("num_channels", c_int),
                ("estimate", ctypes.POINTER(ctypes.c_uint32))]


class _PcanGainControlState(ctypes.Structure):
    _fields_ = [("enable_pcan", c_int), ("noise_estimate", ctypes.POINTER(ctypes.c_uint32)), ("num_channels", c_int),
                ("gain_lut", c_int16_p), ("snr_shift", ctypes.c_int32)]


class _LogScaleState(ctypes.Structure):
    _fields_ = [("enable_log", c_int), ("scale_shift", c_int)]


class _FrontendState(ctypes.Structure):
    _fields_ = [("window", _WindowState), ("fft", _FftState), ("filterbank", _FilterbankState),
                ("noise_reduction", _NoiseReductionState), ("pcan_gain_control", _PcanGainControlState),
                ("log_scale", _LogScaleState)]


class _FrontendOutput(ctypes.Structure):
    _fields_ = [("values", ctypes.c_void_p), ("size", c_size_t)]


_SIGNATURES = {
    "FrontendFillConfigWithDefaults": (None, [ctypes.POINTER(_FrontendConfig)]),
    "FrontendPopulateState": (c_int, [ctypes.POINTER(_FrontendConfig), ctypes.POINTER(_FrontendState), c_int]),
    "FrontendProcessSamples": (_FrontendOutput, [ctypes.POINTER(_FrontendState), ctypes.c_void_p, c_size_t,
                                                 ctypes.POINTER(c_size_t)]),
    "FrontendFreeStateContents": (None, [ctypes.POINTER(_FrontendState)]),
}


def op_library_path() -> Path:
    """Where the installed tensorflow wheel keeps the op's library; found without importing tensorflow
    (and past the meta-path hooks, such as the one `quiet` sets to mute TensorFlow's first import)."""
    spec = importlib.machinery.PathFinder.find_spec("tensorflow")
    if spec is None or not spec.submodule_search_locations:
        raise KwsError("frontend: the tensorflow package is not installed; its micro frontend library computes the features")
    return Path(list(spec.submodule_search_locations)[0]) / OP_LIBRARY


@functools.lru_cache(maxsize=1)
def _library() -> ctypes.CDLL:
    path = op_library_path()
    if not path.is_file():
        raise KwsError(f"{path}: missing; this tensorflow install has no micro frontend library (reinstall tensorflow)")
    try:
        library = ctypes.CDLL(str(path))
    except OSError as exc:
        raise KwsError(f"{path}: cannot load it ({str(exc).splitlines()[0]})") from exc
    for name, (restype, argtypes) in _SIGNATURES.items():
        try:
            function = getattr(library, name)
        except AttributeError:
            raise KwsError(f"{path}: does not export {name}; this tensorflow build cannot run the frontend without Python") from None
        function.restype, function.argtypes = restype, argtypes
    return library


def _config(params: FrontendParams) -> _FrontendConfig:
    """The op's configuration for `params`: every field it sets from its attributes."""
    config = _FrontendConfig()
    _library().FrontendFillConfigWithDefaults(ctypes.byref(config))
    config.window.size_ms, config.window.step_size_ms = params.window_size_ms, params.window_step_ms
    config.filterbank.num_channels = params.num_channels
    config.filterbank.upper_band_limit, config.filterbank.lower_band_limit = params.upper_band_limit, params.lower_band_limit
    noise = config.noise_reduction
    noise.smoothing_bits, noise.even_smoothing, noise.odd_smoothing = params.smoothing_bits, params.even_smoothing, params.odd_smoothing
    noise.min_signal_remaining = params.min_signal_remaining
    pcan = config.pcan_gain_control
    pcan.enable_pcan, pcan.strength, pcan.offset, pcan.gain_bits = int(params.enable_pcan), params.pcan_strength, params.pcan_offset, params.gain_bits
    config.log_scale.enable_log, config.log_scale.scale_shift = int(params.enable_log), params.scale_shift
    return config


class FrontendStream:
    """Frames of one recording fed in blocks of any length, state carried across, as the device runs.

    Concatenated, the frames `push` returns are the op's (`frontend.stream_features`) over the whole
    recording. It owns C memory: use it as a context manager or call `close`.

        with FrontendStream(model.frontend) as frontend:
            for block in blocks:
                frames = frontend.push(block)   # int8 (new frames, channels)
    """

    def __init__(self, params: FrontendParams):
        self.params, self._open = params, False
        self._library = _library()
        self._state = _FrontendState()
        self._state_ref = ctypes.byref(self._state)
        self._open = bool(self._library.FrontendPopulateState(ctypes.byref(_config(params)), self._state_ref, params.sample_rate))
        if not self._open:
            self._library.FrontendFreeStateContents(self._state_ref)
            raise KwsError(f"frontend: the micro frontend refused its settings {params.to_dict()}")

    def push_filterbank(self, samples: np.ndarray) -> np.ndarray:
        """uint16 filterbank frames (new frames, channels) completed by `samples` (int16)."""
        if not self._open:
            raise KwsError("frontend: the stream is closed")
        data = np.ascontiguousarray(samples, np.int16)
        channels = self.params.num_channels
        # the first frame may need fewer than a step of new samples, every later one exactly a step
        out = np.empty((len(data) // self.params.step_samples + 1, channels), np.uint16)
        process, state, read = self._library.FrontendProcessSamples, self._state_ref, c_size_t()
        read_ref, memmove, row_bytes = ctypes.byref(read), ctypes.memmove, channels * 2
        base, left, row, first_row = data.ctypes.data, len(data), out.ctypes.data, out.ctypes.data
        while left > 0:
            result = process(state, base, left, read_ref)
            base, left = base + 2 * read.value, left - read.value
            if result.values:
                memmove(row, result.values, row_bytes)
                row += row_bytes
        return out[:(row - first_row) // row_bytes]

    def push(self, samples: np.ndarray) -> np.ndarray:
        """int8 feature frames (new frames, channels) completed by `samples` (int16)."""
        return quantize_filterbank(self.push_filterbank(samples), self.params)

    def close(self) -> None:
        if self._open:
            self._open = False
            self._library.FrontendFreeStateContents(self._state_ref)

    def __enter__(self) -> "FrontendStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


def recording_features(audio_int16: np.ndarray, params: FrontendParams) -> np.ndarray:
    """int8 frames of a whole recording from a fresh state: `frontend.stream_features` without TensorFlow."""
    with FrontendStream(params) as frontend:
        return frontend.push(audio_int16)
