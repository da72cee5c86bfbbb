"""The streaming twin on TFLM, fed as the device feeds it: only each hop's new frames, state carried.

A converted model whose embedding streams carries `model_stream_int8.tflite` (convert/stream_twin.py).
The device runs it once per hop from power-up, so its hop grid starts at frame 0 and its outputs
belong to the windows ending at multiples of the hop (`convert.artifact.first_window_end`). The
scorer receives the stream's windows in order, one per inference stride, and feeds the twin the
frames each adds.
"""
from __future__ import annotations

import numpy as np

from toolchain.convert.artifact import ConvertedModel
from toolchain.errors import KwsError
from toolchain.simulate.runtimes import dequantize

TWIN = "twin"
RUNTIME_NAME = "tflm_int8_streaming_twin"


class TwinScorer:
    """Posteriors of the twin at each window end (windows one inference stride apart, in order)."""

    def __init__(self, model: ConvertedModel):
        # imported here: tflite.streaming loads Keras (for the twin's calibration), which window models never need
        from toolchain.tflite.streaming import StreamingIo, TflmStream

        stream = model.manifest.get("stream")
        if not stream:
            raise KwsError(f"{model.directory}: --runtime twin needs a streaming twin; its embedding has none "
                           "(train it with --architecture ds_cnn_stream)")
        self._hop = int(stream["hop_frames"])
        self._stride = model.streaming.stride_frames(model.frontend)
        if self._stride % self._hop:
            raise KwsError(f"inference stride {model.streaming.inference_stride_ms} ms: the streaming twin updates every "
                           f"{stream['hop_ms']} ms, so the stride must be a multiple of it")
        io = StreamingIo(stream["frames_input"], stream["probabilities_output"],
                         tuple((s["name"], s["input"], s["output"]) for s in stream["states"]))
        path = model.directory / stream["file"]
        if not path.is_file():
            raise KwsError(f"{path}: missing: the converted model directory is incomplete; run `kws convert` again")
        self._device = TflmStream(path.read_bytes(), io)
        self._scale, self._zero_point = self._device.output_quantization
        self._labels = len(model.labels)
        self._started = False

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def _feed(self, frames: np.ndarray) -> np.ndarray:
        out = None
        for start in range(0, len(frames), self._hop):
            out = self._device.step(frames[start:start + self._hop])
        return out

    def push(self, windows: np.ndarray) -> np.ndarray:
        out = np.zeros((len(windows), self._labels), np.int8)
        for i, window in enumerate(windows):
            if not self._started:
                # power-up: the frames before the first window lie outside every output's receptive field
                pad = -len(window) % self._hop
                frames = np.concatenate([np.zeros((pad, window.shape[1]), np.int8), window])
                self._started = True
            else:
                frames = window[len(window) - self._stride:]
            out[i] = self._feed(frames)
        return dequantize(out, self._scale, self._zero_point)

    def flush(self) -> np.ndarray:
        return np.zeros((0, self._labels), np.float32)

    def summary(self) -> dict:
        return {"runtime": RUNTIME_NAME, "hop_frames": self._hop}
